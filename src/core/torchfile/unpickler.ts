// A pickle virtual machine that builds inert values and never runs anything. It understands the
// opcodes of protocols 2-5 that hold data (torch writes protocol 2), resolves GLOBAL through the
// allow-list in globals.ts, and hands persistent ids (storages) to the container reader.
//
// Strict mode refuses any other global where it is met, as torch.load(weights_only=True) does.
// Inspection mode instead records such globals, and the calls made on them, as Opaque values, so
// a UI can show what a refused file holds without building any of it.
import { TorchFileError } from './errors.ts';
import { callGlobal, globalStatus, refusal, typeName } from './globals.ts';
import { Opaque, OrderedDict, PyFloat, PyGlobal, Tensor, Tuple, type PickleValue } from './values.ts';

export type ReadMode = 'strict' | 'inspect';

export interface UnpickleOptions {
  mode: ReadMode;
  /** BINPERSID: turns a persistent id into a value (a Storage) */
  persistentLoad: (pid: PickleValue) => PickleValue;
  /** names the pickle in error messages: 'data.pkl', 'pickle 4 of 5' */
  where: string;
}

/** Ints longer than this many bytes are refused: no checkpoint needs them and BigInt parsing of
 *  megabyte-long numbers would be the slowest thing in the reader. */
const MAX_LONG_BYTES = 4096;
const MAX_GLOBAL_NAME = 1024;

const utf8 = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

type Slot = PickleValue | undefined;

