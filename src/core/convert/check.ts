// Strict key checking: what torch's load_state_dict(strict=True) would say, said before anything is
// stored, with the mismatches named. Also tells which architecture a set of keys is, so a refusal
// can say "this is a densenet121 checkpoint but resnet18 was expected".
import { ARCH_INFO, backboneKeys, expectedKeys, isArch, type Arch, type HeadSpec, type KeySpec } from './arch.ts';
import { ConvertError, type ConvertErrorCode } from './errors.ts';

/** What checkKeys needs of a value: its shape, and its dtype when known. */
export interface ShapeLike {
  readonly shape: readonly number[];
  readonly dtype?: string;
}

export interface WrongShape {
  key: string;
  expected: number[];
  got: number[];
}

export interface KeyCheck {
  missing: string[];
  unexpected: string[];
  wrongShape: WrongShape[];
  /** keys of the right shape but the wrong dtype ('num_batches_tracked is f32, i64 expected') */
  wrongDtype: { key: string; expected: string; got: string }[];
  /** the head the keys were checked against */
  head: HeadSpec;
  /** what the keys look like, when they are not `arch`'s ('densenet121', 'resnet34', ...) */
  looksLike: string | null;
  ok: boolean;
  /** null when ok; else one paragraph naming the mismatches */
  message: string | null;
  /** null when ok; else what kind of mismatch leads the message */
  code: ConvertErrorCode | null;
}

export interface CheckOptions {
  /** the expected number of outputs of a linear head (the classifier) */
  numClasses?: number;
  /** the expected head; left out, whatever well-formed head the keys hold is accepted (or none) */
  head?: HeadSpec;
  /** how many keys a message names per list (default 5) */
  listLimit?: number;
}

const HEAD_RE = /^(fc|classifier|last_linear)(\.|$)/;

/** The head a set of torchvision-named keys holds, read from names and shapes. Mnasnet's
 *  torchvision head is 'classifier.1' (after a Dropout); MoCo and the pipeline use 'classifier'. */
export function readHead(entries: ReadonlyMap<string, ShapeLike>, arch: Arch): HeadSpec {
  const h = ARCH_INFO[arch].headName;
  const w = (k: string) => entries.get(k)?.shape;
  const mlp0 = w(`${h}.0.weight`);
  const mlp2 = w(`${h}.2.weight`);
  if (mlp0 && mlp2 && mlp0.length === 2 && mlp2.length === 2) return { kind: 'mlp', dim: mlp2[0]!, hidden: mlp0[0]! };
  for (const prefix of [h, `${h}.1`]) {
    const lw = w(`${prefix}.weight`);
    if (lw && lw.length === 2) return { kind: 'linear', outputs: lw[0]!, prefix };
  }
  return { kind: 'none' };
}

function counts(names: Iterable<string>, re: RegExp): Map<number, Set<string>> {
  const m = new Map<number, Set<string>>();
  for (const n of names) {
    const x = re.exec(n);
    if (!x) continue;
    const group = Number(x[1]);
    if (!m.has(group)) m.set(group, new Set());
    m.get(group)!.add(x[2]!);
  }
  return m;
}

/** Which architecture a set of torchvision-named keys has, by structure (block counts, bottleneck
 *  convs, widths), whether or not the app supports it: 'resnet18', 'resnet34', 'densenet169', ...
 *  null when it is none of the families the app knows. */
