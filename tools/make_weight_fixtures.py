#!/usr/bin/env python3
"""Writes the small `.pdparams` test fixtures of test/fixtures/weights/ (a few KB each).

Run with a Python that has numpy (Debian's /usr/bin/python3 here):

    /usr/bin/python3 tools/make_weight_fixtures.py

The valid files are written the way paddle.save writes them: pickle.dump of numpy arrays (paddle.framework.io._pickle_save), through
tools/reference/pdparams.py where it fits, so the TypeScript reader is tested against an independent
writer. expected.json holds every array's exact values (a float32/float16 value printed as a Python float
is exact) for the tests to compare against.

The hostile files would run a command when loaded by Python's own pickle: the script proves that by loading
each one with pickle in a child process and checking the marker file the command creates, then removes the
marker. The tests then check that our reader refuses them and that the marker never appears.
"""
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
from pdparams import load_pdparams, save_pdparams  # noqa: E402
from safetensors_io import save_safetensors  # noqa: E402

OUT = os.path.join(HERE, "..", "test", "fixtures", "weights")
# Paths the hostile pickles would create if anything executed them (the tests check they stay absent).
MARKERS = {
    "os_system": "/tmp/msvsr_weights_marker_os_system",
    "posix_system": "/tmp/msvsr_weights_marker_posix_system",
    "eval": "/tmp/msvsr_weights_marker_eval",
}

expected = {}