/** Runs one pickle from `start` to its STOP; returns the value and the offset just past STOP. */
export function unpickle(data: Uint8Array, start: number, opts: UnpickleOptions): { value: PickleValue; end: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const strict = opts.mode === 'strict';
  let pos = start;
  let opPos = start;

  const fail = (code: 'bad_pickle' | 'truncated' | 'memo_missing', msg: string): never => {
    throw new TorchFileError(code, msg, opPos, opts.where);
  };
  const need = (n: number): number => {
    if (n > data.length - pos) fail('truncated', `the pickle ends inside an argument of ${n} bytes`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => data[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const i32 = () => view.getInt32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(data.length)) fail('truncated', `a length of ${v} bytes is longer than the file`);
    return Number(v);
  };
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) {
      fail('bad_pickle', 'the pickle pops from an empty stack');
    }
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('bad_pickle', 'the pickle reads from an empty stack');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('bad_pickle', 'the pickle closes a MARK it never opened');
    return stack.splice(m!);
  };
  const text = (n: number, strictUtf8 = false): string => {
    const p = need(n);
    if (n <= 64) {
      let ascii = '';
      for (let i = p; i < p + n; i++) {
        const c = data[i]!;
        if (c >= 0x80) return decode(p, n, strictUtf8);
        ascii += String.fromCharCode(c);
      }
      return ascii;
    }
    return decode(p, n, strictUtf8);
  };
  const decode = (p: number, n: number, strictUtf8: boolean): string => {
    try {
      return (strictUtf8 ? utf8Strict : utf8).decode(data.subarray(p, p + n));
    } catch {
      return fail('bad_pickle', 'a Python 2 str is not valid UTF-8');
    }
  };
  const line = (): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0 || nl - pos > MAX_GLOBAL_NAME) fail('truncated', 'a GLOBAL name has no end of line');
    const s = text(nl - pos);
    pos++;
    return s;
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail('bad_pickle', `an int of ${n} bytes is too long`);
    const p = need(n);
    if (n === 0) return 0;
    let hex = '';
    for (let i = p + n - 1; i >= p; i--) hex += data[i]!.toString(16).padStart(2, '0');
    let v = BigInt('0x' + hex);
    if (data[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const memoGet = (i: number): PickleValue => {
    const v = memo.get(i);
    if (v === undefined) fail('memo_missing', `memo slot ${i} is read but was never written`);
    return v!;
  };
  const setItems = (target: Slot, items: PickleValue[]) => {
    if (items.length % 2 !== 0) fail('bad_pickle', 'SETITEMS has a key without a value');
    if (target instanceof Opaque && !strict) return void (target.extra ??= []).push(...items);
    if (!(target instanceof Map)) return fail('bad_pickle', `SETITEM on a ${typeName(target)}, not a dict`);
    for (let i = 0; i < items.length; i += 2) target.set(hashable(items[i]!), items[i + 1]!);
  };
  const hashable = (k: PickleValue): PickleValue => {
    if (Array.isArray(k) || k instanceof Map || k instanceof Set) fail('bad_pickle', `unhashable dict key: ${typeName(k)}`);
    return k;
  };
  const append = (target: Slot, items: PickleValue[]) => {
    if (target instanceof Opaque && !strict) return void (target.extra ??= []).push(...items);
    if (!Array.isArray(target)) return fail('bad_pickle', `APPEND to a ${typeName(target)}, not a list`);
    for (const x of items) target.push(x);
  };
  const resolve = (module: string, name: string): PyGlobal => {
    const qualname = `${module}.${name}`;
    const status = globalStatus(qualname);
    if (status === 'allowed') return new PyGlobal(module, name, true);
    if (strict) throw refusal(qualname, opPos, opts.where);
    return new PyGlobal(module, name, false);
  };
  const call = (fn: PickleValue, args: PickleValue, how: 'reduce' | 'newobj'): PickleValue => {
    if (!(args instanceof Tuple)) return fail('bad_pickle', `${how.toUpperCase()} arguments should be a tuple, got ${typeName(args)}`);
    if (fn instanceof PyGlobal && fn.allowed) {
      if (!strict && args.items.some((a) => a instanceof Opaque)) return new Opaque(fn, args, how);
      return callGlobal(fn, args.items);
    }
    if (!strict && (fn instanceof PyGlobal || fn instanceof Opaque)) return new Opaque(fn, args, how);
    return fail('bad_pickle', `${how.toUpperCase()} on a ${typeName(fn)}, which is not callable`);
  };
  const build = (inst: PickleValue, state: PickleValue) => {
    if (inst instanceof Opaque) inst.state = state;
    else if (inst instanceof OrderedDict) {
      // OrderedDict.__dict__.update(state): a state dict's _metadata arrives this way
      if (!(state instanceof Map)) fail('bad_pickle', `BUILD state for an OrderedDict should be a dict, got ${typeName(state)}`);
      inst.attrs ??= new Map();
      for (const [k, v] of state as Map<PickleValue, PickleValue>) {
        if (typeof k !== 'string') fail('bad_pickle', 'BUILD state keys should be str');
        inst.attrs.set(k as string, v);
      }
    } else if (inst instanceof Tensor) inst.attrs = state;
    else fail('bad_pickle', `BUILD on a ${typeName(inst)}: only tensors and OrderedDicts take state`);
  };

  for (;;) {
    opPos = pos;
    if (pos >= data.length) fail('truncated', 'the pickle ends before its STOP opcode');
    const op = data[pos++]!;
    try {
      switch (op) {
        case 0x80: // PROTO
          if (u8() > 5) fail('bad_pickle', 'unknown pickle protocol');
          break;
        case 0x95: // FRAME (protocol 4): a length hint only
          need(8);
          break;
        case 0x2e: {
          // STOP
          if (stack.length === 0) fail('bad_pickle', 'STOP with an empty stack');
          return { value: stack[stack.length - 1]!, end: pos };
        }
        case 0x28: // MARK
          marks.push(stack.length);
          break;
        case 0x31: // POP_MARK
          popMark();
          break;
        case 0x30: // POP
          if (marks.length > 0 && stack.length === marks[marks.length - 1]) popMark();
          else pop();
          break;
        case 0x32: // DUP
          stack.push(top());
          break;
        case 0x4e: // NONE
          stack.push(null);
          break;
        case 0x88: // NEWTRUE
          stack.push(true);
          break;
        case 0x89: // NEWFALSE
          stack.push(false);
          break;
        case 0x4b: // BININT1
          stack.push(u8());
          break;
        case 0x4d: // BININT2
          stack.push(u16());
          break;
        case 0x4a: // BININT
          stack.push(i32());
          break;
        case 0x8a: // LONG1
          stack.push(long(u8()));
          break;
        case 0x8b: {
          // LONG4
          const n = i32();
          if (n < 0) fail('bad_pickle', 'LONG4 with a negative length');
          stack.push(long(n));
          break;
        }
        case 0x47: // BINFLOAT: big-endian f64
          stack.push(new PyFloat(view.getFloat64(need(8), false)));
          break;
        case 0x58: // BINUNICODE
          stack.push(text(u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          stack.push(text(u8()));
          break;
        case 0x8d: // BINUNICODE8
          stack.push(text(u64()));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str; torch.load decodes it as UTF-8)
          stack.push(text(u8(), true));
          break;
        case 0x54: {
          // BINSTRING
          const n = i32();
          if (n < 0) fail('bad_pickle', 'BINSTRING with a negative length');
          stack.push(text(n, true));
          break;
        }
        case 0x43: // SHORT_BINBYTES
        case 0x42: // BINBYTES
        case 0x8e: // BINBYTES8
        case 0x96: {
          // BYTEARRAY8
          const n = op === 0x43 ? u8() : op === 0x42 ? u32() : u64();
          const p = need(n);
          stack.push(data.slice(p, p + n));
          break;
        }
        case 0x29: // EMPTY_TUPLE
          stack.push(new Tuple([]));
          break;
        case 0x85: // TUPLE1
          stack.push(new Tuple([pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = pop();
          stack.push(new Tuple([pop(), b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = pop();
          const b = pop();
          stack.push(new Tuple([pop(), b, c]));
          break;
        }
        case 0x74: // TUPLE
          stack.push(new Tuple(popMark()));
          break;
        case 0x5d: // EMPTY_LIST
          stack.push([]);
          break;
        case 0x6c: // LIST
          stack.push(popMark());
          break;
        case 0x7d: // EMPTY_DICT
          stack.push(new Map());
          break;
        case 0x64: {
          // DICT
          const d = new Map<PickleValue, PickleValue>();
          setItems(d, popMark());
          stack.push(d);
          break;
        }
        case 0x8f: // EMPTY_SET
          stack.push(new Set());
          break;
        case 0x90: {
          // ADDITEMS
          const items = popMark();
          const s = top();
          if (!(s instanceof Set)) fail('bad_pickle', `ADDITEMS on a ${typeName(s)}, not a set`);
          for (const x of items) (s as Set<PickleValue>).add(hashable(x));
          break;
        }
        case 0x91: // FROZENSET
          stack.push(new Set(popMark().map(hashable)));
          break;
        case 0x61: {
          // APPEND
          const x = pop();
          append(top(), [x]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = popMark();
          append(top(), items);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = pop();
          const k = pop();
          setItems(top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = popMark();
          setItems(top(), items);
          break;
        }
        case 0x71: // BINPUT
          memo.set(u8(), top());
          break;
        case 0x72: // LONG_BINPUT
          memo.set(u32(), top());
          break;
        case 0x94: // MEMOIZE
          memo.set(memo.size, top());
          break;
        case 0x68: // BINGET
          stack.push(memoGet(u8()));
          break;
        case 0x6a: // LONG_BINGET
          stack.push(memoGet(u32()));
          break;
        case 0x63: {
          // GLOBAL: "module\nname\n"
          const module = line();
          stack.push(resolve(module, line()));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') fail('bad_pickle', 'STACK_GLOBAL needs two str');
          stack.push(resolve(module as string, name as string));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = pop();
          stack.push(call(pop(), args, 'reduce'));
          break;
        }
        case 0x81: {
          // NEWOBJ: cls.__new__(cls, *args)
          const args = pop();
          stack.push(call(pop(), args, 'newobj'));
          break;
        }
        case 0x62: {
          // BUILD
          const state = pop();
          build(top(), state);
          break;
        }
        case 0x51: // BINPERSID
          stack.push(opts.persistentLoad(pop()));
          break;
        default:
          fail('bad_pickle', `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    } catch (e) {
      throw e instanceof TorchFileError ? e.at(opPos, opts.where) : e;
    }
  }
}
