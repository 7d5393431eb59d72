"""Read and write PaddleGAN `.pdparams` files without Paddle.

`paddle.save` of a PaddleGAN weights dict is `pickle.dump({'generator': {name: ndarray}}, f, protocol)`
(paddle.framework.io._pickle_save): numpy's own array pickling does the rest, so writing needs only pickle + numpy. Protocol 4 is
Paddle's default; protocol 2 (bytes as `_codecs.encode`) is what older writers produced.

Reading goes through a restricted Unpickler that resolves only the numpy globals an array needs, so a
hostile file cannot run code here either.
"""
import pickle
import numpy as np

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}")
        if module == "_codecs":
            import _codecs
            return _codecs.encode
        if module.startswith("numpy") and name == "_reconstruct":
            from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def save_pdparams(state, path, protocol=4, wrap=True, name_table=False):
    """Writes {name: ndarray} the way PaddleGAN's save() + paddle.save do (float32, C order).

    name_table=True also appends the empty top-level "StructuredToParameterName@@" dict that paddle.save's
    _build_saved_state_dict adds to every state-dict-like object (paddle.framework.io._build_saved_state_dict), as in the official files."""
    arrays = {k: np.ascontiguousarray(v) for k, v in state.items()}
    obj = {"generator": arrays} if wrap else arrays
    if name_table:
        obj = dict(obj)
        obj["StructuredToParameterName@@"] = {}
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def load_pdparams(path):
    """Returns {name: ndarray} from a .pdparams (wrapped in 'generator' or flat)."""
    with open(path, "rb") as f:
        obj = _SafeUnpickler(f, encoding="latin1").load()
    if isinstance(obj, dict) and "generator" in obj:
        obj = obj["generator"]
    out = {}
    for k, v in obj.items():
        if k == "StructuredToParameterName@@":
            continue
        if isinstance(v, tuple) and len(v) == 2:
            v = v[1]
        out[k] = v
    return out
