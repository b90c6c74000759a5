// Small helpers for writing bash: quoting, numbers as Python's argparse reads them, and one command per
// line group with `\` continuations, the way MoCo-CXR's own scripts are laid out.

export class HandoffError extends Error {
  override name = 'HandoffError';
}

/** A word for bash: as is when it is plainly safe, else single-quoted. */
export function shq(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A shell variable, double-quoted so that paths with spaces survive: "$NAME". */
export const shv = (name: string): string => `"$${name}"`;

/** A value for an `int` argparse option; refuses anything Python's int() would not take. */
export function intArg(v: number, what: string): string {
  if (!Number.isSafeInteger(v)) throw new HandoffError(`${what} must be a whole number for the original's int option (got ${v})`);
  return String(v);
}

/** A value for a `float` argparse option: JavaScript's shortest round-trip form, which float() reads back exactly. */
export function floatArg(v: number, what: string): string {
  if (!Number.isFinite(v)) throw new HandoffError(`${what} must be a finite number (got ${v})`);
  return String(v);
}

/** One option: a flag alone (store_true) or a flag and its already-quoted value(s). */
export type ShellArg = readonly [flag: string, ...values: string[]];

/** `head` then each option on its own continued line. */
export function renderCommand(head: string, args: readonly ShellArg[], indent = '    '): string {
  const lines = [head, ...args.map((a) => indent + a.join(' '))];
  return lines.join(' \\\n');
}

/** A `# ...` comment block, each line wrapped at about 110 characters. */
export function commentBlock(text: string, prefix = '# '): string {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    // a list item's continuation lines are indented under its text
    const hang = para.startsWith('- ') ? '  ' : '';
    let line = '';
    for (const word of para.split(' ')) {
      if (line && (prefix + line + ' ' + word).length > 110) {
        out.push(prefix + line);
        line = hang + word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push((prefix + line).trimEnd());
  }
  return out.join('\n');
}

/** A name safe for a folder or file: letters, digits, `.`, `_`, `-`; anything else becomes `-`. */
export function slug(s: string, fallback = 'run'): string {
  const t = s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return t === '' ? fallback : t.slice(0, 80);
}
