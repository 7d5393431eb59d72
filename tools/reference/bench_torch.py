"""PyTorch peer of the PP-MSVSR benchmark: times the reference forward (msvsr_torch.MSVSR, eval, no grad)
on given or generated frames and prints one JSON object.

    /usr/bin/python3 tools/reference/bench_torch.py --config msvsr --frames 2 --size 64x64 \\
        --weights-seed 1 [--input frames.f32|.npy] [--warmup 1] [--reps 3] [--device cpu|cuda] \\
        [--threads N] [--half | --autocast] [--tf32 default|on|off] [--include-transfer] [--output out.f32] [--json]

Input frames: `--input` is a raw little-endian float32 file of shape [T,3,H,W] (what the Node bench writes)
or a .npy of that shape; without it, deterministic frames come from `--frames-seed` (the fixtures'
`make_frames`). Weights: seeded-v1 (`--weights-seed`, the same values as src/weights/seeded.ts) or
`--pdparams` (a PaddleGAN file).

Timing: one chunk = one forward of all T frames, input already on the device, ended by
torch.cuda.synchronize() on CUDA; `--include-transfer` also times the host->device copy of the frames and
the device->host copy of the output (what an ORT session.run includes). secondsPerChunk is the median of
`--reps` timed runs after `--warmup` untimed ones; firstRunSeconds is the very first forward (cuDNN
autotuning included on CUDA, where torch.backends.cudnn.benchmark is on).

Runs with torch 1.13 on CPU (this build machine: /usr/bin/python3) and torch 2.x on CUDA; needs numpy.
torchvision is optional: without it the DCN is msvsr_torch's pure grid_sample version (`dcnImpl` in the
JSON says which ran).
"""
import argparse
import ast
import hashlib
import json
import os
import platform
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import msvsr_torch  # noqa: E402
from msvsr_torch import MSVSR, param_manifest  # noqa: E402

from seeded import seeded_state_dict  # noqa: E402


def seeded_state_torch(seed, config):
    return {k: torch.from_numpy(v) for k, v in seeded_state_dict(seed, config).items()}


# ----------------------------------------------------------------------------------------------------
# frames


def parse_size(s):
    h, w = s.lower().split("x")
    return int(h), int(w)


