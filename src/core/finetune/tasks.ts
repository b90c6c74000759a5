// What a classifier predicts and how label cells become training targets, as MoCo-CXR's chexpert-model
// does it (constants/constants.py, data/chexpert_dataset.py, eval/loss.py):
// - CheXpert models output all 14 observations in CHEXPERT_TASKS order (not the CSV's column order), with
//   `Lung Opacity` renamed `Airspace Opacity`;
// - blanks (unmentioned) become 0 at load, -1 (uncertain) stays -1;
// - U-Ignore (the default): -1 cells are masked out of the loss; U-Zeros / U-Ones map them to 0 / 1
//   (scripts/map_uncertain.py); evaluation always drops a study's -1 for that task (eval/evaluator.py);
// - model picking scores the mean AUROC over the 5 competition tasks (chexpert-competition-AUROC), Shenzhen
//   over Tuberculosis (shenzhen-AUROC).
import type { ImageMeta, LabelValue } from '../data/types.ts';

/** constants.py CHEXPERT_TASKS: the 14 outputs of a CheXpert model, in this order. */
export const CHEXPERT_TASKS = [
  'No Finding',
  'Enlarged Cardiomediastinum',
  'Cardiomegaly',
  'Lung Lesion',
  'Airspace Opacity',
  'Edema',
  'Consolidation',
  'Pneumonia',
  'Atelectasis',
  'Pneumothorax',
  'Pleural Effusion',
  'Pleural Other',
  'Fracture',
  'Support Devices',
] as const;

/** EVAL_METRIC2TASKS['chexpert-competition-AUROC'], in the order the original lists them. */
export const COMPETITION_TASKS = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'] as const;

export type UncertaintyPolicy = 'ignore' | 'zeros' | 'ones';

export const UNCERTAINTY_POLICIES: Readonly<Record<UncertaintyPolicy, string>> = {
  ignore: 'U-Ignore: uncertain labels are left out of the loss (MoCo-CXR)',
  zeros: 'U-Zeros: uncertain labels count as negative',
  ones: 'U-Ones: uncertain labels count as positive',
};

/**
 * The model's outputs (`outputs`, the head's order) and the tasks whose mean validation AUROC picks
 * checkpoints (`pick`, a subset of outputs).
 */
export interface TaskSpec {
  outputs: string[];
  pick: string[];
}

export type TaskPreset = 'chexpert-14' | 'competition-5' | 'pleural-effusion' | 'tuberculosis';

export const TASK_PRESETS: Readonly<Record<TaskPreset, TaskSpec & { label: string }>> = {
  'chexpert-14': { label: '14 CheXpert observations, picked on the 5 competition tasks (MoCo-CXR)', outputs: [...CHEXPERT_TASKS], pick: [...COMPETITION_TASKS] },
  'competition-5': { label: 'the 5 competition tasks', outputs: [...COMPETITION_TASKS], pick: [...COMPETITION_TASKS] },
  'pleural-effusion': { label: 'Pleural Effusion alone', outputs: ['Pleural Effusion'], pick: ['Pleural Effusion'] },
  tuberculosis: { label: 'Shenzhen: Tuberculosis', outputs: ['Tuberculosis'], pick: ['Tuberculosis'] },
};

/** A single label column of any dataset (a generic CSV's column, say) as the one task. */
export function columnTask(column: string): TaskSpec {
  return { outputs: [column], pick: [column] };
}

/** The dataset column a task reads: the pipeline renames CheXpert's `Lung Opacity` to `Airspace Opacity`. */
export function labelColumnOf(task: string, labelColumns: readonly string[]): string {
  if (task === 'Airspace Opacity' && !labelColumns.includes(task) && labelColumns.includes('Lung Opacity')) return 'Lung Opacity';
  return task;
}

export class TaskError extends Error {
  override name = 'TaskError';
}

/** Checks a task spec against a dataset's label columns; names what is missing. */
export function checkTasks(spec: TaskSpec, labelColumns: readonly string[]): void {
  if (spec.outputs.length === 0) throw new TaskError('no tasks chosen');
  if (new Set(spec.outputs).size !== spec.outputs.length) throw new TaskError('a task is listed twice');
  const missing = spec.outputs.filter((t) => !labelColumns.includes(labelColumnOf(t, labelColumns)));
  if (missing.length > 0) {
    throw new TaskError(`the dataset has no label column for ${missing.join(', ')} (its columns: ${labelColumns.join(', ') || 'none'})`);
  }
  if (spec.pick.length === 0) throw new TaskError('no task to pick checkpoints by');
  const notOutput = spec.pick.filter((t) => !spec.outputs.includes(t));
  if (notOutput.length > 0) throw new TaskError(`picking tasks must be among the outputs: ${notOutput.join(', ')}`);
}

/** A cell as the loader leaves it (blank -> 0, -1 kept), then the uncertainty policy. */
export function targetOf(v: LabelValue | undefined, policy: UncertaintyPolicy): { target: number; weight: 0 | 1 } {
  const x = v == null ? 0 : v;
  if (x === -1) {
    if (policy === 'ignore') return { target: 0, weight: 0 };
    return { target: policy === 'ones' ? 1 : 0, weight: 1 };
  }
  return { target: x, weight: 1 };
}

/** Training targets and loss mask, [N, T] row-major, for images' labels. */
export function trainingTargets(
  images: readonly Pick<ImageMeta, 'labels'>[],
  tasks: readonly string[],
  labelColumns: readonly string[],
  policy: UncertaintyPolicy,
): { targets: Float32Array; mask: Float32Array } {
  const T = tasks.length;
  const cols = tasks.map((t) => labelColumnOf(t, labelColumns));
  const targets = new Float32Array(images.length * T);
  const mask = new Float32Array(images.length * T);
  images.forEach((img, n) => {
    cols.forEach((c, t) => {
      const { target, weight } = targetOf(img.labels[c], policy);
      targets[n * T + t] = target;
      mask[n * T + t] = weight;
    });
  });
  return { targets, mask };
}

/** Evaluation labels of one image as aggregateStudies takes them: 1, 0, -1 kept, blank as null. */
export function evaluationLabels(img: Pick<ImageMeta, 'labels'>, tasks: readonly string[], labelColumns: readonly string[]): (number | null)[] {
  return tasks.map((t) => img.labels[labelColumnOf(t, labelColumns)] ?? null);
}
