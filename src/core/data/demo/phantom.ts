// Synthetic frontal chest radiograph phantoms for the demo dataset. NOT real patients.
//
// The image is built the way a radiograph is: an attenuation map A (line integrals, arbitrary
// units: ~0 outside the body, ~1 through aerated lung, ~2.5-3 through mediastinum and heart, bone
// and metal adding on top) is drawn in a canonical body frame, warped by the patient's pose (shift,
// rotation, zoom), blurred (focal spot, scatter), given quantum noise in the transmitted-photon
// domain (more noise where less gets through), and mapped to grey levels by a film-like sigmoid
// characteristic curve with mild unsharp masking, as digital chest radiographs are processed.
//
// Coordinates: normalised image coordinates X (left to right of the image) and Y (top to bottom),
// 0..1 across the output. The patient faces the viewer: the patient's right is on the image left.
// `u` is the distance from the midline, positive towards the side's lateral wall.

import { createRng, mixSeed, type Rng } from './prng.ts';

/** Patient side: the patient's right is drawn on the image left. */
export type Side = 'right' | 'left';
export type Zone = 'upper' | 'middle' | 'lower';
export type View = 'PA' | 'AP';
export type CentralLine = 'none' | 'right-ij' | 'left-subclavian' | 'right-subclavian';

/** Findings, each graded 0 (absent) .. 1 (severe). Grades drive the drawing only; labels are made from them elsewhere. */
export interface PhantomFindings {
  /** Pleural effusion per side: blunted costophrenic angle, meniscus, homogeneous basal opacity. */
  effusion: { right: number; left: number };
  /** Cardiomegaly: the true cardiothoracic ratio becomes 0.47 + 0.2 * grade (normal hearts use `PhantomParams.ctr`). */
  cardiomegaly: number;
  /** Widened upper mediastinum (enlarged cardiomediastinum). */
  mediastinum: number;
  /** Pulmonary edema: perihilar haze, indistinct vessels, Kerley B lines when marked. */
  edema: number;
  /** Patchy consolidation with air bronchograms in one zone of one lung. */
  consolidation: { grade: number; side: Side; zone: Zone };
  /** Plate-like basal atelectasis with some volume loss (raised hemidiaphragm). */
  atelectasis: { grade: number; side: Side };
  /** Pneumothorax: visceral pleural line, no lung markings beyond it, apical and lateral. */
  pneumothorax: { grade: number; side: Side };
  /** Solitary nodule / mass; x, y place it within the lung (0..1 lateral fraction, 0..1 apex to base). */
  nodule: { grade: number; side: Side; x: number; y: number };
  /** Pleural thickening along the lateral chest wall (the "Pleural Other" column). */
  pleuralThickening: { grade: number; side: Side };
  /** Rib fracture: a displaced break in a lateral rib arc. */
  fracture: { grade: number; side: Side; rib: number };
  /** Support devices. ECG electrodes are drawn as a nuisance and are not a finding. */
  devices: {
    ett: boolean;
    ngTube: boolean;
    centralLine: CentralLine;
    pacemaker: boolean;
    ecgElectrodes: number;
  };
}

/** Everything that determines one phantom; `renderPhantom` is a pure function of these and the size. */
export interface PhantomParams {
  /** Seeds the texture: vessel trees, lung mottle, consolidation blobs, noise. */
  seed: number;
  view: View;
  female: boolean;
  /** Rib cage half-width at the bases (image fraction, ~0.31-0.40). */
  thoraxWidth: number;
  /** Apex to costophrenic angle height (~0.55-0.72). */
  thoraxHeight: number;
  /** Lung apex level (~0.09-0.15). */
  apexY: number;
  /** Soft tissue outside the ribs (~0.02-0.10). */
  fat: number;
  /** Breast shadow size 0..1. */
  breast: number;
  /** Hemidiaphragm dome height above the costophrenic angles (~0.04-0.09). */
  domeHeight: number;
  /** Normal cardiothoracic ratio (~0.38-0.49), used when cardiomegaly is 0. */
  ctr: number;
  /** Gas bubble under the left hemidiaphragm. */
  stomachBubble: boolean;
  /** Pose: rotation in degrees, shift in image fractions, zoom (> 1 magnifies). */
  rotationDeg: number;
  shiftX: number;
  shiftY: number;
  zoom: number;
  /** Exposure: sigmoid centre in attenuation units (~1.4-2.0; higher = darker image). */
  level: number;
  /** Sigmoid slope (~1.6-2.8). */
  contrast: number;
  /** Quantum noise, relative (0..1; ~0.3 typical). */
  noise: number;
  /** Unsharp blur in pixels at 320 px (~0.5-1.6). */
  blur: number;
  /** Unsharp-mask strength of the display processing (0..0.8). */
  sharpen: number;
  /** Arms beside the chest: 0 held away (air beside the chest wall) .. 1 close to the body. */
  arms: number;
  /** A lead marker in an upper corner: 0 none, 1 left, 2 right. */
  marker: 0 | 1 | 2;
  findings: PhantomFindings;
}

/** No findings at all: an empty finding set to start from. */
export function noFindings(): PhantomFindings {
  return {
    effusion: { right: 0, left: 0 },
    cardiomegaly: 0,
    mediastinum: 0,
    edema: 0,
    consolidation: { grade: 0, side: 'right', zone: 'lower' },
    atelectasis: { grade: 0, side: 'left' },
    pneumothorax: { grade: 0, side: 'right' },
    nodule: { grade: 0, side: 'right', x: 0.5, y: 0.4 },
    pleuralThickening: { grade: 0, side: 'right' },
    fracture: { grade: 0, side: 'left', rib: 6 },
    devices: { ett: false, ngTube: false, centralLine: 'none', pacemaker: false, ecgElectrodes: 0 },
  };
}

/** A typical adult PA phantom with no findings (handy for tests and previews). */
export function normalPhantom(seed = 1): PhantomParams {
  return {
    seed,
    view: 'PA',
    female: false,
    thoraxWidth: 0.355,
    thoraxHeight: 0.64,
    apexY: 0.12,
    fat: 0.05,
    breast: 0,
    domeHeight: 0.065,
    ctr: 0.44,
    stomachBubble: true,
    rotationDeg: 0,
    shiftX: 0,
    shiftY: 0,
    zoom: 1,
    level: 1.6,
    contrast: 2.0,
    noise: 0.3,
    blur: 0.9,
    sharpen: 0.35,
    arms: 0.5,
    marker: 0,
    findings: noFindings(),
  };
}

