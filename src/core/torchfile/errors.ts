// The one error type every torchfile failure ends up as, so callers (CLI, UI, workers) can show
// `message` as is and branch on `code` without guessing what a RangeError from deep inside meant.

/** How deep values may nest, for the reader and the writer alike (pickle has no limit of its own). */
export const MAX_DEPTH = 1000;

export type TorchFileErrorCode =
  | 'not_a_checkpoint' // neither zip, legacy pickle nor tar
  | 'tar_format' // the torch <= 0.3 tar container
  | 'truncated' // the bytes end before a length, count or record says they should
  | 'bad_pickle' // an unknown opcode, or an opcode used on the wrong kind of value
  | 'memo_missing' // GET of a memo slot that was never PUT
  | 'global_refused' // a GLOBAL outside the weights_only allow-list (strict mode)
  | 'persistent_id' // a persistent id that is not a ('storage', ...) tuple
  | 'too_deep' // nesting past MAX_DEPTH, or a container that contains itself
  | 'zip_corrupt' // inconsistent zip structures
  | 'zip_unsafe_name' // ../, absolute or otherwise unsafe entry names
  | 'zip_bomb' // sizes that do not add up, overlapping entries, or too much to inflate
  | 'zip_unsupported' // encryption or a compression method other than stored/deflate
  | 'missing_record' // data.pkl, version or a data/<key> record is not in the archive
  | 'storage_mismatch' // a storage's bytes do not match the element count the pickle declares
  | 'tensor_bounds' // a tensor's shape, strides and offset reach outside its storage
  | 'unsupported_dtype' // a storage type or dtype we do not read (complex, quantized, ...)
  | 'unsupported_value' // the writer was given something it cannot write safely
  | 'too_large' // an allocation larger than the limits allow
  | 'internal'; // anything else: a bug in this reader, reported rather than leaked

export class TorchFileError extends Error {
  override readonly name = 'TorchFileError';
  constructor(
    readonly code: TorchFileErrorCode,
    message: string,
    /** byte offset in the file (or in the zip record named by `where`) where the problem was met */
    readonly offset?: number,
    /** which part of the file: 'data.pkl', 'pickle 4', 'central directory', ... */
    readonly where?: string,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset}${where ? ` of ${where}` : ''})`);
    this.detail = message;
  }
  /** the message without the position */
  readonly detail: string;

  /** The same error, placed at a position (kept if it already has one). */
  at(offset: number, where: string): TorchFileError {
    return this.offset === undefined ? new TorchFileError(this.code, this.detail, offset, where) : this;
  }
}

/** Runs `fn`, turning anything that is not already a TorchFileError into one with code 'internal'. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TorchFileError) throw e;
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new TorchFileError('internal', `unexpected failure while reading or writing a torch file: ${msg}`);
  }
}
