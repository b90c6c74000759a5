// "Export for a cluster": one zip that hands a pretraining run or a fine-tuning experiment to MoCo-CXR's
// PyTorch code. Plain inputs in, the zip's bytes out; nothing here touches the store or a device.
//
// Inputs (what the UI passes):
//   pretrainBundle({ run, dataset, images, checkpoint, imagenetStart, cluster?, estimate?, createdAt? })
//     run         the RunRecord (id, name, status, progress, stepsPerEpoch, settings)
//     dataset     the DatasetRecord (id, name, kind, labelColumns, imageSide)
//     images      the run's images in the order the run indexes them (store.listImages(datasetId)):
//                 key, file (path below the picked folder's parent), study, patient, sex, age,
//                 frontalLateral, apPa, labels; their order is the manifest
//     checkpoint  the run's latest state in MoCo format, the bytes main_moco.py --resume loads
//                 (toMoco(await mocoToCanonical(...)) or the stored run checkpoint converted), or null to
//                 start main_moco.py from the beginning; its epoch, arch, dim and K are read from the bytes
//                 and checked against the settings
//     imagenetStart  the run started from torchvision's ImageNet weights (adds --from-imagenet)
//   finetuneBundle({ experiment, dataset, images, manifest, checkpoints, cluster?, estimate?, createdAt? })
//     experiment  ExperimentSettings (+ an optional id)
//     images      at least every image the manifest names (the dataset's ImageMeta list is fine)
//     manifest    the SplitManifest the experiment ran on (valid, test, and every fraction's draws)
//     checkpoints per initialisation label: { label, format: 'moco' | 'pipeline', bytes }. 'moco' is a
//                 MoCo-CXR checkpoint, which train.py loads with --moco true (the published route);
//                 'pipeline' is a CheXpert-pipeline checkpoint (toPipeline: the classifier with its head,
//                 epoch 0, a fresh Adam), loaded with --moco false. A 'moco' initialisation needs one; an
//                 'imagenet' or 'random' one without a checkpoint uses --pretrained true / false.
//     cluster     nodes, GPUs per node, partition, ... (defaults: 1 node, 1 GPU, as MoCo-CXR's templates)
//     estimate    a line for the README (advice.ts's text), optional
//     createdAt   the timestamp written into run.json (default: now)
// Each returns the zip's bytes; `*BundleContents` return the files before zipping (for a preview, or tests).
import { detectLayout, optimizerInfo } from '../convert/index.ts';
import type { DatasetKind } from '../data/types.ts';
import type { ExperimentSettings, SplitManifest } from '../finetune/settings.ts';
import type { RunRecord } from '../store/schema.ts';
import { readTorchFile, type PickleValue } from '../torchfile/index.ts';
import { writeZip } from '../torchfile/zip-writer.ts';
import { clusterOptions, type ClusterOptions } from './cluster.ts';
import { csvLayoutFor, imagesCsv, linkPaths, splitCsv, type BundleImage } from './csv.ts';
import { finetuneLaunch, splitFile, taskMapping, uncertainFile, type InitCheckpoint } from './launch-finetune.ts';
import { pretrainLaunch } from './launch-pretrain.ts';
import { prepareScript } from './prepare-script.ts';
import { readme } from './readme.ts';
import { finetuneAugmentations, pretrainAugmentations, runJsonHeader, writeRunJson, type FinetuneRunJson, type PretrainRunJson } from './run-json.ts';
import { HandoffError, slug } from './shell.ts';
import { MOCO_CXR_COMMIT, MOCO_CXR_REPOSITORY, type HandoffNote } from './target.ts';
import { labelColumnOf } from '../finetune/tasks.ts';

export type { BundleImage } from './csv.ts';

export interface BundleDataset {
  id: string;
  name: string;
  kind: DatasetKind;
  labelColumns: string[];
  imageSide: number;
}

export interface PretrainBundleInput {
  run: Pick<RunRecord, 'id' | 'name' | 'status' | 'progress' | 'stepsPerEpoch' | 'settings'>;
  dataset: BundleDataset;
  images: readonly BundleImage[];
  checkpoint: Uint8Array | null;
  imagenetStart: boolean;
  cluster?: Partial<ClusterOptions>;
  estimate?: string;
  createdAt?: Date;
}