/** Cardiothoracic ratio the phantom is drawn with (before AP magnification). */
export function trueCtr(p: PhantomParams): number {
  const g = p.findings.cardiomegaly;
  return g > 0 ? Math.max(p.ctr, 0.47 + 0.2 * g) : p.ctr;
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

/** A square float canvas in the canonical frame, covering X, Y in [-PAD, 1 + PAD]. */
const PAD = 0.1;
interface Canvas {
  n: number;
  /** Pixels per normalised unit. */
  sc: number;
  data: Float32Array;
}
const arrayPool = new Map<string, Float32Array>();
/** A scratch array reused between calls (not zeroed). */
function pooledArray(slot: string, len: number): Float32Array {
  const key = `${slot}:${len}`;
  let a = arrayPool.get(key);
  if (!a) {
    if (arrayPool.size > 16) arrayPool.clear();
    a = new Float32Array(len);
    arrayPool.set(key, a);
  }
  return a;
}

/** Canvases are reused between calls of the same size (rendering is synchronous). */
const canvasPool = new Map<string, Canvas>();
function makeCanvas(size: number, slot: string): Canvas {
  const key = `${slot}:${size}`;
  let c = canvasPool.get(key);
  if (!c) {
    if (canvasPool.size > 16) canvasPool.clear();
    // Slightly below the output resolution: the acquisition blur hides the difference.
    const n = Math.round(size * (1 + 2 * PAD) * 0.85);
    c = { n, sc: n / (1 + 2 * PAD), data: new Float32Array(n * n) };
    canvasPool.set(key, c);
  } else {
    c.data.fill(0);
  }
  return c;
}
/** Canonical X (or Y) of a pixel centre. */
function coord(c: Canvas, i: number): number {
  return (i + 0.5) / c.sc - PAD;
}
function toPx(c: Canvas, v: number): number {
  return (v + PAD) * c.sc - 0.5;
}

type Profile = 'tube' | 'bone' | 'flat' | 'soft';
/** Profile across a stroke or blob at squared relative distance q2 (0 centre, 1 edge). */
function profileValue(profile: Profile, q2: number): number {
  if (q2 >= 1) return 0;
  if (profile === 'tube') return Math.sqrt(1 - q2);
  if (profile === 'bone') {
    const outer = Math.sqrt(1 - q2);
    const iq2 = q2 / 0.5184; // inner (marrow) radius 0.72
    return outer - (iq2 < 1 ? 0.62 * Math.sqrt(1 - iq2) : 0);
  }
  if (profile === 'soft') {
    const w = 1 - q2;
    return w * w;
  }
  return q2 < 0.36 ? 1 : 1 - smoothstep(0.6, 1, Math.sqrt(q2));
}

/** Scratch buffer shared by strokes (relative distance, min over a polyline's segments). */
let scratch = new Float32Array(0);

/**
 * Adds a polyline stroke to the canvas: `pts` are x,y pairs (normalised), `radii` the half-width at
 * each vertex. Within one stroke overlapping segments do not add up (min distance).
 */
function stroke(
  c: Canvas,
  pts: readonly number[],
  radii: readonly number[] | number,
  amp: number,
  profile: Profile,
  mask?: Float32Array,
): void {
  const nv = pts.length >> 1;
  if (nv < 2) return;
  const r = (k: number) => (typeof radii === 'number' ? radii : (radii[k] ?? radii[radii.length - 1] ?? 0));
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < nv; k++) {
    const px = toPx(c, pts[2 * k]!);
    const py = toPx(c, pts[2 * k + 1]!);
    const rp = r(k) * c.sc + 1.5;
    x0 = Math.min(x0, px - rp);
    x1 = Math.max(x1, px + rp);
    y0 = Math.min(y0, py - rp);
    y1 = Math.max(y1, py + rp);
  }
  const n = c.n;
  const bx0 = Math.max(0, Math.floor(x0));
  const bx1 = Math.min(n - 1, Math.ceil(x1));
  const by0 = Math.max(0, Math.floor(y0));
  const by1 = Math.min(n - 1, Math.ceil(y1));
  if (bx0 > bx1 || by0 > by1) return;
  const bw = bx1 - bx0 + 1;
  const bh = by1 - by0 + 1;
  if (scratch.length < bw * bh) scratch = new Float32Array(Math.max(bw * bh, scratch.length * 2));
  scratch.fill(2, 0, bw * bh);
  for (let k = 0; k + 1 < nv; k++) {
    const ax = toPx(c, pts[2 * k]!);
    const ay = toPx(c, pts[2 * k + 1]!);
    const ex = toPx(c, pts[2 * k + 2]!);
    const ey = toPx(c, pts[2 * k + 3]!);
    const ra = Math.max(0.35, r(k) * c.sc);
    const re = Math.max(0.35, r(k + 1) * c.sc);
    const rm = Math.max(ra, re) + 1;
    const sx0 = Math.max(bx0, Math.floor(Math.min(ax, ex) - rm));
    const sx1 = Math.min(bx1, Math.ceil(Math.max(ax, ex) + rm));
    const sy0 = Math.max(by0, Math.floor(Math.min(ay, ey) - rm));
    const sy1 = Math.min(by1, Math.ceil(Math.max(ay, ey) + rm));
    const dx = ex - ax;
    const dy = ey - ay;
    const len2 = dx * dx + dy * dy || 1e-9;
    for (let y = sy0; y <= sy1; y++) {
      const row = (y - by0) * bw - bx0;
      for (let x = sx0; x <= sx1; x++) {
        let t = ((x - ax) * dx + (y - ay) * dy) / len2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const qx = x - ax - t * dx;
        const qy = y - ay - t * dy;
        const rt = ra + (re - ra) * t;
        const q2 = (qx * qx + qy * qy) / (rt * rt);
        if (q2 < scratch[row + x]!) scratch[row + x] = q2;
      }
    }
  }
  const d = c.data;
  for (let y = by0; y <= by1; y++) {
    const row = (y - by0) * bw - bx0;
    for (let x = bx0; x <= bx1; x++) {
      const q2 = scratch[row + x]!;
      if (q2 < 1) {
        const v = amp * profileValue(profile, q2);
        d[y * n + x]! += mask ? v * mask[y * n + x]! : v;
      }
    }
  }
}

/** Adds an (optionally rotated) ellipse with the given profile. */
function ellipse(
  c: Canvas,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  angle: number,
  amp: number,
  profile: Profile,
): void {
  const n = c.n;
  const rmax = Math.max(rx, ry);
  const x0 = Math.max(0, Math.floor(toPx(c, cx - rmax) - 1));
  const x1 = Math.min(n - 1, Math.ceil(toPx(c, cx + rmax) + 1));
  const y0 = Math.max(0, Math.floor(toPx(c, cy - rmax) - 1));
  const y1 = Math.min(n - 1, Math.ceil(toPx(c, cy + rmax) + 1));
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const d = c.data;
  for (let y = y0; y <= y1; y++) {
    const Y = coord(c, y) - cy;
    for (let x = x0; x <= x1; x++) {
      const X = coord(c, x) - cx;
      const a = (X * ca + Y * sa) / rx;
      const b = (-X * sa + Y * ca) / ry;
      const q2 = a * a + b * b;
      if (q2 < 1) d[y * n + x]! += amp * profileValue(profile, q2);
    }
  }
}

/** Smooth value noise on a coarse grid, bilinearly interpolated: returns a sampler over 0..1. */
function valueNoise(rng: Rng, cells: number): (x: number, y: number) => number {
  const g = cells + 2;
  const v = new Float32Array(g * g);
  for (let i = 0; i < v.length; i++) v[i] = rng.next() * 2 - 1;
  return (x: number, y: number) => {
    const fx = clamp01((x + PAD) / (1 + 2 * PAD)) * cells;
    const fy = clamp01((y + PAD) / (1 + 2 * PAD)) * cells;
    const ix = Math.floor(fx);
    const iy = Math.floor(fy);
    const tx = fx - ix;
    const ty = fy - iy;
    const sx = tx * tx * (3 - 2 * tx);
    const sy = ty * ty * (3 - 2 * ty);
    const a = v[iy * g + ix]!;
    const b = v[iy * g + ix + 1]!;
    const cc = v[(iy + 1) * g + ix]!;
    const dd = v[(iy + 1) * g + ix + 1]!;
    return a + (b - a) * sx + (cc - a) * sy + (a - b - cc + dd) * sx * sy;
  };
}

