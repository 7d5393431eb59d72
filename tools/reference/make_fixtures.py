"""Golden fixtures for the WebGPU PP-MSVSR implementation (see tools/reference/README.md).

    /usr/bin/python3 tools/reference/make_fixtures.py            # (re)write everything in test/fixtures/
    /usr/bin/python3 tools/reference/make_fixtures.py --check    # regenerate in a temp dir, compare bytes
    /usr/bin/python3 tools/reference/make_fixtures.py --only t2_32x48 --out /tmp/fx

Everything is a pure function of the seeds below: weights come from seeded.py (bit-identical in
src/weights/seeded.ts), input frames from numpy's PCG64 stream, and the forward pass runs single-threaded
with deterministic algorithms on CPU.
"""
import argparse
import filecmp
import hashlib
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from msvsr_torch import MSVSR, load_numpy_state, param_manifest, resolve_config  # noqa: E402
from pdparams import load_pdparams, save_pdparams  # noqa: E402
from safetensors_io import save_safetensors  # noqa: E402
from seeded import seeded_state_dict, seeded_tensor  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_OUT = os.path.join(REPO, "test", "fixtures")

SEEDED_ALGO = "seeded-v1"
WEIGHTS_SEED = {"msvsr": 1, "msvsr_l": 2}
WEIGHTS_FILE = "msvsr_random.pdparams"  # PP-MSVSR only; the -L weights are regenerated from the seed

# name, config, T, H, W, input seed, debug (also store stage2_backward_0, aux_feat_0, stage3_backward_0)
CASES = [
    dict(name="t1_32x48", config="msvsr", T=1, H=32, W=48, seed=101, debug=False),
    dict(name="t2_32x48", config="msvsr", T=2, H=32, W=48, seed=102, debug=True),
    dict(name="t5_32x48", config="msvsr", T=5, H=32, W=48, seed=105, debug=False),
    dict(name="t7_40x56", config="msvsr", T=7, H=40, W=56, seed=107, debug=False),
    dict(name="l_t3_24x32", config="msvsr_l", T=3, H=24, W=32, seed=203, debug=False),
    # tiny and odd sizes: SPyNet pads them to 32x32 and back; single-pixel axes collapse in grid_sample
    dict(name="t2_1x1", config="msvsr", T=2, H=1, W=1, seed=111, debug=False),
    dict(name="t3_5x7", config="msvsr", T=3, H=5, W=7, seed=113, debug=False),
    dict(name="t2_13x37", config="msvsr", T=2, H=13, W=37, seed=117, debug=False),
]

# (seed, name, shape) triples for the TS/Python bit-identity check of seeded.py / seeded.ts
SEEDED_CHECK_SEEDS = [0, 0xDEADBEEF]
SEEDED_CHECK_TENSORS = [
    ("spynet.mean", (1, 3, 1, 1)),
    ("spynet.std", (1, 3, 1, 1)),
    ("spynet.basic_module.0.basic_module.11.conv.weight", (2, 8, 3, 3)),
    ("spynet.basic_module.0.basic_module.11.conv.bias", (2,)),
    ("spynet.basic_module.4.basic_module.14.conv.weight", (2, 16, 3, 3)),
    # shapes need not be real ones (only fan_in enters the bound); kept small, test/seeded.test.ts also
    # checks whole state dicts through the weights_sha256 of the msvsr_*.safetensors fixtures
    ("spynet.basic_module.4.basic_module.5.conv.weight", (8, 32, 3, 3)),
    ("feat_extract.covn1.weight", (32, 3, 3, 3)),
    ("backbone.stage2_backward.ResidualBlocks.block0.conv2.weight", (8, 32, 3, 3)),
    ("deform_align.stage3_forward.conv_offset.6.weight", (108, 32, 1, 1)),
    ("aux_fusion.weight", (4, 64, 3, 3)),
    ("aux_block_down1.2.weight", (4, 32, 3, 3)),
    ("conv_last.weight", (3, 32, 3, 3)),
    ("hybrid_conv_last.bias", (3,)),
    ("n\u00e4me.with.\u00fcnicode.scale", (7,)),
]


