// Launch scripts for a fine-tuning experiment on MoCo-CXR's CheXpert pipeline (chexpert_supervised/
// chexpert-model): for every initialisation x fraction x draw, train.py, then select_ensemble.py (model
// picking), then test.py, with arguments equal to the experiment's settings (REFERENCE 3.5-3.10; the flags as
// args/*.py and select_ensemble.py define them):
//   arch -> --model (ResNet18, ResNet50, DenseNet121, MNASNet), lr -> --lr, batch -> --batch_size,
//   Adam without decay -> --optimizer adam --weight_decay 0.0, scale/crop -> --scale/--crop,
//   normalization -> --normalization imagenet | chexpert_norm, epochs -> --num_epochs,
//   examples between evaluations -> --iters_per_eval and --iters_per_save (both count examples),
//   checkpoints kept -> --max_ckpts with --keep_topk true, end-to-end -> --fine_tuning full, linear ->
//   --fine_tuning <the task head's parameter names>, tasks -> --dataset custom (14 CheXpert outputs) |
//   --custom_tasks chexpert-competition (5) | --dataset shenzhen_special (Tuberculosis), with the matching
//   --metric_name; U-Ones / U-Zeros -> --uncertain_map_path with a train CSV whose -1 cells prepare_data.py
//   rewrote (the pipeline's own mechanism, scripts/map_uncertain.py's output format); the MoCo start ->
//   --ckpt_path <MoCo checkpoint> --moco true (model_saver.py's "hack"), a pipeline-format start ->
//   --ckpt_path <file> --moco false, ImageNet -> --pretrained true.
// test.py runs with --inference_only: without it, it reads /deep/group/CheXpert/rad_perf_test.csv
// (constants.CHEXPERT_RAD_PATH) and fails anywhere else. It still writes predictions.csv and groundtruth.csv,
// which the app's evaluation (and confidence_interval.py) read.
// The pipeline is one process per run (nn.DataParallel over --gpu_ids), so runs are spread over GPUs: torchrun
// starts one worker per GPU (on every node), worker RANK takes runs RANK, RANK + WORLD_SIZE, ...; under SLURM
// it is a job array with one GPU per run.
import type { DatasetKind } from '../data/types.ts';
import { COMPETITION_TASKS, CHEXPERT_TASKS, type TaskSpec } from '../finetune/tasks.ts';
import { scheduleForFraction, type ExperimentSettings, type FinetuneInit, type SplitManifest } from '../finetune/settings.ts';
import { ARCH_INFO } from '../convert/index.ts';
import { clusterOptions, sbatchHeader, type ClusterOptions } from './cluster.ts';
import { setupScript } from './setup-script.ts';
import { commentBlock, floatArg, HandoffError, intArg, renderCommand, shq, shv, slug, type ShellArg } from './shell.ts';
import { MOCO_CXR_COMMIT, PIPELINE_PATH, type HandoffNote } from './target.ts';
import type { LaunchFile } from './launch-pretrain.ts';