// ---------------------------------------------------------------------------------------------
// Thoracic geometry per side

interface LungGeom {
  /** +1 for the image right (patient left), -1 for the image left (patient right). */
  s: number;
  ya: number;
  yw: number;
  ycp: number;
  ydome: number;
  uc: number;
  aLat: number;
  aMed: number;
  uDome: number;
  /** Mediastinal half-width beside this lung as a function of Y. */
  med: (y: number) => number;
  /** Inward shift of the lateral boundary (pleural thickening) as a function of Y. */
  thick: (y: number) => number;
}

/** Signed distance (approx., positive inside) to the apical/lateral/medial outline, ignoring diaphragm and mediastinum. */
function outerDistance(g: LungGeom, u: number, y: number): number {
  if (y < g.yw) {
    const a = u >= g.uc ? g.aLat : g.aMed;
    const b = g.yw - g.ya;
    const nx = (u - g.uc) / a;
    const ny = (y - g.yw) / b;
    const f = nx * nx + ny * ny - 1;
    const gx = (2 * nx) / a;
    const gy = (2 * ny) / b;
    return -f / (Math.sqrt(gx * gx + gy * gy) + 1e-6) - g.thick(y);
  }
  const t = (y - g.yw) / (g.ycp - g.yw);
  const lat = g.uc + g.aLat * (1 + 0.03 * t) - u - g.thick(y);
  const med = u - (g.uc - g.aMed);
  return Math.min(lat, med);
}

/** Lateral and medial extents of the lung outline at a level (ignoring the mediastinum), or null above the apex. */
function extentsAt(g: LungGeom, y: number): [number, number] | null {
  if (y <= g.ya) return null;
  if (y < g.yw) {
    const b = g.yw - g.ya;
    const k = Math.sqrt(Math.max(0, 1 - ((g.yw - y) / b) ** 2));
    return [g.uc - g.aMed * k, g.uc + g.aLat * k - g.thick(y)];
  }
  const t = (y - g.yw) / (g.ycp - g.yw);
  return [g.uc - g.aMed, g.uc + g.aLat * (1 + 0.03 * t) - g.thick(y)];
}

/** Diaphragm level under the lung at distance u from the midline. */
function diaphragmY(g: LungGeom, u: number): number {
  const uLat = g.uc + g.aLat * 1.03;
  if (u >= g.uDome) {
    const t = (u - g.uDome) / (uLat - g.uDome);
    return g.ydome + (g.ycp - g.ydome) * t * t;
  }
  const t = (g.uDome - u) / g.uDome;
  return g.ydome + 0.55 * (g.ycp - g.ydome) * t * t;
}

/** Signed distance inside the lung (positive inside), including mediastinum and diaphragm. */
function lungDistance(g: LungGeom, u: number, y: number): number {
  const d1 = outerDistance(g, u, y);
  const d2 = u - g.med(y);
  const d3 = diaphragmY(g, u) - y;
  return Math.min(d1, d2, d3);
}

/** A point inside lung `g` at lateral fraction fx (0 medial .. 1 lateral) and vertical fraction fy (0 apex .. 1 base). */
function lungPoint(g: LungGeom, fx: number, fy: number): [number, number] {
  const y = g.ya + (g.ycp - g.ya) * (0.08 + 0.8 * fy);
  const e = extentsAt(g, y) ?? [g.uc, g.uc];
  const lo = Math.max(e[0], g.med(y) + 0.01);
  const u = lo + (e[1] - lo) * (0.1 + 0.8 * fx);
  return [0.5 + g.s * u, Math.min(y, diaphragmY(g, u) - 0.03)];
}

// ---------------------------------------------------------------------------------------------

/** Attenuation of the full soft-tissue thickness at the midline. */
const MU_SOFT = 2.35;
/** Attenuation removed by the full air depth of a lung. */
const MU_AIR = 1.2;

/** Row-constant quantities of one lung. */
interface LungRow {
  g: LungGeom;
  med: number;
  thick: number;
  /** Lung outline extents at this row, or lo > hi when none. */
  lo: number;
  hi: number;
  eff: number;
  yLat: number;
  yMed: number;
  effSoft: number;
  /** Pneumothorax on this side: collapsed-lung geometry and its row thickening. */
  ptx: LungGeom | null;
  ptxThick: number;
  atel: number;
}

/** outerDistance with the row's thickening given (avoids a closure call per pixel). */
function outerDist(g: LungGeom, u: number, y: number, thick: number): number {
  if (y < g.yw) {
    const a = u >= g.uc ? g.aLat : g.aMed;
    const b = g.yw - g.ya;
    const nx = (u - g.uc) / a;
    const ny = (y - g.yw) / b;
    const f = nx * nx + ny * ny - 1;
    const gx = (2 * nx) / a;
    const gy = (2 * ny) / b;
    return -f / (Math.sqrt(gx * gx + gy * gy) + 1e-6) - thick;
  }
  const t = (y - g.yw) / (g.ycp - g.yw);
  const lat = g.uc + g.aLat * (1 + 0.03 * t) - u - thick;
  const med = u - (g.uc - g.aMed);
  return lat < med ? lat : med;
}

/**
 * Renders a size x size grey frontal chest radiograph phantom (row-major, 0 black .. 255 white).
 * Deterministic: the same params and size give the same bytes.
 */