def path(name):
    return os.path.join(OUT, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def record(fixture, arrays):
    """Remembers the exact contents of `arrays` (C order) for the tests."""
    expected[fixture] = {
        k: {"shape": list(v.shape), "dtype": v.dtype.str, "values": [float(x) for x in np.ascontiguousarray(v).reshape(-1)]}
        for k, v in arrays.items()
    }


def mini_arrays():
    rng = np.random.default_rng(20240611)
    return {
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "conv.bias": rng.standard_normal(4).astype(np.float32),
        "blocks.block0.conv1.weight": (rng.standard_normal((2, 5)) * 1e-3).astype(np.float32),
        "special": np.array([0.0, -0.0, 1e-40, -3.4e38, 65504.0, 1.0 / 3.0], dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


class Reduced:
    """An object that pickles as reduce(callable, args[, state]): how the hand-made cases are written."""

    def __init__(self, rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def raw_array(shape, dtype, data, fortran=False):
    """A pickled ndarray with an arbitrary (possibly inconsistent) state, through numpy's own reduce path."""
    from numpy.core.multiarray import _reconstruct

    return Reduced((_reconstruct, (np.ndarray, (0,), b"b"), (1, shape, np.dtype(dtype), fortran, data)))


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith((".pdparams", ".pkl", ".json", ".safetensors")):
            os.remove(path(f))
    mini = mini_arrays()

    # -- valid files ------------------------------------------------------------------------------------
    for proto in (2, 4):
        save_pdparams(mini, path(f"mini_p{proto}.pdparams"), protocol=proto)
        record(f"mini_p{proto}.pdparams", mini)
    for proto in (3, 5):  # 5: numpy writes _frombuffer(bytearray, dtype, shape, order)
        with open(path(f"mini_p{proto}.pdparams"), "wb") as f:
            pickle.dump({"generator": mini}, f, protocol=proto)
        record(f"mini_p{proto}.pdparams", mini)

    half = {k: v.astype(np.float16) for k, v in mini.items() if k != "special"}
    half["special"] = np.array([0.0, -0.0, 6e-8, 65504.0, -2.0, 1.0 / 3.0], dtype=np.float16)
    save_pdparams(half, path("mini_f16.pdparams"), protocol=4)
    record("mini_f16.pdparams", half)

    big_endian = {
        "conv.weight": mini["conv.weight"].astype(">f4"),
        "conv.bias": mini["conv.bias"].astype(">f2"),
        "little": mini["blocks.block0.conv1.weight"],
    }
    for proto in (2, 4):
        save_pdparams(big_endian, path(f"mini_be_p{proto}.pdparams"), protocol=proto)
        record(f"mini_be_p{proto}.pdparams", big_endian)

    save_pdparams(mini, path("mini_flat.pdparams"), protocol=4, wrap=False)
    record("mini_flat.pdparams", mini)

    # paddle 2.1 style: flat dict of (param name, ndarray) tuples plus paddle.save's name table
    tuples = {k: (f"param_{i}", v) for i, (k, v) in enumerate(mini.items())}
    tuples["StructuredToParameterName@@"] = {k: f"param_{i}" for i, k in enumerate(mini)}
    with open(path("mini_tuple.pdparams"), "wb") as f:
        pickle.dump(tuples, f, protocol=2)
    record("mini_tuple.pdparams", mini)

    # paddle's _pickle_save reduces a Tensor to tuple(((name, ndarray),)): GLOBAL builtins.tuple + REDUCE
    reduced = {k: Reduced((tuple, ((f"param_{i}", v),))) for i, (k, v) in enumerate(mini.items())}
    with open(path("mini_tuple_reduce.pdparams"), "wb") as f:
        pickle.dump({"generator": reduced, "StructuredToParameterName@@": {}}, f, protocol=4)
    record("mini_tuple_reduce.pdparams", mini)

    # a training checkpoint: extra top-level keys of every common kind, all ignored
    checkpoint = {
        "epoch": 12,
        "generator": mini,
        "optimizer": {
            "conv.weight_moment1_0": np.ones((4, 3, 3, 3), np.float32),
            "step": np.array([1000], np.int64),
            "beta1_pow_acc_0": np.array([0.9], np.float64),
            "LR_Scheduler": {"last_epoch": 3, "last_lr": 1e-4},
        },
        "misc": [None, True, False, 1.5, -2.25e-300, "text é", b"raw", bytearray(b"ba"), (1, (2, (3,))), {4, 5}, frozenset({6})],
        "ints": [0, 255, 256, 65535, 65536, -1, 2**31 - 1, -(2**31), 2**40, -(2**40), 2**70, -(2**70)],
        "np_scalar": np.float32(0.5),
        "ordered": collections.OrderedDict([("a", 1), ("b", 2)]),
        "shared": [mini["conv.bias"], mini["conv.bias"]],
    }
    for proto in (2, 4):
        with open(path(f"mini_checkpoint_p{proto}.pdparams"), "wb") as f:
            pickle.dump(checkpoint, f, protocol=proto)
        record(f"mini_checkpoint_p{proto}.pdparams", mini)

    # Fortran-ordered arrays (pickle.dump directly: save_pdparams makes arrays C-contiguous)
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 7
    fort = {"c": x, "f": np.asfortranarray(x), "f16": np.asfortranarray(x.astype(np.float16))}
    assert fort["f"].flags.f_contiguous and not fort["f"].flags.c_contiguous
    for proto in (2, 4, 5):
        with open(path(f"mini_fortran_p{proto}.pdparams"), "wb") as f:
            pickle.dump({"generator": fort}, f, protocol=proto)
        record(f"mini_fortran_p{proto}.pdparams", fort)

    # numpy >= 2 names the module numpy._core.multiarray: emulate that writer with a stand-in function
    import types

    mod = types.ModuleType("numpy._core.multiarray")
    from numpy.core.multiarray import _reconstruct

    def _reconstruct2(*a):
        return _reconstruct(*a)

    _reconstruct2.__module__ = "numpy._core.multiarray"
    _reconstruct2.__qualname__ = _reconstruct2.__name__ = "_reconstruct"
    mod._reconstruct = _reconstruct2
    sys.modules["numpy._core.multiarray"] = mod

    class Numpy2Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, np.ndarray):
                fn, args, state = obj.__reduce__()
                return (_reconstruct2, args, state)
            return NotImplemented

    buf = io.BytesIO()
    Numpy2Pickler(buf, protocol=4).dump({"generator": mini})
    assert b"numpy._core.multiarray" in buf.getvalue()
    write("mini_numpy2.pdparams", buf.getvalue())
    record("mini_numpy2.pdparams", mini)

    # paddle's _unpack_saved_dict layout (protocol 2/3 writers split arrays > 2^30 bytes): same layout, small
    flat = mini["conv.weight"].reshape(-1)
    split = {
        "conv.weight@@.0": flat[:40],
        "conv.weight@@.1": flat[40:80],
        "conv.weight@@.2": flat[80:],
        "conv.bias": mini["conv.bias"],
        "UnpackBigParamInfor@@": {"conv.weight": {"OriginShape": mini["conv.weight"].shape, "slices": ["conv.weight@@.0", "conv.weight@@.1", "conv.weight@@.2"]}},
    }
    with open(path("mini_bigparam.pdparams"), "wb") as f:
        pickle.dump(split, f, protocol=2)
    record("mini_bigparam.pdparams", {"conv.weight": mini["conv.weight"], "conv.bias": mini["conv.bias"]})

    # safetensors from the independent Python writer, F32 and F16 mixed
    st = {"conv.weight": mini["conv.weight"], "conv.bias": mini["conv.bias"].astype(np.float16), "special": mini["special"]}
    save_safetensors(st, path("mini.safetensors"), metadata={"writer": "tools/reference/safetensors_io.py"})
    record("mini.safetensors", st)

    # protocol 0 (text opcodes, PUT/GET memo) of plain data, for the pickle VM alone
    prims = {"ints": [0, -7, 2**40, -(2**70)], "float": 0.1, "neg": -1.5e300, "str": "a\nb é \u20ac", "t": (True, False, None), "nested": [[1], [2, [3]]], "bytes": b"\x00\xff"}
    prims["again"] = prims["nested"]  # memo GET
    for proto in (0, 1):
        with open(path(f"prims_p{proto}.pkl"), "wb") as f:
            pickle.dump(prims, f, protocol=proto)

    # -- invalid files --------------------------------------------------------------------------------------
    save_pdparams({"conv.weight": mini["conv.weight"].astype(np.float64), "ok": mini["conv.bias"]}, path("bad_float64.pdparams"))
    save_pdparams({"conv.weight": np.arange(12, dtype=np.int64).reshape(3, 4), "ok": mini["conv.bias"]}, path("bad_int64.pdparams"))
    save_pdparams({"conv.weight": np.array([1.0, "a"], dtype=object)}, path("bad_object.pdparams"))
    with open(path("bad_shape_mismatch.pdparams"), "wb") as f:
        pickle.dump({"generator": {"conv.weight": raw_array((4, 4), "<f4", bytes(60))}}, f, protocol=4)
    with open(path("bad_huge_shape.pdparams"), "wb") as f:
        pickle.dump({"generator": {"conv.weight": raw_array((2**40, 2**40), "<f4", bytes(16))}}, f, protocol=4)
    with open(path("bad_shape_overflow.pdparams"), "wb") as f:
        pickle.dump({"generator": {"conv.weight": raw_array((2**32, 2**32, 2**32, 2**32, 0), "<f4", b"")}}, f, protocol=4)
    with open(path("bad_not_dict.pdparams"), "wb") as f:
        pickle.dump([mini["conv.bias"]], f, protocol=4)
    with open(path("bad_value.pdparams"), "wb") as f:
        pickle.dump({"generator": {"conv.weight": mini["conv.weight"], "conv.bias": "not an array"}}, f, protocol=4)
    # one 4 KB array under 300 names: pickle's memo makes every entry refer to the same bytes
    shared = np.ones(1024, np.float32)
    save_pdparams({f"w{i}": shared for i in range(300)}, path("bad_shared.pdparams"))
    good = open(path("mini_p4.pdparams"), "rb").read()
    write("bad_truncated.pdparams", good[: len(good) // 2])

    # 1 TB declared by a BINBYTES8 (0x8e) length, 16 bytes present
    write("bad_binbytes8_1tb.pdparams", b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + bytes(16))
    # 10,000-deep nesting, three ways: nested lists as pickle writes them, 10,000 MARKs, TUPLE1 chains
    sys.setrecursionlimit(100000)
    deep = []
    for _ in range(10000):
        deep = [deep]
    with open(path("bad_deep_lists.pdparams"), "wb") as f:
        pickle.dump({"generator": {"x": deep}}, f, protocol=4)
    write("bad_deep_marks.pdparams", b"\x80\x04" + b"(" * 10000 + b"l" * 10000 + b".")
    write("bad_deep_tuples.pdparams", b"\x80\x04N" + b"\x85" * 10000 + b".")

    # -- hostile files --------------------------------------------------------------------------------------
    def u32(s):
        return struct.pack("<I", len(s)) + s

    def wrapped_p2(payload):
        # {'generator': {'conv.weight': <payload>}} in protocol 2 opcodes
        return b"\x80\x02}(X" + u32(b"generator") + b"}(X" + u32(b"conv.weight") + payload + b"uu."

    cmd = f"touch {MARKERS['os_system']}".encode()
    write("evil_os_system.pdparams", wrapped_p2(b"cos\nsystem\nX" + u32(cmd) + b"\x85R"))
    code = f"open('{MARKERS['eval']}', 'w').close()".encode()
    write(
        "evil_eval.pdparams",
        b"\x80\x04}(\x8c\x09generator}(\x8c\x0bconv.weight\x8c\x08builtins\x8c\x04eval\x93\x8c" + bytes([len(code)]) + code + b"\x85Ruu.",
    )
    # the natural form: pickle itself writes os.system as posix.system
    with open(path("evil_posix_system.pdparams"), "wb") as f:
        pickle.dump({"generator": {"conv.weight": Reduced((os.system, (f"touch {MARKERS['posix_system']}",)))}}, f, protocol=4)

    # prove each hostile file is live: Python's pickle really runs it
    for name, marker in (("evil_os_system.pdparams", "os_system"), ("evil_eval.pdparams", "eval"), ("evil_posix_system.pdparams", "posix_system")):
        m = MARKERS[marker]
        if os.path.exists(m):
            os.remove(m)
        subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({path(name)!r}, 'rb'))"], check=False, capture_output=True)
        assert os.path.exists(m), f"{name} did not run its command under pickle"
        os.remove(m)

    # the valid files read back through the independent restricted reader
    # (not protocol 2: the reference reader does not allow the __builtin__.bytes global of the empty array)
    for name in ("mini_p4.pdparams", "mini_f16.pdparams", "mini_be_p4.pdparams"):
        got = load_pdparams(path(name))
        for k, v in got.items():
            assert [float(x) for x in np.ascontiguousarray(v).reshape(-1)] == expected[name][k]["values"], (name, k)

    expected["markers"] = MARKERS
    with open(path("expected.json"), "w") as f:
        json.dump(expected, f, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