def _read_npy(path):
    """float32 C-order .npy -> (tensor, shape) without numpy."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise SystemExit(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen = struct.unpack("<H", data[8:10])[0]
        off = 10
    else:
        hlen = struct.unpack("<I", data[8:12])[0]
        off = 12
    header = ast.literal_eval(data[off:off + hlen].decode("latin1"))
    if header["descr"] not in ("<f4", "|f4") or header["fortran_order"]:
        raise SystemExit(f"{path}: need little-endian float32 C order, got {header}")
    body = bytearray(data[off + hlen:])
    return torch.frombuffer(body, dtype=torch.float32), tuple(header["shape"])


def load_frames(path, T, H, W):
    if path.endswith(".npy"):
        t, shape = _read_npy(path)
        if len(shape) == 5 and shape[0] == 1:
            shape = shape[1:]
        if T is None and len(shape) == 4:
            T = shape[0]
    else:
        with open(path, "rb") as f:
            t = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
        if sys.byteorder != "little":  # pragma: no cover
            raise SystemExit("big-endian host")
    if T is None:
        raise SystemExit("--frames is needed with a raw .f32 input")
    if t.numel() != T * 3 * H * W:
        raise SystemExit(f"{path}: {t.numel()} floats, expected T*3*H*W = {T * 3 * H * W}")
    return t.reshape(T, 3, H, W).clone(), T


# ----------------------------------------------------------------------------------------------------


def device_name(dev):
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def raw_bytes(t):
    """Little-endian bytes of a contiguous float32 CPU tensor, without numpy."""
    import ctypes

    t = t.contiguous()
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


def checksum(out):
    """out: float32 CPU tensor [T,3,4H,4W]."""
    flat = out.reshape(-1).to(torch.float64)
    n = flat.numel()
    idx = sorted({0, n // 7, 2 * n // 7, 3 * n // 7, n // 2, 4 * n // 7, 5 * n // 7, 6 * n // 7, n - 1})
    return dict(
        shape=list(out.shape),
        mean=float(flat.mean()),
        meanAbs=float(flat.abs().mean()),
        rms=float(flat.pow(2).mean().sqrt()),
        min=float(flat.min()),
        max=float(flat.max()),
        sampleIndices=idx,
        samples=[float(flat[i]) for i in idx],
        sha256=hashlib.sha256(raw_bytes(out.to(torch.float32))).hexdigest(),
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="msvsr", choices=["msvsr", "msvsr_l"])
    p.add_argument("--frames", "-T", type=int, default=None, help="T (optional with a .npy --input)")
    p.add_argument("--size", required=True, help="HxW of the low-resolution frames, e.g. 180x320")
    p.add_argument("--weights-seed", type=int, default=1, help="seeded-v1 weights seed (default 1)")
    p.add_argument("--pdparams", default=None, help="PaddleGAN .pdparams instead of seeded weights")
    p.add_argument("--input", default=None, help="raw float32 [T,3,H,W] file (.f32 / .bin) or .npy")
    p.add_argument("--frames-seed", type=int, default=7, help="seed of generated frames when --input is absent")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    p.add_argument("--half", action="store_true",
                   help="fp16 weights and activations (CUDA only); flow_warp samples in fp32 (its pixel grid needs it)")
    p.add_argument("--autocast", action="store_true", help="fp32 weights, torch.autocast(cuda, float16) (CUDA only)")
    p.add_argument("--tf32", default="default", choices=["default", "on", "off"],
                   help="cuDNN / matmul TF32 on CUDA (default: leave PyTorch's setting; it is reported)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model (torch >= 2; compile time lands in firstRunSeconds)")
    p.add_argument("--dcn", default="auto", choices=["auto", "torchvision", "grid_sample"])
    p.add_argument("--include-transfer", action="store_true", help="time H2D of the frames and D2H of the output too")
    p.add_argument("--output", default=None, help="write the output [T,3,4H,4W] as raw float32 here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout (always the case; accepted for symmetry)")
    a = p.parse_args(argv)

    H, W = parse_size(a.size)
    notes = []
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    if (a.half or a.autocast) and dev.type != "cuda":
        raise SystemExit("--half / --autocast need --device cuda")
    if a.half and a.autocast:
        raise SystemExit("--half or --autocast, not both")
    if a.half:
        # msvsr_torch.flow_warp builds its sampling grid in float32 (pixel index + flow: fp16 would round
        # positions to 0.25 px at x >= 256) and grid_sample wants one dtype: sample in fp32, return fp16.
        _flow_warp32 = msvsr_torch.flow_warp

        def _flow_warp_half(x, flow, padding_mode="zeros"):
            return _flow_warp32(x.float(), flow.float(), padding_mode).to(x.dtype)

        msvsr_torch.flow_warp = _flow_warp_half
        notes.append("--half: model and activations fp16; flow_warp (grid_sample) computed in fp32")
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.dcn != "auto":
        msvsr_torch.set_dcn_impl(a.dcn)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        if a.tf32 != "default":
            torch.backends.cudnn.allow_tf32 = a.tf32 == "on"
            torch.backends.cuda.matmul.allow_tf32 = a.tf32 == "on"

    # frames
    if a.input:
        frames, T = load_frames(a.input, a.frames, H, W)
        src = os.path.abspath(a.input)
    else:
        if a.frames is None:
            raise SystemExit("--frames is required without --input")
        T = a.frames
        from make_fixtures import make_frames

        frames = torch.from_numpy(make_frames(a.frames_seed, T, H, W))
        src = f"make_frames(seed={a.frames_seed})"

    # model
    model = MSVSR.from_config(a.config)
    if a.pdparams:
        from pdparams import load_pdparams

        state = {k: torch.from_numpy(v.copy()) for k, v in load_pdparams(a.pdparams).items()}
        wsrc = f"pdparams:{os.path.abspath(a.pdparams)}"
    else:
        state = seeded_state_torch(a.weights_seed, a.config)
        wsrc = f"seeded-v1:{a.weights_seed}"
    model.load_state_dict(state, strict=True)
    model.eval()
    dtype = torch.float16 if a.half else torch.float32
    model.to(device=dev, dtype=dtype)

    if a.compile:
        if not hasattr(torch, "compile"):
            raise SystemExit("--compile needs torch >= 2.0")
        model = torch.compile(model)
        notes.append("torch.compile (default mode)")

    lq_host = frames.unsqueeze(0).contiguous()
    if dev.type == "cuda":
        lq_host = lq_host.pin_memory()
    lq_dev = lq_host.to(dev, dtype=dtype)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    grad_ctx = torch.inference_mode if hasattr(torch, "inference_mode") else torch.no_grad
    if a.autocast:
        notes.append("--autocast: fp32 weights, torch.autocast(device_type='cuda', dtype=torch.float16)")

    def fwd(x):
        if a.autocast:
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                return model(x)
        return model(x)

    def run_once():
        sync()
        t0 = time.perf_counter()
        if a.include_transfer:
            x = lq_host.to(dev, dtype=dtype, non_blocking=True)
            out = fwd(x)
            out = out.to("cpu", torch.float32)
        else:
            out = fwd(lq_dev)
        sync()
        return time.perf_counter() - t0, out

    runs = []
    first = None
    out = None
    with grad_ctx():
        for i in range(a.warmup + a.reps):
            dt, out = run_once()
            if first is None:
                first = dt
            if i >= a.warmup:
                runs.append(dt)
        out = out[0].to("cpu", torch.float32).contiguous()

    if a.output:
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        with open(a.output, "wb") as f:
            f.write(raw_bytes(out))

    spc = statistics.median(runs) if runs else float("nan")
    cuda_info = {}
    if dev.type == "cuda":
        cuda_info = dict(
            cudnnBenchmark=torch.backends.cudnn.benchmark,
            cudnnAllowTf32=torch.backends.cudnn.allow_tf32,
            matmulAllowTf32=torch.backends.cuda.matmul.allow_tf32,
            cudnn=torch.backends.cudnn.version(),
            cudaRuntime=torch.version.cuda,
            maxMemoryAllocatedBytes=torch.cuda.max_memory_allocated(dev),
        )
    try:
        import torchvision

        tv = torchvision.__version__
    except Exception:
        tv = None
    result = dict(
        name=f"PyTorch {torch.__version__} ({dev.type}{', fp16' if a.half else ', autocast fp16' if a.autocast else ''})",
        device=dev.type,
        deviceName=device_name(dev),
        torch=torch.__version__,
        torchvision=tv,
        threads=torch.get_num_threads(),
        dtype="float16" if a.half else "autocast-float16" if a.autocast else "float32",
        config=a.config,
        T=T,
        H=H,
        W=W,
        weights=wsrc,
        input=src,
        dcnImpl=msvsr_torch._DCN_IMPL,
        warmup=a.warmup,
        reps=a.reps,
        includeTransfer=bool(a.include_transfer),
        secondsPerChunk=spc,
        secondsPerFrame=spc / T,
        runs=runs,
        firstRunSeconds=first,
        outputChecksum=checksum(out),
        output=os.path.abspath(a.output) if a.output else None,
        notes=notes,
        **cuda_info,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
