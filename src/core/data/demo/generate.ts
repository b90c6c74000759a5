// The built-in demo dataset: synthetic chest radiograph phantoms with CheXpert-style labels,
// deterministic from a seed. NOT real patients.
//
// Patients get 1-3 studies (one frontal view each) and are split into train / valid / test by
// patient. Each study's findings are drawn with CheXpert-like prevalences and correlations (age and
// cardiomegaly, heart failure with edema and effusions, sicker patients imaged AP with lines and
// tubes) and graded; the labels follow from the grades as a report labeller would write them:
//   grade >= POSITIVE_GRADE          -> 1 (positive)
//   SUBTLE_GRADE <= grade < POSITIVE  -> -1 (uncertain) in train; in valid/test a reader's call,
//                                       1 when grade >= READER_GRADE else 0 (no -1, like CheXpert's valid)
//   absent                            -> 0 when "mentioned as absent" (observation-specific rate) else
//                                       blank in train; always 0 in valid/test
// `No Finding` is 1 when no pathology is positive or uncertain (support devices aside, as in
// CheXpert), blank otherwise in train; 1/0 in valid/test.

import { CHEXPERT_OBSERVATIONS, type ImageMeta, type LabelValue, type Split } from '../types.ts';
import { noFindings, renderPhantom, type CentralLine, type PhantomFindings, type PhantomParams, type Side, type Zone } from './phantom.ts';
import { createRng, mixSeed, type Rng } from './prng.ts';

export const DEMO_DATASET_NAME = 'Synthetic phantoms (demo, not real patients)';

/** Label thresholds on the finding grades (0..1). */
export const POSITIVE_GRADE = 0.3;
export const SUBTLE_GRADE = 0.1;
export const READER_GRADE = 0.2;

export interface DemoOptions {
  seed: number;
  /** Number of images (studies). */
  count: number;
  /** Image side in pixels (square images); default 320. */
  size?: number;
  /** Fraction of images in valid (by patient); default 0.1. */
  validFraction?: number;
  /** Fraction of images in test (by patient); default 0.1. */
  testFraction?: number;
}

