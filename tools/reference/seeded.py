"""Seeded, language-independent random weights for PP-MSVSR / PP-MSVSR-L test models.

`seeded_tensor(seed, name, shape)` has a bit-identical TypeScript twin, `seededTensor` in
`src/weights/seeded.ts`; `test/seeded.test.ts` proves it against `test/fixtures/seeded_check.safetensors`.
Any change here must be made there too (and the fixtures regenerated).

Algorithm (all integer arithmetic is uint32, i.e. modulo 2**32):

1. Stream key.  `h = fnv1a32(utf8(name))` (offset basis 0x811C9DC5, prime 0x01000193, per byte:
   `h = (h ^ byte) * prime`).  `s = fmix32(h ^ fmix32(seed ^ 0x9E3779B9))` where fmix32 is MurmurHash3's
   finaliser: `x ^= x >> 16; x *= 0x85EBCA6B; x ^= x >> 13; x *= 0xC2B2AE35; x ^= x >> 16`.
   `seed` must be an integer in [0, 2**32).
2. Numbers.  mulberry32 started at state `s`; the i-th number (i = 0, 1, ...) is computed from
   `a = s + (i + 1) * 0x6D2B79F5`:
       t = (a ^ (a >> 15)) * (a | 1)
       t = t ^ (t + (t ^ (t >> 7)) * (t | 61))
       r = t ^ (t >> 14)                       # uint32
   `u = r / 2**32` (exact in float64, u in [0, 1)).
3. Value.  In float64: `v = (2*u - 1) * bound`, then rounded to float32 (round to nearest even:
   `np.float32(v)` here, `Math.fround(v)` in TS).  Elements are produced in C (row-major) order of `shape`.
4. Bound (depends only on name and shape; "fan_in" = prod(shape[1:])):
   * `...spynet.mean` -> exactly float32([0.485, 0.456, 0.406]) and `...spynet.std` -> float32([0.229, 0.224,
     0.225]) (reshaped to `shape`, normally [1,3,1,1]); no random numbers are drawn.
   * names ending in `.bias` (1-D): bound = BIAS_BOUND (0.02).
   * every other tensor: bound = gain / sqrt(fan_in) with `gain = weight_gain(name, shape)` below
     (first matching rule wins); for a 1-D non-bias tensor fan_in = 1.
       - SPyNet flow head (name contains 'spynet.' and shape[0] == 2):
         tiny SPyNet (shape[1] == 8, 3 levels) gain 4.0, full SPyNet (6 levels)  gain 1.0
       - second conv of a residual block (ends with '.conv2.weight')           gain 0.5
       - last conv of an offset/mask head (ends with 'conv_offset.6.weight')   gain 0.5
       - RGB heads (ends with 'conv_last.weight': conv_last, aux_conv_last,
         hybrid_conv_last)                                                      gain 1.0
       - convs with no activation after them ('aux_fusion.weight',
         'aux_block_down1.2.weight', 'aux_block_down2.2.weight')                gain 1.7
       - everything else (conv followed by (leaky) ReLU, DCN weights)           gain 2.4
   The gains keep activations O(1) through the recurrences and give SPyNet flows of a few pixels
   (see tools/reference/README.md for measured magnitudes).  gain / sqrt(fan_in) is evaluated in float64
   (IEEE division and sqrt are correctly rounded in both languages, so the bound is identical).
"""
import math

import numpy as np

BIAS_BOUND = 0.02
SPYNET_MEAN = (0.485, 0.456, 0.406)
SPYNET_STD = (0.229, 0.224, 0.225)

_M32 = 0xFFFFFFFF


def fnv1a32(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & _M32
    return h


def fmix32(x):
    x &= _M32
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & _M32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & _M32
    x ^= x >> 16
    return x


def stream_key(seed, name):
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= _M32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    return fmix32(fnv1a32(name) ^ fmix32(int(seed) ^ 0x9E3779B9))


def mulberry32_uint32(state, n):
    """The first n outputs (uint32) of mulberry32 started at `state`, vectorised: the generator's state
    only ever advances by a constant, so output i depends on state + (i+1)*0x6D2B79F5 alone."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    a = ((np.uint64(state) + i * np.uint64(0x6D2B79F5)) & np.uint64(_M32)).astype(np.uint32)
    with np.errstate(over="ignore"):
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        return t ^ (t >> np.uint32(14))


def weight_gain(name, shape):
    if "spynet." in name and len(shape) >= 2 and shape[0] == 2:
        return 4.0 if shape[1] == 8 else 1.0
    if name.endswith(".conv2.weight"):
        return 0.5
    if name.endswith("conv_offset.6.weight"):
        return 0.5
    if name.endswith("conv_last.weight"):
        return 1.0
    if name.endswith(("aux_fusion.weight", "aux_block_down1.2.weight", "aux_block_down2.2.weight")):
        return 1.7
    return 2.4


def tensor_bound(name, shape):
    if name.endswith(".bias"):
        return BIAS_BOUND
    fan_in = 1
    for d in shape[1:]:
        fan_in *= int(d)
    return weight_gain(name, shape) / math.sqrt(fan_in)


def seeded_tensor(seed, name, shape):
    """float32 ndarray of `shape`, reproducible from (seed, name) alone; see the module docstring."""
    shape = tuple(int(d) for d in shape)
    n = 1
    for d in shape:
        n *= d
    if name.endswith("spynet.mean") or name.endswith("spynet.std"):
        vals = SPYNET_MEAN if name.endswith("mean") else SPYNET_STD
        if n != 3:
            raise ValueError(f"{name}: expected 3 elements, shape {shape}")
        return np.array(vals, dtype=np.float64).astype(np.float32).reshape(shape)
    r = mulberry32_uint32(stream_key(seed, name), n)
    u = r.astype(np.float64) / 4294967296.0
    v = (2.0 * u - 1.0) * tensor_bound(name, shape)
    return v.astype(np.float32).reshape(shape)


def seeded_state_dict(seed, config="msvsr"):
    """{name: float32 ndarray} for every state-dict entry of the given config ('msvsr' / 'msvsr_l' or a
    dict of MSVSR constructor arguments), in PaddleGAN's state-dict order."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    from msvsr_torch import param_manifest

    return {name: seeded_tensor(seed, name, shape) for name, shape in param_manifest(config)}
