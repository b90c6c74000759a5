// The one error type conversion failures end up as: `message` names what did not fit (keys by name,
// counts, the architecture it looks like), `code` lets callers branch.
export type ConvertErrorCode =
  | 'unknown_layout' // no state dict where any known layout keeps one
  | 'unknown_arch' // the keys are no supported architecture's
  | 'wrong_arch' // a supported architecture, but not the one asked for
  | 'key_mismatch' // missing, unexpected or wrongly shaped keys
  | 'head_mismatch' // the head's outputs, or its kind, are not what the target needs
  | 'bad_value'; // a value of the wrong type where a tensor, int or string belongs

export class ConvertError extends Error {
  override readonly name = 'ConvertError';
  constructor(
    readonly code: ConvertErrorCode,
    message: string,
  ) {
    super(message);
  }
}