export function renderPhantom(params: PhantomParams, size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 16) throw new Error(`phantom size must be an integer >= 16, got ${size}`);
  const p = params;
  const f = p.findings;
  const rng = createRng(mixSeed(p.seed, 0x5eed));
  const isAP = p.view === 'AP';

  // --- Geometry ---------------------------------------------------------------------------
  const W = p.thoraxWidth;
  const ya = p.apexY;
  const ycp = Math.min(0.9, ya + p.thoraxHeight);
  const heartMag = isAP ? 1.12 : 1.0;
  const medWiden = f.mediastinum * 0.055 + (isAP ? 0.008 : 0);
  const upperMed = (y: number) => smoothstep(ya - 0.04, ya + 0.08, y) * (1 - smoothstep(ya + 0.28, ya + 0.38, y));
  const thickFn = (side: Side): ((y: number) => number) => {
    const g = f.pleuralThickening.side === side ? f.pleuralThickening.grade : 0;
    if (g <= 0) return () => 0;
    const th = 0.006 + 0.02 * g;
    const yc = ya + 0.5 * (ycp - ya);
    return (y: number) => th * Math.exp(-(((y - yc) / (0.25 * (ycp - ya))) ** 2));
  };
  const atelRaise = (side: Side) => (f.atelectasis.side === side ? f.atelectasis.grade * 0.035 : 0);
  const mkGeom = (side: Side): LungGeom => {
    const s = side === 'left' ? 1 : -1;
    const uc = 0.44 * W;
    const lift = side === 'right' ? 0.022 : 0; // the right hemidiaphragm sits higher (liver)
    const ycpS = ycp - lift * 0.4 - atelRaise(side) * 0.6;
    const yaS = ya + (side === 'left' ? 0.004 : 0);
    return {
      s,
      ya: yaS,
      yw: yaS + 0.4 * (ycpS - yaS),
      ycp: ycpS,
      ydome: ycpS - p.domeHeight - lift * 0.6 - atelRaise(side),
      uc,
      aLat: W - uc,
      aMed: uc - 0.03,
      uDome: 0.5 * W,
      med:
        side === 'left'
          ? (y) =>
              0.042 +
              0.032 * Math.exp(-(((y - (ya + 0.14)) / 0.035) ** 2)) +
              0.02 * Math.exp(-(((y - (ya + 0.22)) / 0.03) ** 2)) +
              medWiden * upperMed(y)
          : (y) => 0.045 + 0.012 * smoothstep(ya + 0.05, ya + 0.2, y) + medWiden * upperMed(y),
      thick: thickFn(side),
    };
  };
  const R = mkGeom('right');
  const L = mkGeom('left');

  // Heart: drawn row by row between a right border (right atrium, image left) and a left border
  // (left ventricle, image right), rising out of the mediastinum and resting on the diaphragm.
  // About 36 % of its width lies right of the midline; CTR = (eR + eL) / (2 W).
  const ctr = trueCtr(p);
  const wh = ctr * 2 * W * heartMag;
  const eRmax = 0.36 * wh;
  const eLmax = 0.64 * wh;
  const hBot = (L.ydome + R.ydome) / 2 + 0.03;
  const hH = W * (0.55 + 0.55 * ctr) * heartMag;
  const hTop = hBot - hH;

  // Pneumothorax: a collapsed copy of the lung outline on that side.
  const ptxG = f.pneumothorax.grade;
  const ptxBase = f.pneumothorax.side === 'left' ? L : R;
  const ptxGap = 0.01 + 0.1 * ptxG;
  const ptxGeom: LungGeom | null =
    ptxG > 0
      ? {
          ...ptxBase,
          ya: ptxBase.ya + ptxGap * 1.2,
          aLat: ptxBase.aLat - ptxGap,
          // In an upright patient the gap narrows towards the base.
          thick: (y) => ptxBase.thick(y) - 0.7 * ptxGap * smoothstep(ptxBase.yw, ptxBase.ycp, y),
        }
      : null;

  // --- Texture buffers -------------------------------------------------------------------------
  const A = makeCanvas(size, 'A');
  const n = A.n;
  const V = makeCanvas(size, 'V'); // vessels and other in-lung markings, masked by aeration later
  const hasCons = f.consolidation.grade > 0;
  const C = hasCons ? makeCanvas(size, 'C') : A; // consolidation fraction
  const B = hasCons ? makeCanvas(size, 'B') : A; // air bronchograms (visible only inside consolidation)

  // Vessel trees from each hilum: projected thickness ~ radius, tapering to the periphery.
  const edemaG = f.edema;
  const hilumY = ya + 0.25;
  const vesselTree = (g: LungGeom) => {
    const hx = 0.5 + g.s * (g.med(hilumY) + 0.025);
    const hy = hilumY + (g.s > 0 ? -0.012 : 0.004);
    const main = [-1.35, -0.95, -0.55, -0.15, 0.25, 0.6, 0.95, 1.3];
    const grow = (x: number, y: number, ang: number, len: number, r: number, depth: number) => {
      // Two slightly bent sub-segments per branch.
      const bend = rng.normal(0, 0.18);
      const mx = x + g.s * Math.cos(ang + bend) * len * 0.5;
      const my = y + Math.sin(ang + bend) * len * 0.5;
      const ex = mx + g.s * Math.cos(ang - bend) * len * 0.5;
      const ey = my + Math.sin(ang - bend) * len * 0.5;
      // Upper-lobe vessels are thinner (gravity); edema redistributes flow to the upper lobes.
      const rr = r * (ey > hy ? 1.1 : 0.85 + 0.4 * edemaG);
      const amp = 44 * rr * (1 + 0.25 * edemaG);
      stroke(V, [x, y, mx, my, ex, ey], [rr, rr * 0.92, rr * 0.85], amp, 'tube');
      if (depth === 0 || rr < 0.0011) return;
      if (lungDistance(g, Math.abs(ex - 0.5), ey) < 0.012) return;
      const spread = rng.uniform(0.25, 0.55);
      const major = rng.bernoulli(0.5) ? 1 : -1;
      grow(ex, ey, ang - major * spread * 0.4 + rng.normal(0, 0.1), len * rng.uniform(0.75, 0.9), r * 0.82, depth - 1);
      grow(ex, ey, ang + major * spread + rng.normal(0, 0.12), len * rng.uniform(0.6, 0.8), r * 0.66, depth - 1);
    };
    for (const a0 of main) {
      const oy = Math.sin(a0) * 0.025;
      grow(hx + g.s * 0.006, hy + oy, a0 + rng.normal(0, 0.1), rng.uniform(0.04, 0.055), rng.uniform(0.0042, 0.0055), 6);
    }
    // Hilar shadow (pulmonary arteries seen en face).
    ellipse(V, hx + g.s * 0.008, hy + 0.01, 0.024, 0.05, 0, 0.13 * (1 + edemaG), 'tube');
  };
  vesselTree(R);
  vesselTree(L);

  // Kerley B lines: short horizontal lines at the lateral bases in marked edema.
  if (edemaG > 0.45) {
    for (const g of [R, L]) {
      const k = Math.round(3 + 6 * edemaG);
      for (let i = 0; i < k; i++) {
        const y = g.ycp - rng.uniform(0.03, 0.15);
        const e = extentsAt(g, y);
        if (!e) continue;
        const u1 = e[1] - 0.002;
        const u0 = u1 - rng.uniform(0.015, 0.03);
        stroke(V, [0.5 + g.s * u0, y, 0.5 + g.s * u1, y + rng.normal(0, 0.002)], 0.0018, 0.3 * edemaG, 'tube');
      }
    }
  }

  // Consolidation: a cluster of soft blobs in one zone, with air bronchograms.
  if (hasCons) {
    const g = f.consolidation.side === 'left' ? L : R;
    const fy = f.consolidation.zone === 'upper' ? 0.15 : f.consolidation.zone === 'middle' ? 0.5 : 0.8;
    const [cx, cy] = lungPoint(g, rng.uniform(0.35, 0.75), fy);
    const gr = f.consolidation.grade;
    const blobs = Math.round(20 + 40 * gr);
    const spread = 0.025 + 0.045 * gr;
    for (let i = 0; i < blobs; i++) {
      const bx = cx + rng.normal(0, spread);
      const by = cy + rng.normal(0, spread * 0.8);
      const r = rng.uniform(0.015, 0.035) * (0.8 + 0.5 * gr);
      ellipse(C, bx, by, r, r * rng.uniform(0.7, 1.2), rng.uniform(0, 3), rng.uniform(0.25, 0.45), 'soft');
    }
    for (let i = 0; i < 3; i++) {
      const a = rng.uniform(0, Math.PI * 2);
      const l = spread * rng.uniform(0.8, 1.6);
      const ca = Math.cos(a) * l * 0.5;
      const sa = Math.sin(a) * l * 0.5;
      stroke(B, [cx - ca, cy - sa, cx + ca * 0.2 + sa * 0.2, cy + sa * 0.2 - ca * 0.2, cx + ca, cy + sa], [0.0035, 0.0028, 0.0015], 1, 'tube');
    }
  }

  const mottleLo = valueNoise(rng, 8);
  const mottleHi = valueNoise(rng, 30);

  // --- The attenuation map ---------------------------------------------------------------------
  const fat = p.fat;
  const bubX = 0.5 + 0.5 * W;
  const bubY = L.ydome + 0.05;
  const breast = p.breast;
  const edge = 1.0 / A.sc;
  const nodule = f.nodule;
  const ng = nodule.grade > 0 ? (nodule.side === 'left' ? L : R) : null;
  const [nx, ny] = ng ? lungPoint(ng, nodule.x, nodule.y) : [0, 0];
  const nr = 0.01 + 0.028 * nodule.grade;
  const carina = ya + 0.19;
  const consSide = f.consolidation.side === 'left' ? L : R;
  const atelSide = f.atelectasis.side === 'left' ? L : R;
  const torso = W + fat + 0.025;
  const shoulder = 0.56;
  const armR = 0.1;
  const armU = torso + armR * 0.75 + 0.1 * (1 - p.arms);
  const armMu = 1.5;
  const neck = 0.12 + 0.2 * fat;
  const bcx = 0.62 * W;
  const bcy = ycp - 0.1;
  const brx = (0.12 + 0.08 * breast) * (W / 0.355);
  const bry = 0.06 + 0.05 * breast;
  const lungTop = Math.min(R.ya, L.ya);
  const lungBottom = Math.max(R.ycp, L.ycp) + 0.01;
  const belowDome = Math.min(R.ydome, L.ydome) - 0.01;
  const rowR: LungRow = { g: R, med: 0, thick: 0, lo: 1, hi: 0, eff: f.effusion.right, yLat: 0, yMed: 0, effSoft: 0, ptx: ptxBase === R ? ptxGeom : null, ptxThick: 0, atel: atelSide === R ? f.atelectasis.grade : 0 };
  const rowL: LungRow = { g: L, med: 0, thick: 0, lo: 1, hi: 0, eff: f.effusion.left, yLat: 0, yMed: 0, effSoft: 0, ptx: ptxBase === L ? ptxGeom : null, ptxThick: 0, atel: atelSide === L ? f.atelectasis.grade : 0 };
  for (const rw of [rowR, rowL]) {
    const H = rw.g.ycp - rw.g.ya;
    rw.yLat = rw.g.ycp - (0.012 + 0.45 * rw.eff * H);
    rw.yMed = rw.yLat + 0.025 + 0.07 * rw.eff;
    rw.effSoft = 0.005 + 0.012 * rw.eff;
  }
  const ad = A.data;
  const vd = V.data;
  const cd = C.data;
  const bd = B.data;

  // The per-pixel pass lives in its own (smaller) function so that it optimises well.
  const paintRow = (j: number): void => {
    const Y = coord(A, j);
    // Body outline: neck, shoulders, chest wall.
    const tShoulder = smoothstep(ya - 0.1, ya - 0.01, Y);
    const tTorso = smoothstep(ya + 0.03, ya + 0.3, Y);
    const hb = neck + (shoulder - neck) * tShoulder + (torso - shoulder) * tTorso * tShoulder;
    const depthY = 0.78 + 0.22 * smoothstep(ya - 0.1, ya + 0.25, Y);
    const inLungRows = Y > lungTop && Y < lungBottom;
    if (inLungRows) {
      for (const rw of [rowR, rowL]) {
        rw.med = rw.g.med(Y);
        rw.thick = rw.g.thick(Y);
        const e = extentsAt(rw.g, Y);
        rw.lo = e ? Math.max(e[0], rw.med) : 1;
        rw.hi = e ? e[1] : 0;
        rw.ptxThick = rw.ptx ? rw.ptx.thick(Y) : 0;
      }
    }
    const th = (Y - hTop) / hH;
    const inHeartRows = th > 0 && th < 1.3;
    let heR = 0;
    let heL = 0;
    if (inHeartRows) {
      const tr = (th - 0.66) / 0.66;
      const tl = (th - 0.76) / 0.76;
      heR = 0.045 + (eRmax - 0.045) * Math.pow(Math.max(0, 1 - tr * tr), 0.75);
      // Left border: pulmonary trunk, a slight waist, then the left ventricle.
      heL = 0.045 + (eLmax - 0.045) * Math.max(0, 1 - tl * tl) + 0.012 * Math.exp(-(((th - 0.12) / 0.08) ** 2));
    }
    const row = j * n;
    for (let i = 0; i < n; i++) {
      const X = coord(A, i);
      const dxm = X - 0.5;
      const u = dxm >= 0 ? dxm : -dxm;
      const ub = u / hb;
      if (ub >= 1) {
        // Arms beside the chest.
        const qa = (u - armU) / armR;
        ad[row + i] = qa > -1 && qa < 1 && Y > ya - 0.05 ? armMu * Math.sqrt(1 - qa * qa) * smoothstep(ya - 0.05, ya + 0.1, Y) : 0;
        continue;
      }
      const ub4 = ub * ub * ub * ub;
      const T = Math.sqrt(1 - ub4 * ub4) * depthY;
      let a = MU_SOFT * T;

      // Heart.
      let hm = 0;
      if (inHeartRows) {
        const hd = dxm < 0 ? heR + dxm : heL - dxm;
        if (hd > -edge) {
          hm = smoothstep(-edge, edge, hd);
          a += 0.3 * Math.sqrt(clamp01(hd / 0.05)) * hm;
        }
      }
      // Abdomen below the hemidiaphragms: no air, liver and spleen.
      if (Y > belowDome) {
        const yd = diaphragmY(dxm >= 0 ? L : R, u < W ? u : W);
        if (Y > yd - edge) a += 0.7 * smoothstep(yd - edge, yd + 0.03, Y) * T;
      }

      // Lungs.
      if (inLungRows) {
        const rw = dxm >= 0 ? rowL : rowR;
        const g = rw.g;
        if (u > rw.lo - 0.01 && u < rw.hi + 0.01) {
          const d1 = outerDist(g, u, Y, rw.thick);
          const d2 = u - rw.med;
          const yd = diaphragmY(g, u);
          const d3 = yd - Y;
          const d = d1 < d2 ? (d1 < d3 ? d1 : d3) : d2 < d3 ? d2 : d3;
          if (d > -edge) {
            const mask = smoothstep(-edge, edge, d);
            let depth = 0.55 * Math.sqrt(clamp01(d / 0.07)) + 0.45 * clamp01(d / 0.012);
            depth *= 0.72 + 0.28 * smoothstep(g.ya, g.ya + 0.3, Y);
            // Lungs are thinner medially (mediastinum in front and behind).
            depth *= 0.8 + 0.2 * smoothstep(0.05, 0.16, u);
            depth *= mask;
            // Pleural fluid: a meniscus rising towards the lateral wall, homogeneous below.
            let fluid = 0;
            if (rw.eff > 0) {
              const pp = clamp01((u - rw.lo) / Math.max(1e-3, rw.hi - rw.lo));
              const pp2 = pp * pp;
              const yf = rw.yMed - (rw.yMed - rw.yLat) * pp2 * Math.sqrt(pp);
              fluid = smoothstep(yf - rw.effSoft, yf + rw.effSoft * 2, Y);
              // A thin lamella of fluid tracking up the lateral wall.
              const lam = 0.5 * rw.eff * (1 - smoothstep(0, 0.02, d1)) * smoothstep(rw.yLat - 0.1, rw.yLat, Y);
              if (lam > fluid) fluid = lam;
            }
            // Pneumothorax: no lung beyond the visceral pleural line.
            let ptx = 0;
            let pleuralLine = 0;
            if (rw.ptx) {
              const dc = outerDist(rw.ptx, u, Y, rw.ptxThick);
              ptx = 1 - smoothstep(-edge, edge, dc);
              const q = dc / 0.003;
              pleuralLine = Math.exp(-q * q);
            }
            // Edema: perihilar bat-wing haze; atelectasis: basal haze on its side.
            let haze = 0;
            if (edemaG > 0) {
              const hxs = (u - 0.09) / 0.14;
              const hys = (Y - hilumY - 0.04) / 0.18;
              haze = edemaG * 0.6 * Math.exp(-(hxs * hxs + hys * hys));
            }
            if (rw.atel > 0) haze += 0.4 * rw.atel * Math.exp(-d3 / 0.035);
            const cons = hasCons && g === consSide ? Math.min(1, cd[row + i]!) * 0.92 : 0;
            const aer = (1 - fluid) * (1 - cons) * (1 - (haze < 0.9 ? haze : 0.9));
            const mott = 0.1 * mottleLo(X, Y) + 0.07 * mottleHi(X, Y);
            const retro = 1 - 0.75 * hm;
            const collapse = rw.ptx ? (ptx > 0.5 ? 1.1 : 1 - 0.25 * ptxG) : 1;
            a -= MU_AIR * depth * (1 + mott) * retro * collapse * aer;
            // Markings: vessels in aerated lung only, none beyond a pneumothorax's pleural line.
            a += vd[row + i]! * mask * (1 - ptx) * (1 - fluid) * (1 - 0.5 * cons);
            if (cons > 0) a -= 0.35 * bd[row + i]! * cons * mask;
            a += 0.3 * pleuralLine * mask;
          }
        }
      }

      // Nodule.
      if (ng) {
        const dx = X - nx;
        const dy = Y - ny;
        const q2 = (dx * dx + dy * dy) / (nr * nr);
        if (q2 < 1) a += Math.min(0.5, nr * 12) * Math.sqrt(1 - q2);
      }
      // Breast shadows: soft-tissue domes over the lower zones with a sharper inferior edge.
      if (breast > 0) {
        const qx = (u - bcx) / brx;
        const qy = (Y - bcy) / (Y > bcy ? bry : bry * 2.4);
        const q2 = qx * qx + qy * qy;
        if (q2 < 1) a += 0.3 * breast * Math.sqrt(1 - q2);
      }
      // Stomach gas bubble under the left hemidiaphragm, with a flat fluid level.
      if (p.stomachBubble) {
        const qx = (X - bubX) / 0.05;
        const qy = (Y - bubY) / 0.032;
        const q2 = qx * qx + qy * qy;
        if (q2 < 1 && Y < bubY + 0.01) a -= 0.5 * Math.sqrt(1 - q2);
      }
      // Trachea air column.
      if (u < 0.018 && Y < carina) {
        const q = u / 0.016;
        if (q < 1) a -= 0.32 * Math.sqrt(1 - q * q) * smoothstep(ya - 0.2, ya - 0.05, Y) * (1 - smoothstep(carina - 0.03, carina, Y));
      }
      ad[row + i] = a;
    }
  };
  for (let j = 0; j < n; j++) paintRow(j);
  // Main bronchi.
  for (const s of [-1, 1]) {
    stroke(A, [0.5, carina - 0.02, 0.5 + s * 0.03, carina + 0.03, 0.5 + s * 0.055, carina + 0.07], [0.013, 0.011, 0.008], -0.22, 'tube');
  }

  // --- Bones --------------------------------------------------------------------------------
  // Spine: vertebral bodies with end plates and pedicles, faint through the mediastinum.
  const vert = 0.042;
  for (let yv = ya - 0.2 + rng.next() * 0.02; yv < 1.1; yv += vert * (1 + 0.25 * Math.max(0, yv - ya))) {
    const w = 0.026 + 0.012 * clamp01(yv);
    ellipse(A, 0.5, yv + vert / 2, w, vert * 0.45, 0, 0.16, 'flat');
    ellipse(A, 0.5 - w * 0.78, yv + vert * 0.38, 0.0075, 0.01, 0, 0.12, 'bone');
    ellipse(A, 0.5 + w * 0.78, yv + vert * 0.38, 0.0075, 0.01, 0, 0.12, 'bone');
    ellipse(A, 0.5, yv + vert * 0.55, 0.006, 0.012, 0, 0.08, 'tube');
  }
  // Ribs: posterior arcs per side, turning at the lateral wall into fainter anterior ribs.
  const ribCount = 10;
  for (const g of [R, L]) {
    const side: Side = g === L ? 'left' : 'right';
    const span = g.ycp - g.ya;
    const dy = (span + 0.06) / 9.0;
    for (let k = 0; k < ribCount; k++) {
      const y0 = g.ya - 0.045 + k * dy;
      const ext = extentsAt(g, Math.min(g.ycp, Math.max(g.ya + 0.03, y0 + 0.05)));
      const uEnd = (ext ? ext[1] : g.uc) + 0.014;
      const uStart = 0.035;
      const len = uEnd - uStart;
      const pts: number[] = [];
      const steps = 14;
      for (let t = 0; t <= steps; t++) {
        const tt = t / steps;
        const uu = uStart + len * tt;
        const yy = y0 - (k < 2 ? 0.05 : 0.028) * Math.sin(Math.PI * tt * 0.9) + (0.09 + 0.004 * k) * tt * tt * tt;
        pts.push(0.5 + g.s * uu, yy);
      }
      // Lateral arc turning medially and down into the anterior rib.
      const lx = pts[pts.length - 2]!;
      const ly = pts[pts.length - 1]!;
      const ant: number[] = [lx, ly];
      const uAntEnd = 0.1 + 0.01 * k;
      const antDrop = 0.1 + 0.006 * k;
      for (let t = 1; t <= 10; t++) {
        const tt = t / 10;
        const uu = uEnd + 0.012 * Math.sin(Math.PI * Math.min(1, tt * 1.6)) - (uEnd - uAntEnd) * tt * tt;
        const yy = ly + 0.03 * Math.sin(Math.PI * Math.min(1, tt * 1.5)) * 0.6 + antDrop * Math.pow(tt, 1.1);
        ant.push(0.5 + g.s * (uu < uAntEnd ? uAntEnd : uu), yy);
      }
      const rad = 0.0095 + 0.0006 * k;
      const frac = f.fracture.grade > 0 && f.fracture.side === side && f.fracture.rib === k;
      if (frac) {
        const cut = 2 * 10;
        const off = 0.004 + 0.01 * f.fracture.grade;
        const a1 = pts.slice(0, cut);
        const a2 = pts.slice(cut + 2).map((v, idx) => (idx % 2 === 1 ? v + off : v + g.s * 0.003));
        stroke(A, a1, rad, 0.5, 'bone');
        stroke(A, a2, rad, 0.5, 'bone');
        ant[0] = a2[a2.length - 2]!;
        ant[1] = a2[a2.length - 1]!;
      } else {
        stroke(A, pts, rad, 0.5, 'bone');
      }
      if (k < 8) stroke(A, ant.slice(2), [rad, rad, rad, rad, rad * 0.95, rad * 0.9, rad * 0.85, rad * 0.8, rad * 0.75], 0.28 * (1 - k / 10), 'bone');
    }
  }
  // Clavicles (projected higher in AP), humeral heads, scapulae (over the lungs in AP).
  const clavY = ya + 0.05 - (isAP ? 0.035 : 0);
  for (const s of [-1, 1]) {
    const pts: number[] = [];
    for (let t = 0; t <= 12; t++) {
      const tt = t / 12;
      const uu = 0.045 + 0.34 * tt;
      const yy = clavY + 0.01 - 0.055 * tt + 0.012 * Math.sin(Math.PI * 2 * tt) - (isAP ? 0 : 0.012 * tt);
      pts.push(0.5 + s * uu, yy);
    }
    stroke(A, pts, [0.016, 0.014, 0.013, 0.012, 0.012, 0.012, 0.012, 0.012, 0.013, 0.014, 0.015, 0.017, 0.02], 0.6, 'bone');
    ellipse(A, 0.5 + s * (W + fat + 0.11), ya - 0.03, 0.075, 0.08, 0, 0.6, 'tube');
    stroke(A, [0.5 + s * (W + fat + 0.12), ya, 0.5 + s * (armU + 0.005), 0.7], [0.04, 0.03], 0.6, 'bone');
    const scapU = isAP ? W - 0.08 : W + 0.015;
    stroke(A, [0.5 + s * (W + 0.07), ya - 0.04, 0.5 + s * scapU, ya + 0.12, 0.5 + s * (scapU + 0.025), ya + 0.32], [0.01, 0.008, 0.004], 0.3, 'bone');
    stroke(A, [0.5 + s * (W + 0.1), ya - 0.02, 0.5 + s * (scapU + 0.06), ya + 0.17, 0.5 + s * (scapU + 0.03), ya + 0.3], [0.045, 0.04, 0.012], 0.1, 'tube');
  }

  // --- Devices (metal and radiopaque plastic) --------------------------------------------------
  const dv = f.devices;
  if (dv.ett) {
    const tip = carina - rng.uniform(0.03, 0.07);
    stroke(A, [0.5 + 0.012, -0.1, 0.5 + 0.004, 0.05, 0.5, tip], 0.009, 0.15, 'tube');
    stroke(A, [0.5 + 0.007, -0.1, 0.5 + 0.0015, 0.05, 0.5 - 0.003, tip], 0.0022, 1.3, 'tube');
  }
  if (dv.ngTube) {
    const pts = [0.5 - 0.02, -0.1, 0.5 - 0.006, 0.2, 0.5 + 0.012, L.ydome - 0.05, bubX - 0.02, bubY + 0.02, bubX + 0.03, bubY + 0.06, bubX, bubY + 0.09];
    stroke(A, pts, 0.0025, 1.1, 'tube');
  }
  if (dv.centralLine !== 'none') {
    const tipY = carina + rng.uniform(0.0, 0.06);
    const tipX = 0.5 - 0.035;
    let pts: number[];
    if (dv.centralLine === 'right-ij') pts = [0.5 - 0.09, -0.1, 0.5 - 0.07, 0.05, 0.5 - 0.045, ya + 0.08, tipX, tipY];
    else if (dv.centralLine === 'right-subclavian') pts = [0.5 - 0.3, ya + 0.07, 0.5 - 0.18, ya + 0.06, 0.5 - 0.07, ya + 0.08, tipX, tipY];
    else pts = [0.5 + 0.3, ya + 0.08, 0.5 + 0.18, ya + 0.06, 0.5 + 0.02, ya + 0.09, 0.5 - 0.02, ya + 0.12, tipX, tipY];
    stroke(A, pts, 0.0022, 1.1, 'tube');
  }
  if (dv.pacemaker) {
    const gx = 0.5 + W * 0.7;
    const gy = ya + 0.1;
    ellipse(A, gx, gy, 0.04, 0.03, 0.2, 3.2, 'flat');
    ellipse(A, gx - 0.008, gy - 0.004, 0.02, 0.012, 0.2, -0.7, 'flat');
    const lead1 = [gx - 0.03, gy + 0.01, gx - 0.07, gy - 0.015, 0.5 + 0.04, ya + 0.06, 0.5 - 0.03, ya + 0.15, 0.5 - 0.5 * eRmax, hTop + 0.55 * hH, 0.5 + 0.1 * eLmax, hBot - 0.05, 0.5 + 0.55 * eLmax, hBot - 0.045];
    stroke(A, lead1, 0.003, 1.4, 'tube');
    const lead2 = [gx - 0.03, gy + 0.015, gx - 0.075, gy - 0.005, 0.5 + 0.03, ya + 0.07, 0.5 - 0.035, ya + 0.16, 0.5 - 0.6 * eRmax, hTop + 0.5 * hH, 0.5 - 0.5 * eRmax, hTop + 0.3 * hH];
    stroke(A, lead2, 0.003, 1.4, 'tube');
  }
  for (let k = 0; k < dv.ecgElectrodes; k++) {
    const ex = 0.5 + rng.uniform(-0.42, 0.42);
    const ey = rng.uniform(0.05, 0.85);
    ellipse(A, ex, ey, 0.014, 0.014, 0, 0.3, 'bone');
    ellipse(A, ex, ey, 0.004, 0.004, 0, 1.5, 'flat');
    const dir = ex < 0.5 ? -1 : 1;
    stroke(A, [ex, ey, ex + dir * rng.uniform(0.05, 0.15), ey + rng.uniform(-0.1, 0.1), ex + dir * 0.6, ey + rng.uniform(-0.2, 0.2)], 0.0018, 0.5, 'tube');
  }
  if (p.marker !== 0) {
    const mx = p.marker === 1 ? 0.08 : 0.92;
    ellipse(A, mx, 0.06, 0.018, 0.022, 0, 2.5, 'flat');
    ellipse(A, mx + 0.004, 0.062, 0.007, 0.012, 0, -2.0, 'flat');
  }

  return acquire(A, p, size);
}