/** How the original is told which outputs to train and which metric picks checkpoints. */
export interface TaskMapping {
  dataset: 'custom' | 'shenzhen_special';
  /** --custom_tasks (NamedTasks key), or null */
  customTasks: string | null;
  metric: 'chexpert-competition-AUROC' | 'shenzhen-AUROC';
  /** the tasks the original's model outputs, in its order */
  outputs: string[];
  /** select_ensemble.py --tasks: the tasks it ranks and test.py predicts */
  selectTasks: string[];
  notes: HandoffNote[];
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function taskMapping(tasks: TaskSpec): TaskMapping {
  const notes: HandoffNote[] = [];
  if (tasks.outputs.includes('Tuberculosis')) {
    if (!same(tasks.outputs, ['Tuberculosis'])) throw new HandoffError(`the original trains Tuberculosis alone (--dataset shenzhen_special); these tasks mix it with others: ${tasks.outputs.join(', ')}`);
    return { dataset: 'shenzhen_special', customTasks: null, metric: 'shenzhen-AUROC', outputs: ['Tuberculosis'], selectTasks: ['Tuberculosis'], notes };
  }
  const unknown = tasks.outputs.filter((t) => !(CHEXPERT_TASKS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    throw new HandoffError(`the original pipeline trains CheXpert's 14 observations or Shenzhen's Tuberculosis; it has no way to train ${unknown.join(', ')}`);
  }
  let outputs: string[];
  let customTasks: string | null = null;
  if (same(tasks.outputs, COMPETITION_TASKS)) {
    outputs = [...COMPETITION_TASKS];
    customTasks = 'chexpert-competition';
  } else {
    outputs = [...CHEXPERT_TASKS];
    if (!same(tasks.outputs, CHEXPERT_TASKS)) {
      notes.push({
        setting: `tasks ${tasks.outputs.join(', ')}`,
        app: `a classifier with ${tasks.outputs.length} output(s)`,
        original: 'no flag for this task set: the scripts train the 14-output CheXpert model (--dataset custom), as MoCo-CXR did for pleural effusion, and your tasks are among its outputs',
      });
    }
  }
  if (!same([...tasks.pick].sort(), [...COMPETITION_TASKS].sort())) {
    notes.push({
      setting: `checkpoints picked by ${tasks.pick.join(', ')}`,
      app: 'keeps the checkpoints with the best mean validation AUROC over these tasks',
      original: `train.py keeps checkpoints by --metric_name chexpert-competition-AUROC (the 5 competition tasks); select_ensemble.py ranks them by ${tasks.pick.join(', ')}`,
    });
  }
  const selectTasks = customTasks ? [...COMPETITION_TASKS] : [...tasks.pick];
  return { dataset: 'custom', customTasks, metric: 'chexpert-competition-AUROC', outputs, selectTasks, notes };
}

/** A start checkpoint inside the bundle, per initialisation label. */
export interface InitCheckpoint {
  label: string;
  /** path inside the bundle (`checkpoints/...`) */
  file: string;
  format: 'moco' | 'pipeline';
}

export interface FinetuneRun {
  index: number;
  /** the run's folder name below $WORK/runs (train.py's --experiment_name) */
  name: string;
  initLabel: string;
  init: FinetuneInit;
  checkpoint: InitCheckpoint | null;
  split: { ratio: number; draw: number; name: string; images: number };
  epochs: number;
  examplesPerEval: number;
}

export interface FinetuneLaunchInput {
  experiment: ExperimentSettings;
  manifest: SplitManifest;
  datasetKind: DatasetKind;
  checkpoints: InitCheckpoint[];
  cluster?: Partial<ClusterOptions>;
}

/** The experiment's runs in order: every initialisation, then every fraction and draw of the manifest. */
export function finetuneRuns(input: FinetuneLaunchInput): FinetuneRun[] {
  const e = input.experiment;
  const runs: FinetuneRun[] = [];
  const labels = new Set<string>();
  for (const { label, init } of e.inits) {
    if (labels.has(label)) throw new HandoffError(`two initialisations are both labelled '${label}'`);
    labels.add(label);
    const checkpoint = input.checkpoints.find((c) => c.label === label) ?? null;
    if (init.kind === 'moco' && !checkpoint) throw new HandoffError(`initialisation '${label}' starts from a MoCo checkpoint, which the bundle must carry (none given)`);
    for (const t of input.manifest.train) {
      const sched = e.scheduleByFraction ? scheduleForFraction(t.ratio, e.settings.batch) : { epochs: e.settings.epochs, examplesPerEval: e.settings.examplesPerEval };
      if (sched.examplesPerEval % e.settings.batch !== 0) {
        throw new HandoffError(`examples per evaluation ${sched.examplesPerEval} is not a multiple of the batch ${e.settings.batch} (base_arg_parser.py refuses it)`);
      }
      runs.push({
        index: runs.length,
        name: `${slug(e.name, 'experiment')}__${slug(label, 'init')}__${slug(t.name, 'split')}`,
        initLabel: label,
        init,
        checkpoint,
        split: { ratio: t.ratio, draw: t.draw, name: t.name, images: t.keys.length },
        epochs: sched.epochs,
        examplesPerEval: sched.examplesPerEval,
      });
    }
  }
  const names = new Set(runs.map((r) => r.name));
  if (names.size !== runs.length) throw new HandoffError('two runs get the same folder name: make the initialisation labels and split names differ in letters and digits');
  return runs;
}

/** The bundle CSV a split is written to (splits/<name>.csv; prepare_data.py writes $WORK/csv/<name>.csv). */
export const splitFile = (name: string) => `${slug(name, 'split')}.csv`;
/** The uncertainty-remapped copy of a train split prepare_data.py writes (the pipeline needs 'uncertain' in the name). */
export const uncertainFile = (name: string, policy: 'ones' | 'zeros') => `${slug(name, 'split')}_uncertain_${policy}.csv`;

export function finetuneNotes(input: FinetuneLaunchInput): HandoffNote[] {
  const e = input.experiment;
  const s = e.settings;
  const notes: HandoffNote[] = [...taskMapping(s.tasks).notes];
  notes.push({
    setting: `seed ${s.seed}`,
    app: 'seeds batch order, crops and the new head',
    original: 'train.py has no seed flag: its shuffling, crops and head initialisation are unseeded',
  });
  if (s.mode === 'linear' && s.linearBatchNorm === 'frozen') {
    notes.push({
      setting: 'linear probe with batch norm frozen',
      app: "batch norm uses its running statistics and does not update them (main_lincls.py's model.eval())",
      original: 'no flag: train.py keeps model.train(), so batch norm normalises with batch statistics and updates its running statistics (MoCo-CXR\'s "linear" protocol)',
    });
  }
  if (s.uncertainty !== 'ignore') {
    notes.push({
      setting: `uncertainty policy U-${s.uncertainty === 'ones' ? 'Ones' : 'Zeros'}`,
      app: `uncertain (-1) labels count as ${s.uncertainty === 'ones' ? 'positive' : 'negative'} in training`,
      original: `--uncertain_map_path gives train.py a copy of each train CSV with -1 rewritten to ${s.uncertainty === 'ones' ? '1.0' : '0.0'} (prepare_data.py writes it); validation and test keep -1, which evaluation drops`,
    });
  }
  if (e.splitUnit === 'patient') {
    notes.push({
      setting: 'patient-level splits',
      app: 'draws whole patients',
      original: "the original's own draws are per image, but the scripts read the bundle's CSVs, so they train on exactly the app's draws",
    });
  }
  for (const { label, init } of e.inits) {
    const ck = input.checkpoints.find((c) => c.label === label);
    if (init.kind === 'random' && !ck && (e.settings.arch === 'resnet18' || e.settings.arch === 'resnet50')) {
      notes.push({
        setting: `'${label}': random start`,
        app: 'a randomly initialised backbone',
        original: "models.py builds ResNets with pretrainedmodels(pretrained='imagenet') whatever --pretrained says, so this run starts from ImageNet weights",
      });
    }
    if (init.kind === 'imagenet' && !ck) {
      notes.push({
        setting: `'${label}': ImageNet start`,
        app: 'the stored torchvision ImageNet checkpoint',
        original: '--pretrained true: the pipeline downloads ImageNet weights itself (pretrainedmodels for ResNets, torchvision for DenseNet/MNASNet); the compute nodes need internet access or a filled TORCH_HOME cache',
      });
    }
    if (ck?.format === 'moco') {
      notes.push({
        setting: `'${label}': MoCo start`,
        app: 'the backbone of the MoCo checkpoint and a new head (seeded)',
        original: '--moco true: model_saver.py keeps module.encoder_q minus the MLP head (strict=False) and the new head keeps torch\'s default, unseeded initialisation',
      });
    }
  }
  notes.push({
    setting: `${e.bootstrap} bootstrap replicates`,
    app: 'confidence intervals over test studies',
    original: 'not run by these scripts: test.py writes predictions.csv and groundtruth.csv per run; import them into the app (or run confidence_interval.py) for the intervals',
  });
  if (s.predictWith === 'best') {
    notes.push({ setting: 'predict with the best checkpoint', app: 'the best checkpoint by validation', original: 'test.py runs on best.pth.tar without --config_path; select_ensemble.py is skipped' });
  }
  return notes;
}

function headParams(arch: ExperimentSettings['settings']['arch']): string {
  // models.py: ResNets are CadeneModel (task head module.fc), DenseNet/MNASNet TorchVisionModel (module.model.classifier)
  return ARCH_INFO[arch].headName === 'fc' ? 'module.fc.weight,module.fc.bias' : 'module.model.classifier.weight,module.model.classifier.bias';
}

/** train.py's arguments for one run; paths are shell expressions over $RUNS, $CSV, $BUNDLE_DIR. */
export function trainArgs(run: FinetuneRun, input: FinetuneLaunchInput): ShellArg[] {
  const s = input.experiment.settings;
  const m = taskMapping(s.tasks);
  const args: ShellArg[] = [['--experiment_name', shq(run.name)], ['--save_dir', shv('RUNS')], ['--dataset', m.dataset]];
  if (m.customTasks) args.push(['--custom_tasks', m.customTasks]);
  args.push(
    ['--model', ARCH_INFO[s.arch].pipelineName],
    ['--train_custom_csv', `"$CSV/${splitFile(run.split.name)}"`],
    ['--val_custom_csv', '"$CSV/valid.csv"'],
  );
  if (s.uncertainty !== 'ignore') args.push(['--uncertain_map_path', `"$CSV/${uncertainFile(run.split.name, s.uncertainty)}"`]);
  args.push(
    ['--num_epochs', intArg(run.epochs, 'epochs')],
    ['--iters_per_eval', intArg(run.examplesPerEval, 'examples per evaluation')],
    ['--iters_per_save', intArg(run.examplesPerEval, 'examples per evaluation')],
    ['--batch_size', intArg(s.batch, 'batch')],
    ['--optimizer', 'adam'],
    ['--lr', floatArg(s.lr, 'learning rate')],
    ['--weight_decay', '0.0'],
    ['--metric_name', m.metric],
    ['--maximize_metric', 'true'],
    ['--max_ckpts', intArg(s.keepTopK, 'checkpoints kept')],
    ['--keep_topk', 'true'],
    ['--scale', intArg(s.scale, 'scale')],
    ['--crop', intArg(s.crop, 'crop')],
    ['--normalization', s.normalization === 'chexpert' ? 'chexpert_norm' : 'imagenet'],
    ['--maintain_ratio', 'true'],
    ['--fine_tuning', s.mode === 'end-to-end' ? 'full' : headParams(s.arch)],
  );
  const ck = run.checkpoint;
  if (ck) {
    if (!/^[A-Za-z0-9._/-]+$/.test(ck.file)) throw new HandoffError(`checkpoint file name '${ck.file}' has characters the scripts do not quote`);
    args.push(['--ckpt_path', `"$BUNDLE_DIR/${ck.file}"`], ['--moco', ck.format === 'moco' ? 'true' : 'false'], ['--pretrained', 'true']);
  } else {
    args.push(['--pretrained', run.init.kind === 'random' ? 'false' : 'true']);
  }
  args.push(['--gpu_ids', '0'], ['--num_workers', shv('WORKERS')]);
  return args;
}

export function selectArgs(input: FinetuneLaunchInput): ShellArg[] {
  const m = taskMapping(input.experiment.settings.tasks);
  const args: ShellArg[] = [['--search_dir', '"$dir"'], ['--tasks', shq(m.selectTasks.join(','))], ['--aggregation_method', 'mean']];
  if (m.customTasks) args.push(['--custom_tasks', m.customTasks]);
  return args;
}

export function testArgs(input: FinetuneLaunchInput): ShellArg[] {
  const s = input.experiment.settings;
  const m = taskMapping(s.tasks);
  const args: ShellArg[] = [['--dataset', m.dataset]];
  if (m.customTasks) args.push(['--custom_tasks', m.customTasks]);
  args.push(
    ['--moco', 'false'],
    ['--phase', 'test'],
    ['--together', 'true'],
    ['--ckpt_path', '"$dir/best.pth.tar"'],
    ['--save_dir', '"$dir/test"'],
    ['--test_csv', '"$CSV/test.csv"'],
    ['--test_image_paths', '"$CSV/test.csv"'],
  );
  if (s.predictWith === 'ensemble') args.push(['--config_path', '"$dir/final.json"']);
  args.push(['--batch_size', intArg(s.batch, 'batch')], ['--inference_only'], ['--gpu_ids', '0'], ['--num_workers', shv('WORKERS')]);
  return args;
}

function runFunction(run: FinetuneRun, input: FinetuneLaunchInput): string {
  const s = input.experiment.settings;
  const pct = `${+(run.split.ratio * 100).toPrecision(6)} %`;
  const where = s.predictWith === 'ensemble' ? '$dir/test/final/results/test' : '$dir/results/test';
  const lines = [
    commentBlock(`run ${run.index}: '${run.initLabel}' on ${run.split.name} (${pct}, draw ${run.split.draw}, ${run.split.images} images): ${run.epochs} epochs, an evaluation every ${run.examplesPerEval} examples. Predictions: ${where}/predictions.csv`),
    `run_${run.index}() {`,
    `  local dir="$RUNS/${run.name}"`,
    '  mkdir -p "$dir" && cd "$dir"    # the pipeline writes cx_res18.npy into the working folder',
    `  ${renderCommand('python "$PIPELINE/train.py"', trainArgs(run, input), '      ')}`,
  ];
  if (s.predictWith === 'ensemble') lines.push(`  ${renderCommand('python "$PIPELINE/select_ensemble.py"', selectArgs(input), '      ')}`);
  lines.push(`  ${renderCommand('python "$PIPELINE/test.py"', testArgs(input), '      ')}`, '}');
  return lines.join('\n');
}

export function runsScript(input: FinetuneLaunchInput): string {
  const runs = finetuneRuns(input);
  const e = input.experiment;
  const c = clusterOptions(input.cluster);
  return `#!/bin/bash
${commentBlock(
  `Generated by MoCo-CXR Web: the ${runs.length} fine-tuning runs of experiment "${e.name}" (${e.inits.length} initialisation(s) x ${input.manifest.train.length} split(s)) on MoCo-CXR's ${PIPELINE_PATH} at commit ${MOCO_CXR_COMMIT.slice(0, 7)}: train.py, ${e.settings.predictWith === 'ensemble' ? 'select_ensemble.py, ' : ''}test.py per run.\nlaunch_torchrun.sh and launch_sbatch.sh source this file; torchrun runs 'bash runs.sh worker' once per GPU. Run one by hand: source runs.sh && run_one 0`,
)}
${commentBlock(['Where the original differs from the app for this experiment (the README has the same list):', ...finetuneNotes(input).map((n) => `- ${n.setting}: ${n.original}.`)].join('\n'))}
set -euo pipefail
BUNDLE_DIR=\${BUNDLE_DIR:-$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)}
MOCO_CXR=\${MOCO_CXR:-$BUNDLE_DIR/MoCo-CXR}
WORK=\${WORK:-$BUNDLE_DIR/work}
WORKERS=\${WORKERS:-${c.workers}}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)          # absolute: select_ensemble.py needs an absolute --search_dir
PIPELINE="$MOCO_CXR/${PIPELINE_PATH}"
CSV="$WORK/csv"                    # prepare_data.py's CSVs, Path columns absolute
RUNS="$WORK/runs"
RUN_COUNT=${runs.length}

