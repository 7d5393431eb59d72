// The globals a weights pickle may name, and what REDUCE does with them. GLOBAL / STACK_GLOBAL turn an
// allow-listed name into an inert `PyGlobal` marker and refuse every other name; REDUCE on a marker checks
// its arguments and returns plain data. Nothing is ever imported or called (see the safety model in
// pickle.ts).
import { clip } from './errors.js';
import { reduceNumpy, type NumpyContext } from './numpy.js';
import { PyDict, PyGlobal, PyList, PySet, PyTuple, describe, type GlobalKind, type PyValue } from './pickle-values.js';

const ALLOWED_GLOBALS = new Map<string, GlobalKind>([
  ['numpy.core.multiarray._reconstruct', 'reconstruct'],
  ['numpy._core.multiarray._reconstruct', 'reconstruct'], // numpy >= 2
  ['numpy.core.numeric._frombuffer', 'frombuffer'], // protocol 5
  ['numpy._core.numeric._frombuffer', 'frombuffer'],
  ['numpy.ndarray', 'ndarray'],
  ['numpy.dtype', 'dtype'],
  ['numpy.core.multiarray.scalar', 'scalar'], // numpy scalars (e.g. in optimizer state)
  ['numpy._core.multiarray.scalar', 'scalar'],
  ['_codecs.encode', 'encode'], // protocol 2 bytes: _codecs.encode(str, 'latin1')
  ['builtins.bytes', 'bytes'], // protocol 2 empty bytes: bytes()
  ['__builtin__.bytes', 'bytes'],
  ['builtins.bytearray', 'bytearray'],
  ['__builtin__.bytearray', 'bytearray'],
  ['builtins.tuple', 'tuple'], // paddle's _pickle_save reduces a Tensor to tuple(((name, ndarray),))
  ['__builtin__.tuple', 'tuple'],
  ['builtins.set', 'set'], // protocol 2 sets: set([items])
  ['__builtin__.set', 'set'],
  ['builtins.frozenset', 'frozenset'],
  ['__builtin__.frozenset', 'frozenset'],
  ['collections.OrderedDict', 'ordereddict'],
]);

/** What REDUCE needs from the VM: the numpy context plus its container builders (which track nesting). */
export interface ReduceContext extends NumpyContext {
  /** A tuple of `items`, its nesting depth checked. */
  tuple(items: PyValue[]): PyTuple;
  /** Records that `child` is inside `parent`, failing when the nesting gets too deep. */
  nest(parent: PyList | PyTuple | PyDict | PySet, child: PyValue): void;
  /** Sets key/value pairs (`kv` = k0, v0, k1, v1, …) of the dict `d`, failing on anything but a dict. */
  setItems(d: PyValue, kv: PyValue[]): void;
}

/** GLOBAL / STACK_GLOBAL: the marker for an allow-listed name; any other name fails at once. */
export function resolveGlobal(module: string, name: string, fail: (msg: string) => never): PyGlobal {
  const q = `${module}.${name}`;
  const kind = ALLOWED_GLOBALS.get(q);
  if (!kind) fail(`refusing pickle global ${clip(q)}: a weights file never needs it, so nothing in this file is loaded`);
  return new PyGlobal(module, name, kind);
}

/** REDUCE: `callable(*args)` for an allow-listed marker, as plain data; everything else fails. */
export function reduce(ctx: ReduceContext, callable: PyValue, argsV: PyValue): PyValue {
  if (!(callable instanceof PyGlobal)) ctx.fail(`refusing pickle REDUCE on ${clip(describe(callable))}`);
  if (!(argsV instanceof PyTuple)) ctx.fail(`REDUCE arguments for ${callable.qualname} are a ${describe(argsV)}, not a tuple`);
  const args = argsV.items;
  const bad = (): never => ctx.fail(`refusing pickle REDUCE ${callable.qualname} with arguments (${args.map(describe).join(', ')})`);
  switch (callable.kind) {
    case 'reconstruct':
    case 'frombuffer':
    case 'ndarray':
    case 'dtype':
    case 'scalar':
      return reduceNumpy(ctx, callable.kind, args, bad);
    case 'encode': {
      // protocol 2 bytes: _codecs.encode(str, 'latin1')
      const [s, enc] = args;
      if (args.length !== 2 || typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1')) bad();
      return ctx.latin1Bytes(s as string, '_codecs.encode');
    }
    case 'bytes':
      if (args.length !== 0) bad();
      return new Uint8Array(0);
    case 'bytearray': {
      if (args.length === 0) return new Uint8Array(0);
      if (args.length === 1 && args[0] instanceof Uint8Array) return args[0];
      return bad();
    }
    case 'tuple': {
      const it = args[0];
      if (args.length === 0) return new PyTuple([]);
      if (args.length !== 1 || !(it instanceof PyTuple || it instanceof PyList)) bad();
      return ctx.tuple([...(it as PyTuple | PyList).items]);
    }
    case 'set':
    case 'frozenset': {
      const s = new PySet([], callable.kind === 'frozenset');
      if (args.length === 0) return s;
      const it = args[0];
      if (args.length !== 1 || !(it instanceof PyList || it instanceof PyTuple)) bad();
      for (const v of (it as PyList | PyTuple).items) {
        ctx.nest(s, v);
        s.items.push(v);
      }
      return s;
    }
    case 'ordereddict': {
      const d = new PyDict();
      if (args.length === 0) return d;
      const it = args[0];
      if (args.length !== 1 || !(it instanceof PyList || it instanceof PyTuple)) bad();
      for (const pair of (it as PyList | PyTuple).items) {
        if (!(pair instanceof PyTuple || pair instanceof PyList) || pair.items.length !== 2) bad();
        ctx.setItems(d, [...(pair as PyTuple).items]);
      }
      return d;
    }
  }
}