def setup_torch(threads=1):
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def make_frames(seed, T, H, W):
    """Smooth, structured, moving test frames in (0.1, 0.9): gradients + low-frequency waves + Gaussian
    blobs, every component translating by its own sub-pixel velocity per frame, so SPyNet has structure
    and motion to respond to. float64 maths, float32 result."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    nb = 8
    centres = rng.uniform(0.0, 1.0, (nb, 2)) * [H, W]
    vel = rng.uniform(-1.5, 1.5, (nb, 2))
    amp = rng.uniform(-0.9, 0.9, (nb, 3))
    sig = rng.uniform(2.5, 7.0, nb)
    grad = rng.uniform(-0.6, 0.6, (3, 2))
    nw = 3
    kvec = rng.uniform(-0.35, 0.35, (nw, 2))
    phase = rng.uniform(0, 2 * np.pi, (nw, 3))
    wamp = rng.uniform(0.1, 0.3, (nw, 3))
    gvel = rng.uniform(-1.0, 1.0, 2)  # global drift of the background
    out = np.zeros((T, 3, H, W), np.float64)
    for t in range(T):
        by, bx = yy - gvel[0] * t, xx - gvel[1] * t
        for c in range(3):
            img = grad[c, 0] * (by / H - 0.5) + grad[c, 1] * (bx / W - 0.5)
            for k in range(nw):
                img = img + wamp[k, c] * np.sin(kvec[k, 0] * by + kvec[k, 1] * bx + phase[k, c])
            for k in range(nb):
                cy, cx = centres[k] + vel[k] * t
                img = img + amp[k, c] * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig[k] ** 2))
            out[t, c] = 0.5 + 0.4 * np.tanh(1.5 * img)
    return out.astype(np.float32)


def weights_sha256(state, manifest):
    h = hashlib.sha256()
    for name, _ in manifest:
        h.update(np.ascontiguousarray(state[name], dtype="<f4").tobytes())
    return h.hexdigest()


def stats(a):
    a = np.asarray(a, np.float64)
    return dict(min=float(a.min()), max=float(a.max()), mean_abs=float(np.abs(a).mean()), rms=float(np.sqrt((a * a).mean())))


def run_case(case, state, manifest, wsha, weights_file):
    cfg = resolve_config(case["config"])
    T, H, W = case["T"], case["H"], case["W"]
    model = MSVSR(**cfg)
    load_numpy_state(model, state)
    model.eval()
    lq = make_frames(case["seed"], T, H, W)
    t0 = time.perf_counter()
    with torch.no_grad():
        out, it = model(torch.from_numpy(lq)[None], return_intermediates=True)
    secs = time.perf_counter() - t0

    def np0(x):  # drop the batch dim
        return x[0].detach().cpu().numpy().astype(np.float32)

    tens = {"lq": lq, "out": np0(out), "aux_0": np0(it["aux_out"][:, 0])}
    tens["spatial_0"] = np0(it["spatial"][0])
    tens["feat_stage1_0"] = np0(it["feat_stage1"][0])
    step_idx = None
    if T >= 2:
        tens["flow_backward_0"] = np0(it["flows_backward"][:, 0])
        tens["flow_forward_0"] = np0(it["flows_forward"][:, 0])
        for lvl, f in enumerate(it["spynet_levels"]["backward"]):
            tens[f"spynet_b0_level{lvl}"] = np0(f[:, 0])
        step_idx = T - 2  # first aligned step of the stage-2 backward pass (neighbour = frame T-1)
        tens[f"flow_backward_{step_idx}"] = np0(it["flows_backward"][:, step_idx])  # the flow that step used
        tens[f"offset_s2b_{step_idx}"] = np0(it["offset_s2b"][step_idx])
        tens[f"mask_s2b_{step_idx}"] = np0(it["mask_s2b"][step_idx])
    if case["debug"]:
        for k in ["stage2_backward", "aux_feat", "stage3_backward"]:
            tens[f"{k}_0"] = np0(it[k][0])
    meta = dict(
        case=case["name"],
        config=case["config"],
        config_args=json.dumps(cfg, sort_keys=True),
        T=T,
        H=H,
        W=W,
        mid_channels=cfg["mid_channels"],
        seed=case["seed"],
        weights_seed=WEIGHTS_SEED[case["config"]],
        weights_algo=SEEDED_ALGO,
        weights_file=weights_file,
        weights_sha256=wsha,
        weights_manifest=json.dumps([[n, list(s)] for n, s in manifest], separators=(",", ":")),
        offset_step_idx="" if step_idx is None else step_idx,
        generator="tools/reference/make_fixtures.py",
        torch=torch.__version__,
        layout="float32, NCHW without the batch dim: lq [T,3,H,W], out [T,3,4H,4W]",
    )
    info = dict(secs=secs, out=stats(tens["out"]))
    if T >= 2:
        fb = np.concatenate([np0(it["flows_backward"]), np0(it["flows_forward"])])
        info["flow"] = stats(fb)
        info["flow_abs_max"] = float(np.abs(fb).max())
    return tens, meta, info


def write_seeded_check(out_dir):
    tens = {}
    for seed in SEEDED_CHECK_SEEDS:
        for name, shape in SEEDED_CHECK_TENSORS:
            tens[f"{seed}/{name}"] = seeded_tensor(seed, name, shape)
    meta = dict(
        weights_algo=SEEDED_ALGO,
        key_format="<seed>/<name>; shape = the tensor's shape",
        generator="tools/reference/make_fixtures.py",
    )
    path = os.path.join(out_dir, "seeded_check.safetensors")
    save_safetensors(tens, path, meta)
    return path


def generate(out_dir, only=None, threads=1, verbose=True):
    setup_torch(threads)
    os.makedirs(out_dir, exist_ok=True)
    written = [write_seeded_check(out_dir)]
    states = {}
    for case in CASES:
        if only and case["name"] not in only:
            continue
        cfgname = case["config"]
        if cfgname not in states:
            manifest = param_manifest(cfgname)
            state = seeded_state_dict(WEIGHTS_SEED[cfgname], cfgname)
            weights_file = ""
            if cfgname == "msvsr":
                path = os.path.join(out_dir, WEIGHTS_FILE)
                save_pdparams(state, path, protocol=4, name_table=True)  # byte layout of paddle.save
                written.append(path)
                state = load_pdparams(path)  # run from what the file holds
                weights_file = WEIGHTS_FILE
            states[cfgname] = (state, manifest, weights_sha256(state, manifest), weights_file)
        tens, meta, info = run_case(case, *states[cfgname])
        path = os.path.join(out_dir, f"msvsr_{case['name']}.safetensors")
        save_safetensors(tens, path, meta)
        written.append(path)
        if verbose:
            o = info["out"]
            line = f"{case['name']:12s} {info['secs']:6.2f}s  out min {o['min']:.3f} max {o['max']:.3f} mean|.| {o['mean_abs']:.3f}"
            if "flow" in info:
                line += f"  flow rms {info['flow']['rms']:.3f} mean|.| {info['flow']['mean_abs']:.3f} max|.| {info['flow_abs_max']:.3f}"
            print(line + f"  {os.path.getsize(path) / 1e6:.2f} MB", flush=True)
    if verbose:
        total = sum(os.path.getsize(p) for p in written)
        for p in written:
            print(f"  {os.path.relpath(p, out_dir):36s} {os.path.getsize(p):>10d} B  sha256 {sha256_file(p)[:16]}")
        print(f"  total {total / 1e6:.2f} MB")
    return written


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", help="case names (default: all); seeded_check is always written")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare with --out byte for byte")
    args = ap.parse_args()
    if not args.check:
        generate(args.out, args.only, args.threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        written = generate(tmp, args.only, args.threads)
        bad = []
        for p in written:
            ref = os.path.join(args.out, os.path.basename(p))
            same = os.path.exists(ref) and filecmp.cmp(p, ref, shallow=False)
            print(f"  {'same' if same else 'DIFFERENT'}  {os.path.basename(p)}")
            if not same:
                bad.append(p)
        if bad:
            sys.exit(f"{len(bad)} fixture(s) differ")
        print("all fixtures reproduce byte for byte")


if __name__ == "__main__":
    main()