check_ready() {
  if [ ! -f "$PIPELINE/train.py" ]; then echo "runs: no MoCo-CXR checkout at $MOCO_CXR: run 'bash setup_moco_cxr.sh' (or set MOCO_CXR)" >&2; exit 1; fi
  if [ ! -f "$CSV/valid.csv" ]; then echo "runs: $CSV is missing: run 'python3 prepare_data.py --data-root DIR' first" >&2; exit 1; fi
  mkdir -p "$RUNS"
}

${runs.map((r) => runFunction(r, input)).join('\n\n')}

run_one() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (( $1 >= RUN_COUNT )); then echo "runs: no run $1 (there are $RUN_COUNT)" >&2; return 1; fi
  ( "run_$1" )
}

if [ "\${1:-}" = worker ]; then
  # under torchrun: worker RANK of WORLD_SIZE takes runs RANK, RANK + WORLD_SIZE, ... on its own GPU
  check_ready
  IFS=, read -ra DEVICES <<< "\${CUDA_VISIBLE_DEVICES:-$(seq -s, 0 $(( LOCAL_WORLD_SIZE - 1 )))}"
  export CUDA_VISIBLE_DEVICES="\${DEVICES[$LOCAL_RANK]}"
  for (( i = RANK; i < RUN_COUNT; i += WORLD_SIZE )); do run_one "$i"; done