/** Pose warp, blur, quantum noise and the characteristic curve: attenuation map to grey bytes. */
function acquire(A: Canvas, p: PhantomParams, size: number): Uint8Array {
  const n = A.n;
  const ad = A.data;
  // --- Acquisition: pose warp, blur, quantum noise, characteristic curve ------------------------
  const out = pooledArray('out', size * size);
  const th = (p.rotationDeg * Math.PI) / 180;
  const cr = Math.cos(th);
  const sr = Math.sin(th);
  const zm = p.zoom;
  for (let j = 0; j < size; j++) {
    const y = (j + 0.5) / size - 0.5 - p.shiftY;
    for (let i = 0; i < size; i++) {
      const x = (i + 0.5) / size - 0.5 - p.shiftX;
      let fx = toPx(A, (x * cr + y * sr) / zm + 0.5);
      let fy = toPx(A, (-x * sr + y * cr) / zm + 0.5);
      fx = fx < 0 ? 0 : fx > n - 1.001 ? n - 1.001 : fx;
      fy = fy < 0 ? 0 : fy > n - 1.001 ? n - 1.001 : fy;
      const ix = fx | 0;
      const iy = fy | 0;
      const tx = fx - ix;
      const ty = fy - iy;
      const k = iy * n + ix;
      const v0 = ad[k]! + (ad[k + 1]! - ad[k]!) * tx;
      const v1 = ad[k + n]! + (ad[k + n + 1]! - ad[k + n]!) * tx;
      out[j * size + i] = v0 + (v1 - v0) * ty;
    }
  }

  const px = size / 320;
  // Quantum noise: the transmitted intensity exp(-a) carries Poisson noise, so the noise in
  // attenuation grows as exp(a/2): denser regions are grainier. It is added before the blur, which
  // gives it the slight correlation of a real detector. Per-pixel noise comes from an inline
  // xorshift32 (locals only, so nothing is boxed) driving a table of normal quantiles.
  let xs = mixSeed(p.seed, 0x9015e) | 0 || 1;
  const table = gaussTable();
  const grain = grainTable();
  const qn = 0.045 * p.noise * Math.sqrt(px);
  const LUT_MIN = -1;
  const LUT_SCALE = (LUT_SIZE - 1) / 8;
  for (let k = 0; k < out.length; k++) {
    xs ^= xs << 13;
    xs ^= xs >>> 17;
    xs ^= xs << 5;
    const a = out[k]!;
    let li = ((a - LUT_MIN) * LUT_SCALE) | 0;
    li = li < 0 ? 0 : li >= LUT_SIZE ? LUT_SIZE - 1 : li;
    out[k] = a + qn * grain[li]! * table[(xs >>> 20) & 4095]!;
  }
  gaussianBlur(out, size, Math.max(0.5, p.blur) * px);

  // Film-like characteristic curve (a per-image lookup table), then unsharp masking.
  const curve = pooledArray('curve', LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) curve[i] = 1 / (1 + Math.exp(-p.contrast * (LUT_MIN + i / LUT_SCALE - p.level)));
  for (let k = 0; k < out.length; k++) {
    const f = (out[k]! - LUT_MIN) * LUT_SCALE;
    const fi = f < 0 ? 0 : f >= LUT_SIZE - 1 ? LUT_SIZE - 2 : f | 0;
    const t = f - fi;
    const c0 = curve[fi]!;
    out[k] = c0 + (curve[fi + 1]! - c0) * (t < 0 ? 0 : t > 1 ? 1 : t);
  }
  if (p.sharpen > 0) {
    const low = pooledArray('low', size * size);
    low.set(out);
    const r = Math.max(2, Math.round(size / 20));
    boxBlur(low, size, r);
    for (let k = 0; k < out.length; k++) out[k] = out[k]! + p.sharpen * (out[k]! - low[k]!);
  }
  const pixels = new Uint8Array(size * size);
  for (let k = 0; k < out.length; k++) {
    xs ^= xs << 13;
    xs ^= xs >>> 17;
    xs ^= xs << 5;
    const v = out[k]! * 255 + table[(xs >>> 20) & 4095]!;
    pixels[k] = v < 0 ? 0 : v > 255 ? 255 : (v + 0.5) | 0;
  }
  return pixels;
}

