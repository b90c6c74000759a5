// A decode worker of the ingest pool: bytes in, grey image and thumbnail out (buffers transferred).
import * as Comlink from 'comlink';
import { prepareInWorker } from './native-decode.ts';

const api = {
  async prepare(bytes: Uint8Array, name: string, sizes: { side: number; thumbSide: number }) {
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