fi
`;
}

export function finetuneTorchrunScript(input: FinetuneLaunchInput): string {
  const c = clusterOptions(input.cluster);
  const runs = finetuneRuns(input);
  return `#!/bin/bash
${commentBlock(
  `Generated by MoCo-CXR Web: the ${runs.length} runs of experiment "${input.experiment.name}" spread over GPUs. The pipeline is one process per run (nn.DataParallel, --gpu_ids 0), so torchrun here starts one worker per GPU, and worker RANK of WORLD_SIZE takes runs RANK, RANK + WORLD_SIZE, ... one after the other (runs.sh worker).\nOne node: GPUS_PER_NODE=4 bash launch_torchrun.sh\nSeveral nodes, on each: NNODES=2 NODE_RANK=<0, 1, ...> MASTER_ADDR=<first node's address> GPUS_PER_NODE=4 bash launch_torchrun.sh\nBefore the first run: bash setup_moco_cxr.sh, then python3 prepare_data.py --data-root DIR.`,
)}
set -euo pipefail
BUNDLE_DIR=\${BUNDLE_DIR:-$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)}
source "$BUNDLE_DIR/runs.sh" sourced
NNODES=\${NNODES:-${c.nodes}}
NODE_RANK=\${NODE_RANK:-0}
GPUS_PER_NODE=\${GPUS_PER_NODE:-${c.gpusPerNode}}
MASTER_ADDR=\${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=\${MASTER_PORT:-${c.masterPort}}
check_ready
export BUNDLE_DIR MOCO_CXR WORK WORKERS
torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$GPUS_PER_NODE" --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \\
  --no_python bash "$BUNDLE_DIR/runs.sh" worker

# done
echo "Done"
`;
}

export function finetuneSbatchScript(input: FinetuneLaunchInput): string {
  const c = clusterOptions(input.cluster);
  const runs = finetuneRuns(input);
  const s = input.experiment.settings;
  const job = `${slug(ARCH_INFO[s.arch].pipelineName.toLowerCase())}-${s.mode === 'linear' ? 'last' : 'full'}-${slug(input.experiment.name, 'exp')}`.slice(0, 60);
  return `${sbatchHeader({ jobName: job, nodes: 1, gpusPerNode: 1, array: runs.length, output: `${job}-%A_%a.out` }, c)}

${commentBlock(
  `Generated by MoCo-CXR Web: experiment "${input.experiment.name}", ${runs.length} runs as a job array, one GPU each (the pipeline is one process per run). Submit from the bundle folder: sbatch launch_sbatch.sh. Without SLURM, bash launch_sbatch.sh runs them all one after the other, as gen_sbatch.py's scripts did. Before the first run: bash setup_moco_cxr.sh, then python3 prepare_data.py --data-root DIR.`,
)}
set -euo pipefail
BUNDLE_DIR=\${BUNDLE_DIR:-\${SLURM_SUBMIT_DIR:-$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)}}
if [ ! -f "$BUNDLE_DIR/runs.sh" ]; then echo "launch: $BUNDLE_DIR is not the bundle folder (no runs.sh); submit from it or set BUNDLE_DIR" >&2; exit 1; fi
source "$BUNDLE_DIR/runs.sh" sourced
check_ready
if [ -n "\${SLURM_ARRAY_TASK_ID:-}" ]; then
  run_one "$SLURM_ARRAY_TASK_ID"
else
  for (( i = 0; i < RUN_COUNT; i++ )); do run_one "$i"; done
fi

# done
echo "Done"
`;
}

export function finetuneLaunch(input: FinetuneLaunchInput): { files: LaunchFile[]; notes: HandoffNote[]; runs: FinetuneRun[] } {
  return {
    files: [
      { path: 'setup_moco_cxr.sh', text: setupScript() },
      { path: 'runs.sh', text: runsScript(input) },
      { path: 'launch_torchrun.sh', text: finetuneTorchrunScript(input) },
      { path: 'launch_sbatch.sh', text: finetuneSbatchScript(input) },
    ],
    notes: finetuneNotes(input),
    runs: finetuneRuns(input),
  };
}