/** Lookup tables over attenuation -1..7. */
const LUT_SIZE = 2048;
let grainCache: Float32Array | null = null;
/** exp(a / 2) capped at a = 4: the relative quantum noise at attenuation a. */
function grainTable(): Float32Array {
  if (grainCache) return grainCache;
  const t = new Float32Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) t[i] = Math.exp(0.5 * Math.min(4, -1 + (i * 8) / (LUT_SIZE - 1)));
  grainCache = t;
  return t;
}

let gaussCache: Float32Array | null = null;
/** 4096 standard normal quantiles (a lookup table for fast noise). */
function gaussTable(): Float32Array {
  if (gaussCache) return gaussCache;
  const t = new Float32Array(4096);
  for (let i = 0; i < t.length; i++) t[i] = probit((i + 0.5) / t.length);
  gaussCache = t;
  return t;
}

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
function probit(pr: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const lo = 0.02425;
  if (pr < lo) {
    const q = Math.sqrt(-2 * Math.log(pr));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (pr > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - pr));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = pr - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/** In-place separable Gaussian blur (sigma in pixels; no-op below 0.2); edges clamped. */
function gaussianBlur(img: Float32Array, size: number, sigma: number): void {
  if (sigma < 0.2) return;
  const r = Math.max(1, Math.min(6, Math.ceil(sigma * 2.5)));
  const kern = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    kern[i + r] = v;
    sum += v;
  }
  for (let i = 0; i < kern.length; i++) kern[i] = kern[i]! / sum;
  // Horizontal pass, row by row through a padded line.
  const line = new Float32Array(size + 2 * r);
  for (let y = 0; y < size; y++) {
    const base = y * size;
    line.set(img.subarray(base, base + size), r);
    const first = img[base]!;
    const last = img[base + size - 1]!;
    for (let i = 0; i < r; i++) {
      line[i] = first;
      line[size + r + i] = last;
    }
    for (let i = 0; i < size; i++) {
      let acc = 0;
      for (let k = 0; k <= 2 * r; k++) acc += line[i + k]! * kern[k]!;
      img[base + i] = acc;
    }
  }
  // Vertical pass: whole rows at a time (contiguous memory).
  const src = pooledArray('gauss-src', size * size);
  src.set(img);
  for (let y = 0; y < size; y++) {
    const o = y * size;
    img.fill(0, o, o + size);
    for (let k = -r; k <= r; k++) {
      const yy = y + k < 0 ? 0 : y + k >= size ? size - 1 : y + k;
      const w = kern[k + r]!;
      const so = yy * size;
      for (let x = 0; x < size; x++) img[o + x]! += w * src[so + x]!;
    }
  }
}