export function inferArch(entries: ReadonlyMap<string, ShapeLike>): string | null {
  const names = [...entries.keys()];
  if (names.some((n) => n.startsWith('features.denseblock'))) {
    const blocks = counts(names, /^features\.denseblock(\d+)\.denselayer(\d+)\./);
    const sig = [1, 2, 3, 4].map((b) => blocks.get(b)?.size ?? 0).join(',');
    const growth = entries.get('features.denseblock1.denselayer1.conv2.weight')?.shape[0];
    const known: Record<string, string> = { '6,12,24,16': 'densenet121', '6,12,32,32': 'densenet169', '6,12,48,32': 'densenet201', '6,12,36,24': 'densenet161' };
    const name = known[sig];
    if (name === 'densenet161' || growth === 48) return 'densenet161';
    return name ?? `a densenet with [${sig}] dense layers`;
  }
  if (names.some((n) => /^layers\.\d+\./.test(n))) {
    const stem = entries.get('layers.0.weight')?.shape[0];
    const alpha: Record<number, string> = { 16: 'mnasnet0_5', 24: 'mnasnet0_75', 32: 'mnasnet1_0', 40: 'mnasnet1_3' };
    return stem === undefined ? 'mnasnet1_0' : (alpha[stem] ?? `an mnasnet with a ${stem}-channel stem`);
  }
  if (names.some((n) => /^layer[1-4]\./.test(n))) {
    const blocks = counts(names, /^layer(\d)\.(\d+)\./);
    const sig = [1, 2, 3, 4].map((l) => blocks.get(l)?.size ?? 0).join(',');
    const bottleneck = names.some((n) => /^layer\d\.\d+\.conv3\./.test(n));
    const known: Record<string, string> = bottleneck
      ? { '3,4,6,3': 'resnet50', '3,4,23,3': 'resnet101', '3,8,36,3': 'resnet152' }
      : { '2,2,2,2': 'resnet18', '3,4,6,3': 'resnet34' };
    const name = known[sig];
    if (name === 'resnet50' && (entries.get('layer1.0.conv2.weight')?.shape[0] ?? 64) !== 64) return 'wide_resnet50_2';
    return name ?? `a resnet with [${sig}] ${bottleneck ? 'bottleneck' : 'basic'} blocks`;
  }
  return null;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function list(names: readonly string[], limit: number): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown} (and ${names.length - limit} more)` : shown;
}

/** Compares a state dict (torchvision names, no 'module.' prefix) with what `arch` expects. */
export function checkKeys(arch: Arch, entries: ReadonlyMap<string, ShapeLike>, options: CheckOptions = {}): KeyCheck {
  const limit = options.listLimit ?? 5;
  const found = readHead(entries, arch);
  let head: HeadSpec;
  if (options.head) head = options.head;
  else if (options.numClasses !== undefined) head = { kind: 'linear', outputs: options.numClasses, prefix: found.kind === 'linear' ? found.prefix : undefined };
  else head = found;
  if (head.kind === 'linear' && head.prefix === undefined && found.kind === 'linear') head = { ...head, prefix: found.prefix };
  if (head.kind === 'mlp' && head.hidden === undefined && found.kind === 'mlp') head = { ...head, hidden: found.hidden };
  const expected = expectedKeys(arch, head);

  const missing: string[] = [];
  const wrongShape: WrongShape[] = [];
  const wrongDtype: KeyCheck['wrongDtype'] = [];
  for (const [k, spec] of expected) {
    const t = entries.get(k);
    if (!t) missing.push(k);
    else if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      wrongShape.push({ key: k, expected: [...spec.shape], got: [...t.shape] });
    } else if (t.dtype !== undefined && !dtypeFits(spec, t.dtype)) wrongDtype.push({ key: k, expected: spec.dtype, got: t.dtype });
  }
  const unexpected = [...entries.keys()].filter((k) => !expected.has(k));

  const ok = missing.length === 0 && unexpected.length === 0 && wrongShape.length === 0 && wrongDtype.length === 0;
  let looksLike: string | null = null;
  let message: string | null = null;
  let code: ConvertErrorCode | null = null;
  if (!ok) {
    const guess = inferArch(entries);
    looksLike = guess === arch ? null : guess;
    const parts: string[] = [];
    const headMsg = headMismatch(arch, head, found, entries);
    if (looksLike !== null && missing.length > 0) {
      parts.push(`this is ${/^(a|an) /.test(looksLike) ? looksLike : `a ${looksLike}`} checkpoint but ${arch} was expected`);
      code = isArch(looksLike) ? 'wrong_arch' : 'unknown_arch';
    } else if (guess === null && missing.length >= backboneKeys(arch).size) {
      parts.push(`none of ${arch}'s keys are there: this is not a ${arch} state dict`);
      code = 'unknown_arch';
    }
    if (headMsg) {
      parts.push(headMsg);
      code ??= 'head_mismatch';
    }
    code ??= 'key_mismatch';
    if (missing.length) parts.push(`${missing.length} missing: ${list(missing, limit)}`);
    if (unexpected.length) parts.push(`${unexpected.length} unexpected: ${list(unexpected, limit)}`);
    if (wrongShape.length) {
      parts.push(
        `${wrongShape.length} wrongly shaped: ${list(
          wrongShape.map((w) => `${w.key} is ${shapeText(w.got)}, ${shapeText(w.expected)} expected`),
          limit,
        )}`,
      );
    }
    if (wrongDtype.length) parts.push(`${wrongDtype.length} of the wrong dtype: ${list(wrongDtype.map((w) => `${w.key} is ${w.got}, ${w.expected} expected`), limit)}`);
    message = parts.join('; ');
  }
  return { missing, unexpected, wrongShape, wrongDtype, head, looksLike, ok, message, code };
}

function dtypeFits(spec: KeySpec, dtype: string): boolean {
  // weights may come as any float type (f16 checkpoints exist); counters must be integers
  return spec.dtype === 'i64' ? dtype === 'i64' : dtype === 'f32' || dtype === 'f64' || dtype === 'f16' || dtype === 'bf16';
}

function headMismatch(arch: Arch, want: HeadSpec, found: HeadSpec, entries: ReadonlyMap<string, ShapeLike>): string | null {
  const name = ARCH_INFO[arch].headName === 'fc' ? 'the classifier (fc)' : 'the classifier';
  if (want.kind === 'linear' && found.kind === 'linear' && want.outputs !== found.outputs) return `${name} has ${found.outputs} outputs, ${want.outputs} expected`;
  if (want.kind === 'mlp' && found.kind === 'mlp' && want.dim !== found.dim) return `the MLP head projects to ${found.dim} dimensions, ${want.dim} expected`;
  if (want.kind !== found.kind && (want.kind !== 'none' || found.kind !== 'none')) {
    const what = (h: HeadSpec) =>
      h.kind === 'none' ? 'no head' : h.kind === 'linear' ? `a linear head with ${h.outputs} outputs` : `an MLP head (${h.hidden ?? '?'} -> ${h.dim})`;
    const stray = [...entries.keys()].some((k) => HEAD_RE.test(k));
    if (want.kind === 'none' && !stray) return null;
    return `${what(found)} where ${what(want)} was expected`;
  }
  return null;
}

/** checkKeys, throwing a ConvertError with its message when the keys do not fit. */
export function assertKeys(arch: Arch, entries: ReadonlyMap<string, ShapeLike>, options: CheckOptions & { what?: string } = {}): KeyCheck {
  const r = checkKeys(arch, entries, options);
  if (!r.ok) throw new ConvertError(r.code!, `${options.what ? `${options.what}: ` : ''}${r.message}`);
  return r;
}
