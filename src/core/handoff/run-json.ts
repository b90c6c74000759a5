// run.json: everything a bundle's run was made of, versioned, so that the app can run the same experiment
// again from it (and a person can read what ran): every setting, the seed, the augmentations in order, the
// split manifest (which image is in which split, fraction and draw, by the app's image keys, in the order the
// run uses them), the dataset it ran on, the checkpoint(s) the bundle carries, and where the original code
// departs from the app. parseRunJson validates all of it and names the first bad key by its path.
import { ARCHS } from '../convert/index.ts';
import type { DatasetKind } from '../data/types.ts';
import type { ExperimentSettings, FinetuneInit, FinetuneSettings, SplitManifest } from '../finetune/settings.ts';
import type { PretrainSettings } from '../moco/settings.ts';
import { CORE_VERSION } from '../version.ts';
import type { HandoffNote } from './target.ts';

export const RUN_JSON_FORMAT = 'moco-cxr-web/run';
export const RUN_JSON_VERSION = 1;

export class RunJsonError extends Error {
  override name = 'RunJsonError';
}

/** One augmentation step, torchvision's name and its parameters. */
export interface AugmentationStep {
  op: string;
  [param: string]: string | number | boolean | number[];
}

export interface RunJsonDataset {
  id: string;
  name: string;
  kind: DatasetKind;
  labelColumns: string[];
  /** the stored images' shorter side */
  imageSide: number;
}

export interface RunJsonTarget {
  repository: string;
  commit: string;
  notes: HandoffNote[];
}

interface RunJsonBase {
  format: typeof RUN_JSON_FORMAT;
  version: typeof RUN_JSON_VERSION;
  createdAt: string;
  app: { name: 'MoCo-CXR Web'; coreVersion: number };
  dataset: RunJsonDataset;
  seed: number;
  target: RunJsonTarget;
}

export interface PretrainRunJson extends RunJsonBase {
  kind: 'pretrain';
  run: {
    id: string;
    name: string;
    status: string;
    /** at the checkpoint: completed epochs, steps into the current epoch, steps in all */
    progress: { epoch: number; step: number; globalStep: number };
    stepsPerEpoch: number;
  };
  settings: PretrainSettings;
  /** the run started from torchvision's ImageNet weights */
  imagenetStart: boolean;
  augmentations: AugmentationStep[];
  /** the images pretrained on, in the order the run indexes them (its epoch order permutes these) */
  manifest: { kind: 'pretrain'; keys: string[] };
  checkpoint: { file: string; format: 'moco'; epoch: number } | null;
}

export interface FinetuneRunJson extends RunJsonBase {
  kind: 'finetune';
  experiment: ExperimentSettings & { id?: string };
  augmentations: { train: AugmentationStep[]; eval: AugmentationStep[] };
  manifest: SplitManifest;
  checkpoints: { label: string; file: string; format: 'moco' | 'pipeline' }[];
}

export type RunJson = PretrainRunJson | FinetuneRunJson;

/** MoCo-CXR's pretraining views (--aug-setting chexpert), each drawn twice per image. */
export function pretrainAugmentations(s: PretrainSettings): AugmentationStep[] {
  return [
    { op: 'Grayscale->RGB', note: 'grey copied to 3 channels (ImageFolder loads RGB)' },
    { op: 'Resize', size: s.size, interpolation: 'bilinear', side: 'shorter' },
    { op: 'RandomHorizontalFlip', p: 0.5 },
    { op: 'RandomRotation', degrees: s.rotate, interpolation: 'nearest', fill: 0 },
    { op: 'RandomCrop', size: s.crop },
    { op: 'ToTensor' },
    { op: 'Normalize', mean: [s.mean, s.mean, s.mean], std: [s.std, s.std, s.std] },
  ];
}

