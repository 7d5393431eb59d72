"""Minimal safetensors writer/reader (the Hugging Face layout: u64 little-endian header length, JSON
header, raw little-endian data) with numpy only: the test fixtures use this format."""
import json
import struct
import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "U8": np.uint8, "F64": np.float64}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items()}


def save_safetensors(tensors, path, metadata=None):
    header = {}
    offset = 0
    blobs = []
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        dt = _NAMES[a.dtype.str]
        data = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a : base + b], dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")).reshape(info["shape"]).copy()
    return out
