// A decode worker of the ingest pool: bytes in, grey image and thumbnail out (buffers transferred).
import * as Comlink from 'comlink';
import { prepareInWorker } from './native-decode.ts';

const api = {
  /** Reads the file here (in parallel with the other decode workers) rather than in the ingest worker. */
  async prepareFile(file: Blob, name: string, sizes: { side: number; thumbSide: number }) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
    } catch (e) {
      throw new Error(`the file could not be read (${e instanceof Error ? e.message : String(e)}); was it moved or deleted?`);
    }
    const p = await prepareInWorker(bytes, name, sizes);
    // The decoded 8-bit grey array can be a view into a larger buffer; copy to transfer exactly it.
    const own = (a: Uint8Array) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice());
    const image = { ...p.image, data: own(p.image.data) };
    const thumbnail = { ...p.thumbnail, data: own(p.thumbnail.data) };
    return Comlink.transfer({ image, thumbnail, original: { width: p.original.width, height: p.original.height } }, [image.data.buffer, thumbnail.data.buffer]);
  },
};

export type DecodeWorkerApi = typeof api;
Comlink.expose(api);