export interface FinetuneBundleInput {
  experiment: ExperimentSettings & { id?: string };
  dataset: BundleDataset;
  images: readonly BundleImage[];
  manifest: SplitManifest;
  checkpoints: { label: string; format: 'moco' | 'pipeline'; bytes: Uint8Array }[];
  cluster?: Partial<ClusterOptions>;
  estimate?: string;
  createdAt?: Date;
}

export interface BundleFile {
  /** path inside the bundle folder */
  path: string;
  data: Uint8Array;
}

export interface BundleContents {
  /** the zip's top folder, and the zip's suggested file name (folder + '.zip') */
  folder: string;
  fileName: string;
  files: BundleFile[];
  notes: HandoffNote[];
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The zip of a bundle's files under its top folder. */
export function zipBundle(c: BundleContents): Uint8Array {
  return writeZip(c.files.map((f) => ({ name: `${c.folder}/${f.path}`, data: f.data })));
}

function dataRootText(kind: DatasetKind, images: readonly BundleImage[]): string {
  const top = images[0]?.file.split('/')[0];
  if (kind === 'chexpert') return `the folder that holds \`${top ?? 'CheXpert-v1.0-small'}\` (the CSV paths start with it)`;
  return top ? `the folder that holds \`${top}\`, the folder imported into the app` : 'the folder that holds the folder imported into the app';
}

function readCheckpoint(bytes: Uint8Array, what: string) {
  let root: PickleValue;
  try {
    root = readTorchFile(bytes, { mode: 'strict' }).root;
  } catch (e) {
    throw new HandoffError(`${what} cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    return { root, detected: detectLayout(root) };
  } catch (e) {
    throw new HandoffError(`${what} is not a checkpoint layout the app knows (${e instanceof Error ? e.message : String(e)})`);
  }
}

// ---------------------------------------------------------------------------------------------

export function pretrainBundleContents(input: PretrainBundleInput): BundleContents {
  const s = input.run.settings;
  const cluster = clusterOptions(input.cluster);
  if (input.images.length < s.batch) throw new HandoffError(`the run has ${input.images.length} images, fewer than one batch of ${s.batch}`);
  const folder = `moco-cxr-pretrain-${slug(input.run.name)}`;

  let resume: { file: string; epoch: number } | null = null;
  if (input.checkpoint) {
    const { detected: d } = readCheckpoint(input.checkpoint, 'the run checkpoint');
    if (d.layout !== 'moco' || !d.moco) throw new HandoffError(`main_moco.py --resume needs a MoCo-format checkpoint; this one is ${d.summary}`);
    if (d.arch !== s.arch) throw new HandoffError(`the checkpoint is a ${d.arch}, the run's settings say ${s.arch}`);
    if (d.moco.dim !== s.dim || d.moco.K !== s.K) throw new HandoffError(`the checkpoint's queue is ${d.moco.dim} x ${d.moco.K}, the settings say dim ${s.dim}, K ${s.K}`);
    if (d.epoch === null || !Number.isInteger(d.epoch)) throw new HandoffError('the checkpoint has no epoch (main_moco.py --resume reads checkpoint["epoch"])');
    if (!d.moco.optimizer || d.moco.optimizer.kind !== 'adam') throw new HandoffError('the checkpoint has no Adam state (main_moco.py --resume loads checkpoint["optimizer"])');
    resume = { file: `checkpoints/${slug(input.run.name)}_epoch${d.epoch}.pth.tar`, epoch: d.epoch };
  }

  const launchInput = {
    settings: s,
    runName: input.run.name,
    imageCount: input.images.length,
    resume,
    imagenetStart: input.imagenetStart,
    progress: input.run.progress,
    cluster,
  };
  const { files: scripts, notes } = pretrainLaunch(launchInput);

  const links = linkPaths(input.images);
  const layout = csvLayoutFor(input.dataset.kind, input.dataset.labelColumns);
  const runJson: PretrainRunJson = {
    ...runJsonHeader(input.createdAt ?? new Date()),
    kind: 'pretrain',
    dataset: { ...input.dataset, labelColumns: [...input.dataset.labelColumns] },
    seed: s.seed,
    target: { repository: MOCO_CXR_REPOSITORY, commit: MOCO_CXR_COMMIT, notes },
    run: { id: input.run.id, name: input.run.name, status: input.run.status, progress: { ...input.run.progress }, stepsPerEpoch: input.run.stepsPerEpoch },
    settings: structuredClone(s),
    imagenetStart: input.imagenetStart,
    augmentations: pretrainAugmentations(s),
    manifest: { kind: 'pretrain', keys: input.images.map((i) => i.key) },
    checkpoint: resume ? { file: resume.file, format: 'moco', epoch: resume.epoch } : null,
  };

  const files: BundleFile[] = [
    {
      path: 'README.md',
      data: utf8(
        readme({
          kind: 'pretrain',
          title: `MoCo-CXR pretraining: ${input.run.name}`,
          summary: `MoCo v2 pretraining of a ${s.arch} on ${input.images.length} images of "${input.dataset.name}" (${input.dataset.kind}): batch ${s.batch}, K ${s.K}, m ${s.m}, T ${s.T}, Adam lr ${s.lr} (weight decay ${s.weightDecay}), ${s.epochs} epochs, ${s.schedule === 'step' ? `lr x0.1 at epochs ${s.milestones.join(', ')}` : `cosine (rate ${s.cosRate})`}, ${s.size} px crops of ${s.crop}, rotation ${s.rotate} degrees, seed ${s.seed}. ${resume ? `The checkpoint holds epoch ${resume.epoch} (step ${input.run.progress.globalStep} in all); the scripts resume from it.` : 'No checkpoint: the scripts start from the beginning.'}`,
          files: [
            { path: 'run.json', what: 'every setting, the seed, the augmentations and the images, for the app to run it again' },
            ...(resume ? [{ path: resume.file, what: `the run's state in MoCo-CXR's format (epoch ${resume.epoch}; both encoders, queue, queue pointer, Adam), what main_moco.py --resume loads` }] : []),
            { path: 'splits/full_train.csv', what: `the ${input.images.length} pretraining images in the ${layout === 'shenzhen' ? 'Shenzhen chexpert_like' : 'CheXpert'} column layout (Path relative to work/data)` },
            { path: 'splits/images.csv', what: 'each image: the app\'s key, its file below the data root, its Path in the CSVs' },
            { path: 'prepare_data.py', what: 'links the images into work/full_train (the ImageFolder main_moco.py reads)' },
            { path: 'setup_moco_cxr.sh', what: 'clones MoCo-CXR at the target commit and applies two small patches' },
            { path: 'launch_torchrun.sh', what: 'main_moco.py under torchrun: one node with several GPUs, or several nodes' },
            { path: 'launch_sbatch.sh', what: "main_moco.py under SLURM, in the style of MoCo-CXR's r8w1n416.sh" },
          ],
          dataRoot: dataRootText(input.dataset.kind, input.images),
          results: [
            `main_moco.py writes \`checkpoint_XXXX.pth.tar\` after every epoch into \`$MOCO_CXR_STORAGE/<user>/${slug(input.run.name)}_mocov2_<date>[_SLURM<job>]/\` (default \`work/moco_runs\`). Each is a MoCo-CXR checkpoint: import it on the app's Checkpoints page, or fine-tune from it with the pipeline (\`train.py --ckpt_path ... --moco true\`).`,
          ],
          notes,
          ...(input.estimate ? { estimate: input.estimate } : {}),
        }),
      ),
    },
    { path: 'run.json', data: utf8(writeRunJson(runJson)) },
    ...(resume && input.checkpoint ? [{ path: resume.file, data: input.checkpoint }] : []),
    { path: 'splits/full_train.csv', data: utf8(splitCsv(layout, input.dataset.labelColumns, input.images, links)) },
    { path: 'splits/images.csv', data: utf8(imagesCsv(input.images, links)) },
    { path: 'prepare_data.py', data: utf8(prepareScript({ kind: 'pretrain', splits: ['full_train.csv'], uncertain: null })) },
    ...scripts.map((f) => ({ path: f.path, data: utf8(f.text) })),
  ];
  return { folder, fileName: `${folder}.zip`, files, notes };
}

export function pretrainBundle(input: PretrainBundleInput): Uint8Array {
  return zipBundle(pretrainBundleContents(input));
}

// ---------------------------------------------------------------------------------------------

export function finetuneBundleContents(input: FinetuneBundleInput): BundleContents {
  const e = input.experiment;
  const m = input.manifest;
  const s = e.settings;
  if (m.datasetId !== input.dataset.id) throw new HandoffError(`the manifest is for dataset ${m.datasetId}, not ${input.dataset.id}`);
  if (m.train.length === 0) throw new HandoffError('the manifest has no training split');
  if (m.valid.length === 0 || m.test.length === 0) throw new HandoffError('the manifest needs a validation split (model picking) and a test split');
  const mapping = taskMapping(s.tasks);
  const folder = `moco-cxr-finetune-${slug(e.name, 'experiment')}`;

  // checkpoints: one per initialisation label that has one, checked against what train.py does with it
  const inits: InitCheckpoint[] = [];
  const ckFiles: BundleFile[] = [];
  for (const c of input.checkpoints) {
    const init = e.inits.find((i) => i.label === c.label);
    if (!init) throw new HandoffError(`a checkpoint is labelled '${c.label}', which is no initialisation of the experiment (${e.inits.map((i) => i.label).join(', ')})`);
    const what = `the '${c.label}' checkpoint`;
    const { root, detected: d } = readCheckpoint(c.bytes, what);
    if (d.layout !== c.format) throw new HandoffError(`${what} is ${d.summary}, not the ${c.format} format it is given as`);
    if (d.arch !== s.arch) throw new HandoffError(`${what} is a ${d.arch}, the experiment fine-tunes a ${s.arch}`);
    if (c.format === 'pipeline') {
      const tasks = d.tasks ?? [];
      if (tasks.join('|') !== mapping.outputs.join('|')) {
        throw new HandoffError(`${what} has outputs ${tasks.join(', ') || '(none)'}; train.py builds ${mapping.outputs.join(', ')} for --dataset ${mapping.dataset} and loads model_state strictly`);
      }
      const opt = root instanceof Map ? optimizerInfo(root.get('optimizer')) : null;
      if (!opt || opt.kind !== 'adam') throw new HandoffError(`${what} has no Adam state: train.py --moco false loads the optimizer from the checkpoint (optimizer.load_optimizer)`);
      if (opt.lr !== s.lr) throw new HandoffError(`${what} holds Adam with lr ${opt.lr}; train.py --moco false loads that optimizer state, whose lr replaces --lr ${s.lr}: write the checkpoint with lr ${s.lr}`);
      if (d.epoch !== 0) throw new HandoffError(`${what} says epoch ${d.epoch}; train.py --moco false would start at epoch ${(d.epoch ?? 0) + 1} (write it with epoch 0)`);
    }
    const file = `checkpoints/${slug(c.label, 'init')}.${c.format}.pth.tar`;
    if (inits.some((x) => x.file === file)) throw new HandoffError(`two checkpoints would be written to ${file}`);
    inits.push({ label: c.label, file, format: c.format });
    ckFiles.push({ path: file, data: c.bytes });
  }

  const launch = finetuneLaunch({ experiment: e, manifest: m, datasetKind: input.dataset.kind, checkpoints: inits, cluster: clusterOptions(input.cluster) });

  // every image the manifest names, in the order of `images`
  const wanted = new Set([...m.valid, ...m.test, ...m.train.flatMap((t) => t.keys)]);
  const byKey = new Map(input.images.map((i) => [i.key, i]));
  const missing = [...wanted].filter((k) => !byKey.has(k));
  if (missing.length > 0) throw new HandoffError(`${missing.length} image(s) of the manifest are not among the images given, e.g. ${missing.slice(0, 3).join(', ')}`);
  const used = input.images.filter((i) => wanted.has(i.key));
  const links = linkPaths(used);
  const layout = csvLayoutFor(input.dataset.kind, input.dataset.labelColumns);
  const csvOf = (keys: readonly string[]) => splitCsv(layout, input.dataset.labelColumns, keys.map((k) => byKey.get(k)!), links);

  const splitFiles: BundleFile[] = [];
  const seen = new Set<string>(['valid.csv', 'test.csv']);
  for (const t of m.train) {
    const f = splitFile(t.name);
    if (seen.has(f)) throw new HandoffError(`split '${t.name}' would be written to ${f}, which another split uses`);
    seen.add(f);
    splitFiles.push({ path: `splits/${f}`, data: utf8(csvOf(t.keys)) });
  }
  splitFiles.push({ path: 'splits/valid.csv', data: utf8(csvOf(m.valid)) }, { path: 'splits/test.csv', data: utf8(csvOf(m.test)) });

  const uncertain =
    s.uncertainty === 'ignore'
      ? null
      : {
          policy: s.uncertainty,
          splits: m.train.map((t) => ({ from: splitFile(t.name), to: uncertainFile(t.name, s.uncertainty as 'ones' | 'zeros') })),
          columns: mapping.outputs.map((t) => labelColumnOf(t, input.dataset.labelColumns)),
        };

  const runJson: FinetuneRunJson = {
    ...runJsonHeader(input.createdAt ?? new Date()),
    kind: 'finetune',
    dataset: { ...input.dataset, labelColumns: [...input.dataset.labelColumns] },
    seed: s.seed,
    target: { repository: MOCO_CXR_REPOSITORY, commit: MOCO_CXR_COMMIT, notes: launch.notes },
    experiment: structuredClone(e),
    augmentations: finetuneAugmentations(s),
    manifest: structuredClone(m),
    checkpoints: inits.map((c) => ({ ...c })),
  };

  const where = s.predictWith === 'ensemble' ? '`work/runs/<run>/test/final/results/test/`' : '`work/runs/<run>/results/test/`';
  const files: BundleFile[] = [
    {
      path: 'README.md',
      data: utf8(
        readme({
          kind: 'finetune',
          title: `MoCo-CXR fine-tuning: ${e.name}`,
          summary: `${launch.runs.length} fine-tuning runs of a ${s.arch} (${s.mode}) on "${input.dataset.name}" (${input.dataset.kind}): initialisations ${e.inits.map((i) => `'${i.label}'`).join(', ')}; ${m.train.length} training split(s) (${[...new Set(m.train.map((t) => t.ratio))].map((r) => `${+(r * 100).toPrecision(6)} %`).join(', ')}), ${m.valid.length} validation and ${m.test.length} test images; Adam lr ${s.lr}, batch ${s.batch}, ${s.scale} px resized, ${s.crop} px crops, ${s.normalization} normalisation, tasks ${s.tasks.outputs.join(', ')}, uncertain labels ${s.uncertainty}, predictions from ${s.predictWith === 'ensemble' ? `the mean of the top ${s.keepTopK} checkpoints` : 'the best checkpoint'}.`,
          files: [
            { path: 'run.json', what: 'every setting, the seed, the augmentations and the split manifest, for the app to run it again' },
            ...inits.map((c) => ({ path: c.file, what: `the '${c.label}' start, ${c.format === 'moco' ? 'a MoCo-CXR checkpoint (train.py --moco true)' : 'a CheXpert-pipeline checkpoint (train.py --moco false)'}` })),
            ...splitFiles.map((f) => ({ path: f.path, what: f.path.endsWith('valid.csv') ? 'validation (model picking)' : f.path.endsWith('test.csv') ? 'test' : 'a training fraction and draw' })),
            { path: 'splits/images.csv', what: "each image: the app's key, its file below the data root, its Path in the CSVs" },
            { path: 'prepare_data.py', what: 'links the images into work/data and writes work/csv with absolute paths' },
            { path: 'setup_moco_cxr.sh', what: 'clones MoCo-CXR at the target commit' },
            { path: 'runs.sh', what: 'one shell function per run: train.py, select_ensemble.py, test.py' },
            { path: 'launch_torchrun.sh', what: 'the runs spread over GPUs and nodes, one worker per GPU' },
            { path: 'launch_sbatch.sh', what: "a SLURM job array, one GPU per run, in the style of gen_sbatch.py's scripts" },
          ],
          dataRoot: dataRootText(input.dataset.kind, used),
          results: [
            `Each run writes its checkpoints (\`iter_<examples>.pth.tar\`, \`best.pth.tar\`, \`args.json\`) to \`work/runs/<run>/\`${s.predictWith === 'ensemble' ? ', `final.json` (the picked checkpoints, select_ensemble.py)' : ''}, and test predictions to ${where}: \`predictions.csv\` and \`groundtruth.csv\` (study level, Path first). Import them into the app's evaluation for AUROC with bootstrap intervals; the checkpoints load on its Checkpoints page.`,
          ],
          notes: launch.notes,
          ...(input.estimate ? { estimate: input.estimate } : {}),
        }),
      ),
    },
    { path: 'run.json', data: utf8(writeRunJson(runJson)) },
    ...ckFiles,
    ...splitFiles,
    { path: 'splits/images.csv', data: utf8(imagesCsv(used, links)) },
    { path: 'prepare_data.py', data: utf8(prepareScript({ kind: 'finetune', splits: splitFiles.map((f) => f.path.slice('splits/'.length)), uncertain })) },
    ...launch.files.map((f) => ({ path: f.path, data: utf8(f.text) })),
  ];
  return { folder, fileName: `${folder}.zip`, files, notes: launch.notes };
}

export function finetuneBundle(input: FinetuneBundleInput): Uint8Array {
  return zipBundle(finetuneBundleContents(input));
}
