// Turning what the user picked (a directory handle, an <input webkitdirectory> file list, or a
// dropped folder) into one map of relative path -> File. Paths start with the picked folder's name,
// as `webkitRelativePath` does, so every way in gives the same keys.

export type PickedFolder = { name: string; files: Map<string, File> };

export function fromFileList(list: FileList | File[]): PickedFolder {
  const files = new Map<string, File>();
  let name = '';
  for (const f of Array.from(list)) {
    const path = f.webkitRelativePath || f.name;
    files.set(path, f);
    name ||= path.split('/')[0] ?? '';
  }
  return { name, files };
}

async function walkHandle(dir: FileSystemDirectoryHandle, prefix: string, out: Map<string, File>): Promise<void> {
  for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
    const path = `${prefix}/${name}`;
    if (handle.kind === 'file') out.set(path, await (handle as FileSystemFileHandle).getFile());
    else await walkHandle(handle as FileSystemDirectoryHandle, path, out);
  }
}

export function hasDirectoryPicker(): boolean {
  return typeof (window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}

/** File System Access API; rejects with AbortError when the user closes the picker. */
export async function pickWithDirectoryPicker(): Promise<PickedFolder> {
  const dir = await (window as unknown as { showDirectoryPicker(o?: object): Promise<FileSystemDirectoryHandle> }).showDirectoryPicker({ mode: 'read' });
  const files = new Map<string, File>();
  await walkHandle(dir, dir.name, files);
  return { name: dir.name, files };
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function walkEntry(entry: FileSystemEntry, out: Map<string, File>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.set(entry.fullPath.replace(/^\//, ''), file);
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    // readEntries returns at most 100 entries a call: read until it returns none.
    for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
      for (const e of batch) await walkEntry(e, out);
    }
  }
}

/** A folder dropped on the page. */
export async function fromDataTransfer(dt: DataTransfer): Promise<PickedFolder> {
  const entries = Array.from(dt.items)
    .map((i) => i.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const files = new Map<string, File>();
  for (const e of entries) await walkEntry(e, files);
  const name = entries.length === 1 ? entries[0]!.name : 'dropped files';
  return { name, files };
}
