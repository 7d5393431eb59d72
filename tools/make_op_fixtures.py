"""Small PyTorch fixtures for single operators (run with the interpreter that has PyTorch + torchvision):

    /usr/bin/python3 tools/make_op_fixtures.py            # (re)write test/fixtures/ops_*.safetensors
    /usr/bin/python3 tools/make_op_fixtures.py --check    # regenerate in a temp dir and compare bytes
    /usr/bin/python3 tools/make_op_fixtures.py --out DIR

test/fixtures/ops_grid_sample.safetensors: PaddleGAN's flow_warp (basicvsr.py) computed exactly the
  way basicvsr.flow_warp builds it: grid = (column, row) pixel index + flow, normalised 2·s/max(size−1, 1) − 1,
  F.grid_sample(mode='bilinear', align_corners=True), padding 'zeros' and 'border', all in float32 like Paddle.
  Per case i: case<i>.x [C,H,W], case<i>.flow [H,W,2] (channel 0 = x), case<i>.out_zeros [C,H,W],
  case<i>.out_border [C,H,W]. Metadata: cases, case<i>.desc.
test/fixtures/ops_deform_conv.safetensors: modulated deformable convolution v2 (paddle.vision.ops.deform_conv2d) from
  torchvision.ops.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask), stride 1, 3x3, computed in
  float64 from float32 inputs and stored as float32. Per case i: case<i>.x [Cin,H,W], case<i>.offset
  [2·G·9,H,W] ((y, x) per tap per group: channel g·18 + 2k is dy, +1 is dx), case<i>.mask [G·9,H,W] in (0,1),
  case<i>.weight [Cout,Cin,3,3], case<i>.bias [Cout], case<i>.out [Cout,H,W]. Metadata: cases, case<i>.G,
  case<i>.desc.

Both are also checked here against a direct numpy transcription of the spec formulas (float64), so a
mismatch between the spec and PyTorch/torchvision stops the script instead of producing a fixture.
Everything is a pure function of the seeds below (numpy PCG64), and torch runs single-threaded on CPU.
"""
import argparse
import filecmp
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

from safetensors_io import save_safetensors  # noqa: E402

REPO = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(REPO, "test", "fixtures")
GRID_FILE = "ops_grid_sample.safetensors"
DCN_FILE = "ops_deform_conv.safetensors"

# ------------------------------------------------------------------------------------------ flow_warp


