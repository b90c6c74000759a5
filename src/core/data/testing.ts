// Test helpers: FileLike objects from strings, bytes or files on disk, and FolderFiles maps built
// the way a browser builds them (keys start with the picked folder's name). Node-only parts use
// dynamic imports so that importing this module does not pull node:fs into a bundle.
import type { FileLike, FolderFiles } from './types.ts';

/** A FileLike over a string (UTF-8) or bytes. */
export function fileLike(data: string | Uint8Array): FileLike {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    size: bytes.byteLength,
    text: async () => (typeof data === 'string' ? data : new TextDecoder().decode(bytes)),
    arrayBuffer: async () => bytes.slice().buffer as ArrayBuffer,
  };
}

/** FolderFiles from `{ 'picked/sub/file.csv': 'text', ... }`. */
export function folderFiles(entries: Record<string, string | Uint8Array>): FolderFiles {
  const m: FolderFiles = new Map();
  for (const [k, v] of Object.entries(entries)) m.set(k, fileLike(v));
  return m;
}

/** A FileLike that reads a file from disk when asked (size known up front). */
export async function diskFileLike(path: string): Promise<FileLike> {
  const fs = await import('node:fs/promises');
  const st = await fs.stat(path);
  return {
    size: st.size,
    text: () => fs.readFile(path, 'utf8'),
    arrayBuffer: async () => {
      const b = await fs.readFile(path);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
}

/**
 * FolderFiles for a folder on disk as if the user picked it: keys are `<folder name>/<relative path>`
 * (as `webkitRelativePath`), `/`-separated. Files are read lazily.
 */
export async function folderFromDisk(dir: string): Promise<FolderFiles> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const root = path.resolve(dir);
  const name = path.basename(root);
  const out: FolderFiles = new Map();
  const walk = async (abs: string, rel: string): Promise<void> => {
    const entries = await fs.readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const a = path.join(abs, e.name);
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(a, r);
      else if (e.isFile()) out.set(r, await diskFileLike(a));
    }
  };
  await walk(root, name);
  return out;
}