/** In-place separable box blur of radius r (running sums, edges clamped). */
function boxBlur(img: Float32Array, size: number, r: number): void {
  const w = 2 * r + 1;
  const line = new Float32Array(size + 2 * r + 1);
  for (let y = 0; y < size; y++) {
    const base = y * size;
    line.set(img.subarray(base, base + size), r);
    const first = img[base]!;
    const last = img[base + size - 1]!;
    for (let i = 0; i < r; i++) line[i] = first;
    for (let i = size + r; i < line.length; i++) line[i] = last;
    let acc = 0;
    for (let k = 0; k < w; k++) acc += line[k]!;
    for (let i = 0; i < size; i++) {
      img[base + i] = acc / w;
      acc += line[i + w]! - line[i]!;
    }
  }
  // Vertical: a running sum per column, updated a row at a time.
  const src = pooledArray('box-src', size * size);
  src.set(img);
  const acc = pooledArray('box-acc', size);
  acc.fill(0);
  const rowAt = (y: number) => (y < 0 ? 0 : y >= size ? size - 1 : y) * size;
  for (let k = -r; k <= r; k++) {
    const so = rowAt(k);
    for (let x = 0; x < size; x++) acc[x]! += src[so + x]!;
  }
  const inv = 1 / w;
  for (let y = 0; y < size; y++) {
    const o = y * size;
    for (let x = 0; x < size; x++) img[o + x] = acc[x]! * inv;
    const add = rowAt(y + r + 1);
    const sub = rowAt(y - r);
    for (let x = 0; x < size; x++) acc[x]! += src[add + x]! - src[sub + x]!;
  }
}
