// Path helpers for picked folders and a resolver from CSV paths to the picked files.
// FolderFiles keys are `/`-separated and start with the picked folder's own name, as
// `webkitRelativePath` does (`parent/CheXpert-v1.0-small/train.csv`).
import type { FileLike, FolderFiles } from './types.ts';

const NEEDS_NORMALIZING = /\\|\/\/|^\/|^\.\/|\/\.\/|\/$|^\.$|\/\.$/;

/** `\` to `/`, no leading `./` or `/`, no empty or `.` segments; `..` segments are kept. */
export function normalizePath(p: string): string {
  if (!NEEDS_NORMALIZING.test(p)) return p;
  const parts = p.replace(/\\/g, '/').split('/');
  return parts.filter((s) => s !== '' && s !== '.').join('/');
}

export function dirname(p: string): string {
  const k = p.lastIndexOf('/');
  return k < 0 ? '' : p.slice(0, k);
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Lower-case extension without the dot (`png`), or `''`. */
export function extname(p: string): string {
  const b = basename(p);
  const k = b.lastIndexOf('.');
  return k <= 0 ? '' : b.slice(k + 1).toLowerCase();
}

/** File name without its extension. */
export function stem(p: string): string {
  const b = basename(p);
  const k = b.lastIndexOf('.');
  return k <= 0 ? b : b.slice(0, k);
}

export function joinPath(...parts: string[]): string {
  return normalizePath(parts.filter((s) => s !== '').join('/'));
}

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg'] as const;

/** PNG or JPEG by extension (case-insensitive). */
export function isImagePath(p: string): boolean {
  const e = extname(p);
  return e === 'png' || e === 'jpg' || e === 'jpeg';
}

/** The picked folder's name: the first segment shared by every key, or `''` when they differ. */
export function pickedFolderName(files: FolderFiles): string {
  let name: string | null = null;
  for (const k of files.keys()) {
    const slash = k.indexOf('/');
    const first = slash < 0 ? '' : k.slice(0, slash);
    if (name === null) name = first;
    else if (name !== first) return '';
  }
  return name ?? '';
}

/** Path depth (number of `/`). */
export function depth(p: string): number {
  let d = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) d++;
  return d;
}

/** `dir/p` for a normalised `p` (`p` when `dir` is empty). */
function under(dir: string, p: string): string {
  return dir === '' ? p : dir + '/' + p;
}

/**
 * A trie over path segments read from the end. A node with one file keeps it in `one` and has no
 * children until a second file arrives (then both move one level down), so the index stays about
 * as small as the number of files.
 */
const RULES = 5;

interface SuffixNode {
  children: Map<string, SuffixNode> | undefined;
  /** Number of files whose path ends with the segments leading here. */
  count: number;
  /** The first such file (the only one when count is 1). */
  one: string;
}

function child(node: SuffixNode, seg: string): SuffixNode {
  node.children ??= new Map();
  let next = node.children.get(seg);
  if (!next) {
    next = { children: undefined, count: 0, one: '' };
    node.children.set(seg, next);
  }
  return next;
}

function insertSuffix(root: SuffixNode, key: string): void {
  const segs = key.split('/');
  let node = root;
  for (let d = 0; ; d++) {
    node.count++;
    if (node.count === 1) {
      node.one = key;
      return;
    }
    if (node.count === 2) {
      // Move the file that sat here alone one level down.
      const os = node.one.split('/');
      const oi = os.length - 1 - d;
      if (oi >= 0) {
        const c = child(node, os[oi]!);
        c.count = 1;
        c.one = node.one;
      }
    }
    const i = segs.length - 1 - d;
    if (i < 0) return;
    node = child(node, segs[i]!);
  }
}

/** The only key that is `p` or ends with `/p`, or null when none or several. */
function uniqueEndingWith(root: SuffixNode, p: string): string | null {
  const segs = p.split('/');
  let node = root;
  for (let s = segs.length - 1; s >= 0; s--) {
    const next = node.children?.get(segs[s]!);
    if (!next) return null;
    node = next;
    if (node.count === 1) {
      const k = node.one;
      return k === p || k.endsWith('/' + p) ? k : null;
    }
  }
  return null;
}

/**
 * Finds the picked file a CSV path refers to. Tries, in order: the path relative to the CSV's
 * folder; relative to the CSV's folder minus the path's first segment (CheXpert paths start with
 * the dataset folder's name, `CheXpert-v1.0-small/train/...`, and the CSV sits in that folder);
 * relative to the CSV's parent folder; as a key; under the picked folder; and finally the one file
 * whose path ends with the longest run of the CSV path's trailing segments, when that file is unique.
 */
export class PathResolver {
  readonly #files: FolderFiles;
  readonly #root: string;
  #suffixRoot: SuffixNode | undefined;
  /** Which candidate rule worked last, tried first next time. */
  #lastRule = -1;

  constructor(files: FolderFiles) {
    this.#files = files;
    this.#root = pickedFolderName(files);
  }

  get(key: string): FileLike | undefined {
    return this.#files.get(key);
  }

  /** The FolderFiles key for `csvPath` written in the CSV at key `csvKey`, or null if none or ambiguous. */
  resolve(csvPath: string, csvKey: string): string | null {
    const p = normalizePath(csvPath);
    if (p === '') return null;
    const csvDir = dirname(csvKey);
    if (this.#lastRule >= 0) {
      const c = this.#candidate(this.#lastRule, p, csvDir);
      if (c !== undefined && this.#files.has(c)) return c;
    }
    for (let r = 0; r < RULES; r++) {
      if (r === this.#lastRule) continue;
      const c = this.#candidate(r, p, csvDir);
      if (c !== undefined && this.#files.has(c)) {
        this.#lastRule = r;
        return c;
      }
    }
    return this.#suffixMatch(p);
  }

  #candidate(rule: number, p: string, csvDir: string): string | undefined {
    switch (rule) {
      case 0:
        return under(csvDir, p);
      case 1: {
        const slash = p.indexOf('/');
        return slash < 0 ? undefined : under(csvDir, p.slice(slash + 1));
      }
      case 2:
        return csvDir === '' ? undefined : under(dirname(csvDir), p);
      case 3:
        return p;
      default:
        return this.#root === '' ? undefined : under(this.#root, p);
    }
  }

  #suffixMatch(p: string): string | null {
    const root = (this.#suffixRoot ??= this.#buildSuffixIndex());
    const whole = uniqueEndingWith(root, p);
    if (whole !== null) return whole;
    // The dataset folder may have been renamed: match without the path's first segment.
    const slash = p.indexOf('/');
    return slash < 0 ? null : uniqueEndingWith(root, p.slice(slash + 1));
  }

  #buildSuffixIndex(): SuffixNode {
    const root: SuffixNode = { children: undefined, count: 0, one: '' };
    for (const key of this.#files.keys()) insertSuffix(root, key);
    return root;
  }
}