/** One generated image. */
export interface DemoImage {
  meta: ImageMeta;
  /** size x size grey uint8, row-major. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/** One planned image: metadata, labels and the phantom parameters, before rendering. */
export interface DemoCase {
  meta: ImageMeta;
  params: PhantomParams;
  /** Hidden ground truth the labels came from (not shown to the models). */
  truth: {
    /** Grade per CheXpert observation (0 absent), before labelling. */
    grades: Record<string, number>;
    /** Whether a consolidation is infectious (drives `Pneumonia`). */
    infectious: boolean;
  };
}

export interface DemoDataset {
  name: string;
  seed: number;
  size: number;
  labelColumns: string[];
  /** All planned images, train then valid then test, each by patient and study. */
  cases: DemoCase[];
  /** Renders the images lazily, in `cases` order; iterable more than once. */
  items: Iterable<DemoImage>;
  /** Renders one planned image. */
  render(c: DemoCase): DemoImage;
}

/** Plans a demo dataset (cheap: no pixels) and returns it with a lazy renderer. */
export function demoDataset(opts: DemoOptions): DemoDataset {
  const size = opts.size ?? 320;
  const cases = planDemoCases(opts);
  const render = (c: DemoCase): DemoImage => ({ meta: c.meta, pixels: renderPhantom(c.params, size), width: size, height: size });
  return {
    name: DEMO_DATASET_NAME,
    seed: opts.seed,
    size,
    labelColumns: [...CHEXPERT_OBSERVATIONS],
    cases,
    items: {
      *[Symbol.iterator]() {
        for (const c of cases) yield render(c);
      },
    },
    render,
  };
}

export interface GenerateOptions {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Renders the whole demo dataset into an array, reporting progress; throws the signal's reason when aborted. */
export function generateDemoImages(opts: DemoOptions, run: GenerateOptions = {}): DemoImage[] {
  const ds = demoDataset(opts);
  const out: DemoImage[] = [];
  const total = ds.cases.length;
  for (const c of ds.cases) {
    run.signal?.throwIfAborted();
    out.push(ds.render(c));
    run.onProgress?.(out.length, total);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Patient {
  index: number;
  id: string;
  female: boolean;
  age: number;
  studies: number;
  /** Habitus, fixed per patient. */
  thoraxWidth: number;
  thoraxHeight: number;
  apexY: number;
  fat: number;
  breast: number;
  domeHeight: number;
  ctr: number;
  /** Chronic findings that persist across studies. */
  cardiomegaly: number;
  pacemaker: boolean;
  nodule: { grade: number; side: Side; x: number; y: number };
  pleuralThickening: { grade: number; side: Side };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const clamp = (x: number, lo: number, hi: number) => (x < lo ? lo : x > hi ? hi : x);

/**
 * A finding's grade when present: subtle (uncertain territory) with probability `subtle`, else
 * clear, skewed towards mild.
 */
function grade(rng: Rng, subtle: number): number {
  if (rng.bernoulli(subtle)) return rng.uniform(SUBTLE_GRADE, POSITIVE_GRADE - 0.01);
  return POSITIVE_GRADE + (1 - POSITIVE_GRADE) * Math.pow(rng.next(), 1.3);
}

function samplePatient(rng: Rng, index: number): Patient {
  const female = rng.bernoulli(0.41);
  const age = Math.round(clamp(rng.normal(61, 17), 18, 90));
  const width = clamp(rng.normal(female ? 0.34 : 0.358, 0.014), 0.31, 0.4);
  const cmRisk = sigmoid(-1.9 + 0.045 * (age - 60));
  const cardiomegaly = rng.bernoulli(cmRisk) ? grade(rng, 0.22) : 0;
  return {
    index,
    id: `patient${String(index + 1).padStart(5, '0')}`,
    female,
    age,
    studies: 1 + rng.weighted([0.55, 0.3, 0.15]),
    thoraxWidth: width,
    thoraxHeight: clamp(rng.normal(female ? 0.62 : 0.645, 0.025), 0.56, 0.72),
    apexY: clamp(rng.normal(0.12, 0.01), 0.095, 0.15),
    fat: rng.uniform(0.02, 0.09),
    breast: female ? rng.uniform(0.3, 1) : 0,
    domeHeight: rng.uniform(0.05, 0.085),
    ctr: clamp(rng.normal(0.435, 0.025), 0.37, 0.49),
    cardiomegaly,
    pacemaker: rng.bernoulli(cardiomegaly > 0 ? 0.14 : 0.03),
    nodule: rng.bernoulli(0.05)
      ? { grade: grade(rng, 0.3), side: rng.pick(['right', 'left'] as const), x: rng.uniform(0.1, 0.9), y: rng.uniform(0.1, 0.75) }
      : { grade: 0, side: 'right', x: 0.5, y: 0.5 },
    pleuralThickening: rng.bernoulli(0.03) ? { grade: grade(rng, 0.3), side: rng.pick(['right', 'left'] as const) } : { grade: 0, side: 'left' },
  };
}

function sampleStudy(rng: Rng, pt: Patient, study: number, seed: number): { params: PhantomParams; infectious: boolean } {
  // Acuity: sicker patients are imaged AP (portable), carry lines and tubes, and have more findings.
  const acuity = rng.next();
  const ap = rng.bernoulli(0.3 + 0.5 * acuity);
  const cm = pt.cardiomegaly > 0 ? clamp(pt.cardiomegaly + rng.normal(0, 0.04), SUBTLE_GRADE, 1) : 0;
  const chf = cm >= POSITIVE_GRADE ? 1 : 0;
  const f: PhantomFindings = noFindings();
  f.cardiomegaly = cm;

  if (rng.bernoulli(0.15 + 0.25 * acuity + 0.2 * chf)) {
    const which = rng.weighted([0.33, 0.22, 0.45]); // right, left, both
    const g = grade(rng, 0.14);
    if (which !== 1) f.effusion.right = g;
    if (which !== 0) f.effusion.left = which === 2 ? clamp(g * rng.uniform(0.6, 1.2), SUBTLE_GRADE, 1) : g;
  }
  if (rng.bernoulli(0.03 + 0.1 * acuity + 0.3 * chf)) f.edema = grade(rng, 0.2);
  let infectious = false;
  if (rng.bernoulli(0.05 + 0.1 * acuity)) {
    f.consolidation = { grade: grade(rng, 0.35), side: rng.pick(['right', 'left'] as const), zone: rng.pick<Zone>(['upper', 'middle', 'lower', 'lower']) };
    infectious = rng.bernoulli(0.6);
  }
  if (rng.bernoulli(0.06 + 0.12 * acuity)) f.atelectasis = { grade: grade(rng, 0.45), side: rng.pick(['right', 'left'] as const) };
  if (rng.bernoulli(0.07)) f.pneumothorax = { grade: grade(rng, 0.15), side: rng.pick(['right', 'left'] as const) };
  if (rng.bernoulli(0.045)) f.mediastinum = grade(rng, 0.4);
  if (rng.bernoulli(0.035)) f.fracture = { grade: grade(rng, 0.3), side: rng.pick(['right', 'left'] as const), rib: rng.int(3, 8) };
  f.nodule = { ...pt.nodule };
  f.pleuralThickening = { ...pt.pleuralThickening };

  const ett = ap && rng.bernoulli(Math.max(0, acuity - 0.45) * 1.1);
  f.devices = {
    ett,
    ngTube: ett ? rng.bernoulli(0.7) : rng.bernoulli(0.03),
    centralLine: rng.bernoulli(0.05 + 0.35 * acuity) ? rng.pick<CentralLine>(['right-ij', 'right-ij', 'left-subclavian', 'right-subclavian']) : 'none',
    pacemaker: pt.pacemaker,
    ecgElectrodes: ap && rng.bernoulli(0.5) ? rng.int(1, 4) : 0,
  };

  const params: PhantomParams = {
    seed: mixSeed(seed, pt.index, study),
    view: ap ? 'AP' : 'PA',
    female: pt.female,
    thoraxWidth: pt.thoraxWidth,
    // Portable AP films are often taken in poorer inspiration.
    thoraxHeight: pt.thoraxHeight * (ap ? rng.uniform(0.88, 1) : rng.uniform(0.97, 1.03)),
    apexY: pt.apexY + rng.normal(0, 0.006),
    fat: pt.fat,
    breast: pt.breast,
    domeHeight: pt.domeHeight,
    ctr: pt.ctr,
    stomachBubble: rng.bernoulli(0.7),
    rotationDeg: clamp(rng.normal(0, ap ? 2.5 : 1.5), -6, 6),
    shiftX: rng.normal(0, 0.015),
    shiftY: rng.normal(0, 0.02),
    zoom: ap ? rng.uniform(0.97, 1.1) : rng.uniform(0.94, 1.05),
    level: rng.normal(1.62, 0.09),
    contrast: rng.uniform(1.7, 2.4),
    noise: ap ? rng.uniform(0.3, 0.8) : rng.uniform(0.15, 0.5),
    blur: ap ? rng.uniform(0.8, 1.6) : rng.uniform(0.55, 1.2),
    sharpen: rng.uniform(0.1, 0.5),
    arms: rng.next(),
    marker: rng.pick([0, 1, 2] as const),
    findings: f,
  };
  return { params, infectious };
}

/** How often an absent finding is mentioned as absent (an explicit 0) in train, per observation. */
const NEGATIVE_MENTION: Record<string, number> = {
  'Enlarged Cardiomediastinum': 0.1,
  Cardiomegaly: 0.12,
  'Lung Opacity': 0.05,
  'Lung Lesion': 0.02,
  Edema: 0.12,
  Consolidation: 0.15,
  Pneumonia: 0.05,
  Atelectasis: 0.02,
  Pneumothorax: 0.35,
  'Pleural Effusion': 0.35,
  'Pleural Other': 0.01,
  Fracture: 0.03,
  'Support Devices': 0.04,
};

function labelFromGrade(g: number, split: Split, column: string, rng: Rng): LabelValue {
  if (split !== 'train') return g >= READER_GRADE ? 1 : 0;
  if (g >= POSITIVE_GRADE) return 1;
  if (g >= SUBTLE_GRADE) return -1;
  return rng.bernoulli(NEGATIVE_MENTION[column] ?? 0.05) ? 0 : null;
}

/** Labels for all 14 columns from the finding grades. */
function makeLabels(p: PhantomParams, infectious: boolean, split: Split, rng: Rng): { labels: Record<string, LabelValue>; grades: Record<string, number> } {
  const f = p.findings;
  const dv = f.devices;
  const devices = dv.ett || dv.ngTube || dv.centralLine !== 'none' || dv.pacemaker ? 1 : 0;
  const grades: Record<string, number> = {
    'Enlarged Cardiomediastinum': f.mediastinum,
    Cardiomegaly: f.cardiomegaly,
    'Lung Lesion': f.nodule.grade,
    Edema: f.edema,
    Consolidation: f.consolidation.grade,
    Pneumonia: infectious ? f.consolidation.grade : 0,
    Atelectasis: f.atelectasis.grade,
    Pneumothorax: f.pneumothorax.grade,
    'Pleural Effusion': Math.max(f.effusion.right, f.effusion.left),
    'Pleural Other': f.pleuralThickening.grade,
    Fracture: f.fracture.grade,
    'Support Devices': devices,
  };
  grades['Lung Opacity'] = Math.max(f.edema, f.consolidation.grade, f.atelectasis.grade, f.nodule.grade);

  const labels: Record<string, LabelValue> = {};
  for (const col of CHEXPERT_OBSERVATIONS) {
    if (col === 'No Finding' || col === 'Lung Opacity') continue;
    labels[col] = labelFromGrade(grades[col] ?? 0, split, col, rng);
  }
  // Pneumonia is a clinical diagnosis: mostly hedged in reports even when the opacity is clear.
  if (split === 'train' && labels['Pneumonia'] === 1 && rng.bernoulli(0.6)) labels['Pneumonia'] = -1;
  // Lung Opacity is the parent of the parenchymal findings.
  const children = ['Lung Lesion', 'Edema', 'Consolidation', 'Atelectasis'].map((c) => labels[c]);
  if (children.includes(1)) labels['Lung Opacity'] = 1;
  else if (children.includes(-1)) labels['Lung Opacity'] = -1;
  else labels['Lung Opacity'] = split === 'train' ? (rng.bernoulli(NEGATIVE_MENTION['Lung Opacity']!) ? 0 : null) : 0;
  // Enlarged Cardiomediastinum is the parent of Cardiomegaly: readers of valid/test mark it too;
  // the train labeller sometimes hedges it.
  if (labels['Cardiomegaly'] === 1) {
    if (split !== 'train') labels['Enlarged Cardiomediastinum'] = 1;
    else if (labels['Enlarged Cardiomediastinum'] !== 1 && rng.bernoulli(0.3)) labels['Enlarged Cardiomediastinum'] = -1;
  }
  const pathology = CHEXPERT_OBSERVATIONS.filter((c) => c !== 'No Finding' && c !== 'Support Devices');
  const anything = pathology.some((c) => labels[c] === 1 || labels[c] === -1);
  const ordered: Record<string, LabelValue> = {};
  for (const col of CHEXPERT_OBSERVATIONS) {
    ordered[col] = col === 'No Finding' ? (anything ? (split === 'train' ? null : 0) : 1) : (labels[col] ?? null);
  }
  return { labels: ordered, grades };
}

/** Plans all images (metadata, labels, phantom parameters) without rendering. */
export function planDemoCases(opts: DemoOptions): DemoCase[] {
  const count = Math.floor(opts.count);
  if (!Number.isFinite(count) || count < 0) throw new Error(`demo count must be a non-negative number, got ${opts.count}`);
  const validFraction = opts.validFraction ?? 0.1;
  const testFraction = opts.testFraction ?? 0.1;
  if (validFraction < 0 || testFraction < 0 || validFraction + testFraction > 1) {
    throw new Error(`invalid split fractions: valid ${validFraction}, test ${testFraction}`);
  }
  const rng = createRng(mixSeed(opts.seed, 0xde70));
  const patients: Patient[] = [];
  let images = 0;
  while (images < count) {
    const pt = samplePatient(rng, patients.length);
    pt.studies = Math.min(pt.studies, count - images);
    patients.push(pt);
    images += pt.studies;
  }

  // Patient-level split: shuffled patients fill test, then valid, the rest is train.
  const splitRng = createRng(mixSeed(opts.seed, 0x5917));
  const order = patients.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = splitRng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const splitOf = new Array<Split>(patients.length).fill('train');
  const testTarget = Math.round(testFraction * count);
  const validTarget = Math.round(validFraction * count);
  let nTest = 0;
  let nValid = 0;
  for (const i of order) {
    const k = patients[i]!.studies;
    if (nTest < testTarget && nTest + k <= testTarget + 1) {
      splitOf[i] = 'test';
      nTest += k;
    } else if (nValid < validTarget && nValid + k <= validTarget + 1) {
      splitOf[i] = 'valid';
      nValid += k;
    }
  }

  const bySplit: Record<Split, DemoCase[]> = { train: [], valid: [], test: [] };
  for (const pt of patients) {
    const split = splitOf[pt.index]!;
    for (let s = 0; s < pt.studies; s++) {
      const { params, infectious } = sampleStudy(rng, pt, s, opts.seed);
      const { labels, grades } = makeLabels(params, infectious, split, rng);
      const study = `demo/${split}/${pt.id}/study${s + 1}`;
      const path = `${study}/view1_frontal.png`;
      bySplit[split].push({
        meta: {
          key: path,
          split,
          file: path,
          patient: pt.id,
          study,
          frontalLateral: 'Frontal',
          apPa: params.view,
          sex: pt.female ? 'Female' : 'Male',
          age: Math.min(90, pt.age + s),
          labels,
        },
        params,
        truth: { grades, infectious },
      });
    }
  }
  return [...bySplit.train, ...bySplit.valid, ...bySplit.test];
}