/** The pipeline's transforms (data/base_dataset.py): random crop to train, centre crop to evaluate. */
export function finetuneAugmentations(s: Pick<FinetuneSettings, 'scale' | 'crop' | 'normalization'>): { train: AugmentationStep[]; eval: AugmentationStep[] } {
  const norm: AugmentationStep =
    s.normalization === 'imagenet' ? { op: 'Normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : { op: 'Normalize', mean: [0.502, 0.502, 0.502], std: [0.085585, 0.085585, 0.085585] };
  const resize: AugmentationStep = { op: 'Resize', size: s.scale, interpolation: 'bilinear', side: 'shorter' };
  return {
    train: [{ op: 'Grayscale->RGB' }, resize, { op: 'RandomCrop', size: s.crop }, { op: 'ToTensor' }, norm],
    eval: [{ op: 'Grayscale->RGB' }, resize, { op: 'CenterCrop', size: s.crop }, { op: 'ToTensor' }, norm],
  };
}

export function runJsonHeader(createdAt: Date): Pick<RunJsonBase, 'format' | 'version' | 'createdAt' | 'app'> {
  return { format: RUN_JSON_FORMAT, version: RUN_JSON_VERSION, createdAt: createdAt.toISOString(), app: { name: 'MoCo-CXR Web', coreVersion: CORE_VERSION } };
}

export function writeRunJson(r: RunJson): string {
  validate(r);
  return JSON.stringify(r, null, 2) + '\n';
}

export function parseRunJson(text: string): RunJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new RunJsonError(`run.json is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  validate(v);
  return v as RunJson;
}

// ---------------------------------------------------------------------------------------------
// validation: each check names the key by its path (run.json: settings.K must be ...)

type Obj = Record<string, unknown>;

function fail(path: string, msg: string): never {
  throw new RunJsonError(`run.json: ${path} ${msg}`);
}
function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  return v as Obj;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'must be a string');
  return v;
}
function num(v: unknown, path: string, opts: { int?: boolean; min?: number; max?: number; gt?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'must be a finite number');
  if (opts.int && !Number.isSafeInteger(v)) fail(path, `must be a whole number (got ${v})`);
  if (opts.min !== undefined && v < opts.min) fail(path, `must be at least ${opts.min} (got ${v})`);
  if (opts.max !== undefined && v > opts.max) fail(path, `must be at most ${opts.max} (got ${v})`);
  if (opts.gt !== undefined && !(v > opts.gt)) fail(path, `must be more than ${opts.gt} (got ${v})`);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}
function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be a list');
  return v;
}
function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) fail(path, `must be one of ${options.join(', ')} (got ${JSON.stringify(v)})`);
  return v as T;
}
function strings(v: unknown, path: string): string[] {
  return arr(v, path).map((x, i) => str(x, `${path}[${i}]`));
}

function checkPretrainSettings(v: unknown, p: string): void {
  const s = obj(v, p);
  oneOf(s.arch, `${p}.arch`, ARCHS);
  const init = obj(s.init, `${p}.init`);
  const kind = oneOf(init.kind, `${p}.init.kind`, ['random', 'backbone', 'moco'] as const);
  if (kind !== 'random') str(init.checkpointId, `${p}.init.checkpointId`);
  num(s.dim, `${p}.dim`, { int: true, min: 1 });
  const K = num(s.K, `${p}.K`, { int: true, min: 1 });
  num(s.m, `${p}.m`, { min: 0, max: 1 });
  num(s.T, `${p}.T`, { gt: 0 });
  num(s.lr, `${p}.lr`, { gt: 0 });
  num(s.weightDecay, `${p}.weightDecay`, { min: 0 });
  const batch = num(s.batch, `${p}.batch`, { int: true, min: 1 });
  if (K % batch !== 0) fail(`${p}.K`, `(${K}) must be a multiple of ${p}.batch (${batch})`);
  num(s.epochs, `${p}.epochs`, { int: true, min: 1 });
  oneOf(s.schedule, `${p}.schedule`, ['step', 'cos'] as const);
  arr(s.milestones, `${p}.milestones`).forEach((m, i) => num(m, `${p}.milestones[${i}]`, { int: true, min: 0 }));
  num(s.cosRate, `${p}.cosRate`, { gt: 0 });
  const size = num(s.size, `${p}.size`, { int: true, min: 1 });
  num(s.crop, `${p}.crop`, { int: true, min: 1, max: size });
  num(s.rotate, `${p}.rotate`, { min: 0, max: 180 });
  num(s.mean, `${p}.mean`);
  num(s.std, `${p}.std`, { gt: 0 });
  num(s.seed, `${p}.seed`, { int: true });
  num(s.checkpointEvery, `${p}.checkpointEvery`, { int: true, min: 1 });
}

function checkInit(v: unknown, p: string): FinetuneInit['kind'] {
  const init = obj(v, p);
  const kind = oneOf(init.kind, `${p}.kind`, ['moco', 'imagenet', 'random'] as const);
  if (kind !== 'random') str(init.checkpointId, `${p}.checkpointId`);
  return kind;
}

function checkFinetuneSettings(v: unknown, p: string): void {
  const s = obj(v, p);
  oneOf(s.arch, `${p}.arch`, ARCHS);
  oneOf(s.mode, `${p}.mode`, ['linear', 'end-to-end'] as const);
  oneOf(s.linearBatchNorm, `${p}.linearBatchNorm`, ['train', 'frozen'] as const);
  const tasks = obj(s.tasks, `${p}.tasks`);
  const outputs = strings(tasks.outputs, `${p}.tasks.outputs`);
  if (outputs.length === 0) fail(`${p}.tasks.outputs`, 'must name at least one task');
  strings(tasks.pick, `${p}.tasks.pick`).forEach((t, i) => {
    if (!outputs.includes(t)) fail(`${p}.tasks.pick[${i}]`, `('${t}') must be one of the outputs`);
  });
  oneOf(s.uncertainty, `${p}.uncertainty`, ['ignore', 'zeros', 'ones'] as const);
  num(s.lr, `${p}.lr`, { gt: 0 });
  const batch = num(s.batch, `${p}.batch`, { int: true, min: 1 });
  const scale = num(s.scale, `${p}.scale`, { int: true, min: 1 });
  num(s.crop, `${p}.crop`, { int: true, min: 1, max: scale });
  oneOf(s.normalization, `${p}.normalization`, ['imagenet', 'chexpert'] as const);
  num(s.epochs, `${p}.epochs`, { int: true, min: 1 });
  const every = num(s.examplesPerEval, `${p}.examplesPerEval`, { int: true, min: 1 });
  if (every % batch !== 0) fail(`${p}.examplesPerEval`, `(${every}) must be a multiple of ${p}.batch (${batch})`);
  num(s.keepTopK, `${p}.keepTopK`, { int: true, min: 1 });
  oneOf(s.predictWith, `${p}.predictWith`, ['ensemble', 'best'] as const);
  num(s.seed, `${p}.seed`, { int: true, min: 0 });
}

function checkManifest(v: unknown, p: string): void {
  const m = obj(v, p);
  str(m.datasetId, `${p}.datasetId`);
  oneOf(m.unit, `${p}.unit`, ['image', 'patient'] as const);
  num(m.seed, `${p}.seed`, { int: true });
  const valid = strings(m.valid, `${p}.valid`);
  const test = strings(m.test, `${p}.test`);
  const held = new Map<string, string>();
  for (const k of valid) held.set(k, 'valid');
  for (const k of test) {
    if (held.has(k)) fail(`${p}.test`, `and ${p}.valid both hold '${k}'`);
    held.set(k, 'test');
  }
  const names = new Set<string>();
  arr(m.train, `${p}.train`).forEach((t, i) => {
    const q = `${p}.train[${i}]`;
    const e = obj(t, q);
    num(e.ratio, `${q}.ratio`, { gt: 0, max: 1 });
    num(e.draw, `${q}.draw`, { int: true, min: 0 });
    const name = str(e.name, `${q}.name`);
    if (names.has(name)) fail(`${q}.name`, `('${name}') is used twice`);
    names.add(name);
    const keys = strings(e.keys, `${q}.keys`);
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k)) fail(`${q}.keys`, `holds '${k}' twice`);
      seen.add(k);
      const other = held.get(k);
      if (other) fail(`${q}.keys`, `holds '${k}', which is also in ${p}.${other}`);
    }
  });
}

function checkExperiment(v: unknown, p: string): void {
  const e = obj(v, p);
  str(e.name, `${p}.name`);
  str(e.datasetId, `${p}.datasetId`);
  const labels = new Set<string>();
  const inits = arr(e.inits, `${p}.inits`);
  if (inits.length === 0) fail(`${p}.inits`, 'must hold at least one initialisation');
  inits.forEach((x, i) => {
    const o = obj(x, `${p}.inits[${i}]`);
    const label = str(o.label, `${p}.inits[${i}].label`);
    if (labels.has(label)) fail(`${p}.inits[${i}].label`, `('${label}') is used twice`);
    labels.add(label);
    checkInit(o.init, `${p}.inits[${i}].init`);
  });
  arr(e.fractions, `${p}.fractions`).forEach((f, i) => {
    const o = obj(f, `${p}.fractions[${i}]`);
    num(o.ratio, `${p}.fractions[${i}].ratio`, { gt: 0, max: 1 });
    num(o.draws, `${p}.fractions[${i}].draws`, { int: true, min: 1 });
  });
  oneOf(e.splitUnit, `${p}.splitUnit`, ['image', 'patient'] as const);
  num(e.splitSeed, `${p}.splitSeed`, { int: true });
  bool(e.scheduleByFraction, `${p}.scheduleByFraction`);
  checkFinetuneSettings(e.settings, `${p}.settings`);
  num(e.bootstrap, `${p}.bootstrap`, { int: true, min: 0 });
}

function checkAugmentations(v: unknown, p: string): void {
  arr(v, p).forEach((a, i) => str(obj(a, `${p}[${i}]`).op, `${p}[${i}].op`));
}

function validate(v: unknown): asserts v is RunJson {
  const r = obj(v, '(top level)');
  if (r.format !== RUN_JSON_FORMAT) fail('format', `must be '${RUN_JSON_FORMAT}' (got ${JSON.stringify(r.format)})`);
  const version = num(r.version, 'version', { int: true });
  if (version !== RUN_JSON_VERSION) fail('version', `${version} is not one this app reads (it reads ${RUN_JSON_VERSION})`);
  const kind = oneOf(r.kind, 'kind', ['pretrain', 'finetune'] as const);
  str(r.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(r.createdAt as string))) fail('createdAt', 'must be an ISO date');
  const app = obj(r.app, 'app');
  str(app.name, 'app.name');
  num(app.coreVersion, 'app.coreVersion', { int: true });
  const d = obj(r.dataset, 'dataset');
  str(d.id, 'dataset.id');
  str(d.name, 'dataset.name');
  oneOf(d.kind, 'dataset.kind', ['chexpert', 'shenzhen', 'generic', 'demo'] as const);
  strings(d.labelColumns, 'dataset.labelColumns');
  num(d.imageSide, 'dataset.imageSide', { int: true, min: 1 });
  num(r.seed, 'seed', { int: true });
  const t = obj(r.target, 'target');
  str(t.repository, 'target.repository');
  str(t.commit, 'target.commit');
  arr(t.notes, 'target.notes').forEach((n, i) => {
    const o = obj(n, `target.notes[${i}]`);
    for (const k of ['setting', 'app', 'original']) str(o[k], `target.notes[${i}].${k}`);
  });

  if (kind === 'pretrain') {
    const run = obj(r.run, 'run');
    str(run.id, 'run.id');
    str(run.name, 'run.name');
    str(run.status, 'run.status');
    const pr = obj(run.progress, 'run.progress');
    for (const k of ['epoch', 'step', 'globalStep']) num(pr[k], `run.progress.${k}`, { int: true, min: 0 });
    num(run.stepsPerEpoch, 'run.stepsPerEpoch', { int: true, min: 0 });
    checkPretrainSettings(r.settings, 'settings');
    if ((r.settings as Obj).seed !== r.seed) fail('seed', 'must equal settings.seed');
    bool(r.imagenetStart, 'imagenetStart');
    checkAugmentations(r.augmentations, 'augmentations');
    const m = obj(r.manifest, 'manifest');
    if (m.kind !== 'pretrain') fail('manifest.kind', "must be 'pretrain'");
    const keys = strings(m.keys, 'manifest.keys');
    if (new Set(keys).size !== keys.length) fail('manifest.keys', 'holds a key twice');
    if (r.checkpoint !== null) {
      const c = obj(r.checkpoint, 'checkpoint');
      str(c.file, 'checkpoint.file');
      if (c.format !== 'moco') fail('checkpoint.format', "must be 'moco'");
      num(c.epoch, 'checkpoint.epoch', { int: true, min: 0 });
    }
  } else {
    checkExperiment(r.experiment, 'experiment');
    if ((r.experiment as { settings: Obj }).settings.seed !== r.seed) fail('seed', 'must equal experiment.settings.seed');
    const aug = obj(r.augmentations, 'augmentations');
    checkAugmentations(aug.train, 'augmentations.train');
    checkAugmentations(aug.eval, 'augmentations.eval');
    checkManifest(r.manifest, 'manifest');
    const labels = new Set((r.experiment as ExperimentSettings).inits.map((i) => i.label));
    arr(r.checkpoints, 'checkpoints').forEach((c, i) => {
      const o = obj(c, `checkpoints[${i}]`);
      const label = str(o.label, `checkpoints[${i}].label`);
      if (!labels.has(label)) fail(`checkpoints[${i}].label`, `('${label}') names no initialisation of the experiment`);
      str(o.file, `checkpoints[${i}].file`);
      oneOf(o.format, `checkpoints[${i}].format`, ['moco', 'pipeline'] as const);
    });
  }
}

/** The manifest's image keys a dataset lacks (re-running needs every one of them imported). */
export function missingImages(r: RunJson, keys: ReadonlySet<string>): string[] {
  const all = r.kind === 'pretrain' ? r.manifest.keys : [...r.manifest.valid, ...r.manifest.test, ...r.manifest.train.flatMap((t) => t.keys)];
  return [...new Set(all)].filter((k) => !keys.has(k));
}