def flow_warp_paddle(x, flow, padding_mode):
    """basicvsr.flow_warp: x (1,C,H,W) float32, flow (1,H,W,2) float32, [...,0] = x displacement."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(0, h), torch.arange(0, w), indexing="ij")
    grid = torch.stack((gx, gy), dim=2).to(torch.float32)  # (H, W, 2)
    vgrid = grid + flow
    vx = 2.0 * vgrid[:, :, :, 0] / max(w - 1, 1) - 1.0
    vy = 2.0 * vgrid[:, :, :, 1] / max(h - 1, 1) - 1.0
    return F.grid_sample(x, torch.stack((vx, vy), dim=3), mode="bilinear", padding_mode=padding_mode, align_corners=True)


def flow_warp_spec(x, flow, padding_mode):
    """Spec §1.2 in float64: bilinear sample at (j + fx, i + fy); a size-1 axis samples at 0."""
    c, h, w = x.shape
    x = x.astype(np.float64)
    i, j = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    sx = np.zeros((h, w)) if w == 1 else j + flow[:, :, 0].astype(np.float64)
    sy = np.zeros((h, w)) if h == 1 else i + flow[:, :, 1].astype(np.float64)
    if padding_mode == "border":
        sx = np.clip(sx, 0, w - 1)
        sy = np.clip(sy, 0, h - 1)
    x0 = np.floor(sx).astype(np.int64)
    y0 = np.floor(sy).astype(np.int64)
    ax = sx - x0
    ay = sy - y0
    out = np.zeros((c, h, w))
    for yy, xx, wt in ((y0, x0, (1 - ax) * (1 - ay)), (y0, x0 + 1, ax * (1 - ay)), (y0 + 1, x0, (1 - ax) * ay), (y0 + 1, x0 + 1, ax * ay)):
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        v = x[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        out += np.where(ok, wt, 0.0) * v
    return out


def special_flow(rng, h, w):
    """Samples aimed at exact edges, half-pixels and just outside (and some zero displacements)."""
    flow = np.zeros((h, w, 2), np.float32)
    for a, (n, pos) in enumerate(((w, np.arange(w)[None, :]), (h, np.arange(h)[:, None]))):
        targets = np.array([0, n - 1, -1, n, -0.5, n - 0.5, -1.5, n + 0.5, 0.5, n - 1.5, -2, n + 1, 1, n - 2, -0.25, n - 0.75])
        t = targets[rng.integers(0, len(targets), size=(h, w))]
        f = t - pos
        f[rng.random((h, w)) < 0.2] = 0
        flow[:, :, a] = f
    return flow


GRID_CASES = [
    # (C, H, W, flow kind, description)
    (3, 8, 11, "small", "uniform flow in [-3, 3)"),
    (5, 7, 9, "integer", "integer flows in [-4, 4]"),
    (32, 9, 13, "large", "feature-sized C, flows uniform in [-20, 20) and [-50, 50): many samples fully outside"),
    (4, 10, 12, "special", "samples exactly on 0, W-1, -1, W, half-pixels and just outside"),
    (2, 1, 6, "small", "H = 1: grid_sample collapses the y coordinate to 0"),
    (3, 6, 1, "large", "W = 1: grid_sample collapses the x coordinate to 0"),
    (1, 1, 1, "small", "1x1"),
]


def make_grid_sample(seed=11):
    rng = np.random.default_rng(seed)
    tensors, meta = {}, {"cases": str(len(GRID_CASES))}
    for i, (c, h, w, kind, desc) in enumerate(GRID_CASES):
        x = rng.uniform(-1, 1, (c, h, w)).astype(np.float32)
        if kind == "small":
            flow = rng.uniform(-3, 3, (h, w, 2))
        elif kind == "integer":
            flow = rng.integers(-4, 5, (h, w, 2)).astype(np.float64)
        elif kind == "large":
            flow = np.where(rng.random((h, w, 2)) < 0.5, rng.uniform(-20, 20, (h, w, 2)), rng.uniform(-50, 50, (h, w, 2)))
        else:
            flow = special_flow(rng, h, w)
        flow = flow.astype(np.float32)
        tensors[f"case{i}.x"] = x
        tensors[f"case{i}.flow"] = flow
        meta[f"case{i}.desc"] = desc
        for mode in ("zeros", "border"):
            out = flow_warp_paddle(torch.from_numpy(x)[None], torch.from_numpy(flow)[None], mode)[0].numpy()
            want = flow_warp_spec(x, flow, mode)
            err = np.abs(out - want).max()
            if err > 1e-5:
                raise SystemExit(f"grid_sample case {i} ({mode}): torch and the spec formula differ by {err}")
            tensors[f"case{i}.out_{mode}"] = out.astype(np.float32)
    return tensors, meta


# ------------------------------------------------------------------------------------------ deform conv


def dcn_spec(x, offset, mask, weight, bias):
    """Spec §1.3 in float64: per group g and tap k = 3i + j, dy = offset[18g + 2k], dx = offset[18g + 2k + 1],
    m = mask[9g + k]; sample at (y − 1 + i + dy, x − 1 + j + dx) bilinear with zero corners."""
    cin, h, w = x.shape
    g = mask.shape[0] // 9
    cpg = cin // g
    yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    cols = np.zeros((cin, 9, h, w))
    for grp in range(g):
        xs = x[grp * cpg : (grp + 1) * cpg]
        for k in range(9):
            i, j = divmod(k, 3)
            py = yy - 1 + i + offset[18 * grp + 2 * k]
            px = xx - 1 + j + offset[18 * grp + 2 * k + 1]
            y0 = np.floor(py).astype(np.int64)
            x0 = np.floor(px).astype(np.int64)
            ly = py - y0
            lx = px - x0
            v = np.zeros((cpg, h, w))
            for cy, cx, wt in ((y0, x0, (1 - ly) * (1 - lx)), (y0, x0 + 1, (1 - ly) * lx), (y0 + 1, x0, ly * (1 - lx)), (y0 + 1, x0 + 1, ly * lx)):
                ok = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w)
                v += np.where(ok, wt, 0.0) * xs[:, np.clip(cy, 0, h - 1), np.clip(cx, 0, w - 1)]
            cols[grp * cpg : (grp + 1) * cpg, k] = v * mask[9 * grp + k]
    return np.einsum("ock,ckhw->ohw", weight.reshape(weight.shape[0], cin, 9), cols) + bias[:, None, None]


DCN_CASES = [
    # (G, Cin, Cout, H, W, description)
    (4, 32, 32, 7, 9, "G=4, mixed offsets"),
    (8, 32, 32, 5, 13, "G=8, mixed offsets"),
    (4, 32, 32, 5, 13, "G=4, mixed offsets"),
    (8, 32, 32, 7, 9, "G=8, mixed offsets"),
    (8, 64, 64, 6, 7, "G=8, Cin=Cout=64, mixed offsets"),
]


def mixed_offsets(rng, shape, h, w):
    """Per element: 35% uniform [-3,3), 20% integer in [-3,3], 25% uniform [-20,20), 20% beyond the image
    (|d| > size + 1 so the sample is fully outside)."""
    kind = rng.random(shape)
    small = rng.uniform(-3, 3, shape)
    integer = rng.integers(-3, 4, shape).astype(np.float64)
    large = rng.uniform(-20, 20, shape)
    far = np.sign(rng.uniform(-1, 1, shape)) * (max(h, w) + 2 + rng.uniform(0, 5, shape))
    return np.where(kind < 0.35, small, np.where(kind < 0.55, integer, np.where(kind < 0.8, large, far))).astype(np.float32)


def make_deform_conv(seed=12):
    rng = np.random.default_rng(seed)
    tensors, meta = {}, {"cases": str(len(DCN_CASES))}
    for i, (g, cin, cout, h, w, desc) in enumerate(DCN_CASES):
        x = rng.uniform(-1, 1, (cin, h, w)).astype(np.float32)
        offset = mixed_offsets(rng, (2 * g * 9, h, w), h, w)
        mask = (1 / (1 + np.exp(-rng.normal(0, 1.5, (g * 9, h, w))))).astype(np.float32)
        bound = 1 / np.sqrt(cin * 9)
        weight = rng.uniform(-bound, bound, (cout, cin, 3, 3)).astype(np.float32)
        bias = rng.uniform(-0.5, 0.5, (cout,)).astype(np.float32)
        t = lambda a: torch.from_numpy(a.astype(np.float64))  # noqa: E731
        out = torchvision.ops.deform_conv2d(t(x)[None], t(offset)[None], t(weight), t(bias), stride=1, padding=1, dilation=1, mask=t(mask)[None])[0].numpy()
        want = dcn_spec(x.astype(np.float64), offset.astype(np.float64), mask.astype(np.float64), weight.astype(np.float64), bias.astype(np.float64))
        err = np.abs(out - want).max()
        if err > 1e-9:
            raise SystemExit(f"deform_conv case {i}: torchvision and the spec formula differ by {err}")
        for k, v in (("x", x), ("offset", offset), ("mask", mask), ("weight", weight), ("bias", bias), ("out", out.astype(np.float32))):
            tensors[f"case{i}.{k}"] = v
        meta[f"case{i}.G"] = str(g)
        meta[f"case{i}.desc"] = desc
    return tensors, meta


def write_all(out_dir):
    torch.set_num_threads(1)
    os.makedirs(out_dir, exist_ok=True)
    common = {"generator": "tools/make_op_fixtures.py"}
    t, m = make_grid_sample()
    save_safetensors(t, os.path.join(out_dir, GRID_FILE), {**common, **m})
    t, m = make_deform_conv()
    save_safetensors(t, os.path.join(out_dir, DCN_FILE), {**common, **m, "dtype": "computed in float64, stored float32"})
    return [os.path.join(out_dir, f) for f in (GRID_FILE, DCN_FILE)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare with --out byte for byte")
    a = ap.parse_args()
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            bad = [os.path.basename(p) for p in write_all(tmp) if not filecmp.cmp(p, os.path.join(a.out, os.path.basename(p)), shallow=False)]
        if bad:
            raise SystemExit(f"fixtures differ from a fresh run: {', '.join(bad)}")
        print("fixtures are up to date")
        return
    for p in write_all(a.out):
        print(f"wrote {os.path.relpath(p, REPO)} ({os.path.getsize(p)} bytes)")


if __name__ == "__main__":
    main()
