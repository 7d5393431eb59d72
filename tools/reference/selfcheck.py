"""Self-checks of the PyTorch reference (plain asserts; no pytest):

    /usr/bin/python3 tools/reference/selfcheck.py [--device cuda]

1. module tree: parameter counts (1,453,607 / 7,417,197 trainable; 248 / 450 state-dict entries), names
   and shapes pinned by hash (the PP-MSVSR list equals MSVSR.state_dict() entry for entry), spot checks;
2. .pdparams writer/reader round trip, protocols 2 and 4, strict load into the model, reader safety;
3. DCNv2 (torchvision and the grid_sample fallback) against a naive loop implementing modulated DCNv2;
4. flow_warp against a naive bilinear loop (basicvsr.py flow_warp), zeros and border padding, samples outside;
5. bilinear resize (both align_corners), pixel shuffle, the flow->offset tiling of AlignmentModule;
6. network-level facts: the mirror shortcut equals computing both directions, T=1 runs, output shapes;
7. when the fixtures exist: msvsr_t2_32x48 reproduces from msvsr_random.pdparams.
"""
import argparse
import hashlib
import io
import json
import math
import os
import pickle
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import msvsr_torch as M  # noqa: E402
from pdparams import load_pdparams, save_pdparams  # noqa: E402
from safetensors_io import load_safetensors  # noqa: E402
from seeded import seeded_state_dict  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "test", "fixtures")

# sha256 of json.dumps([[name, list(shape)], ...]) in state-dict order. The PP-MSVSR value was taken
# after checking the manifest against MSVSR.state_dict() line by line (248 names and shapes, same order).
MANIFEST_SHA256 = {
    "msvsr": "93655fc41db100bd4b14368690b41dbda4c783bebfe1fc59845f6181c3e238e0",
    "msvsr_l": "64e908fa38bb551027633e4ea9a0a625723170555c10af7d771f86eef98efa85",
}


def manifest_sha(cfg):
    return hashlib.sha256(json.dumps([[n, list(s)] for n, s in M.param_manifest(cfg)]).encode()).hexdigest()


def check_module_tree():
    for cfg, params, entries in [("msvsr", 1_453_607, 248), ("msvsr_l", 7_417_197, 450)]:
        m = M.MSVSR.from_config(cfg)
        n = M.trainable_count(m)
        sd = m.state_dict()
        assert n == params, (cfg, n)
        assert len(sd) == entries, (cfg, len(sd))
        assert sum(v.numel() for v in sd.values()) == params + 6
        sha = manifest_sha(cfg)
        assert sha == MANIFEST_SHA256[cfg], (cfg, sha)
        print(f"  {cfg}: {n:,} trainable parameters, {len(sd)} state-dict entries, manifest sha256 {sha[:16]}")
    man = dict(M.param_manifest("msvsr"))
    names = list(man)
    assert names[:2] == ["spynet.mean", "spynet.std"] and names[-1] == "hybrid_conv_last.bias"
    for k, s in [
        ("feat_extract.covn1.weight", (32, 3, 3, 3)),
        ("spynet.basic_module.2.basic_module.11.conv.weight", (2, 8, 3, 3)),
        ("deform_align.stage3_backward.mdconv.weight", (32, 32, 3, 3)),
        ("deform_align.stage2_forward.conv_offset.6.weight", (108, 32, 3, 3)),
        ("stage1_align.conv_offset.6.weight", (216, 32, 3, 3)),
        ("backbone.stage3_forward.covn1.weight", (32, 192, 3, 3)),
        ("aux_block_down1.0.weight", (32, 35, 3, 3)),
        ("upsample1.upsample_conv.weight", (128, 32, 3, 3)),
    ]:
        assert man[k] == s, (k, man[k])
    assert "conv_hr.weight" not in man
    ml = M.param_manifest("msvsr_l")
    nl = [n for n, _ in ml]
    dl = dict(ml)
    assert nl.index("conv_hr.weight") == nl.index("upsample2.upsample_conv.bias") + 1
    assert nl.index("conv_last.weight") == nl.index("conv_hr.bias") + 1
    chain = [dl[f"spynet.basic_module.5.basic_module.{i}.conv.weight"][:2] for i in range(15)]
    assert [c[1] for c in chain] + [chain[-1][0]] == M._SPYNET_FULL, chain
    assert "spynet.basic_module.6.basic_module.0.conv.weight" not in dl
    assert dl["deform_align.stage2_backward.conv_offset.0.weight"] == (64, 130, 3, 3)
    assert dl["deform_align.stage3_forward.conv_offset.6.weight"] == (216, 64, 3, 3)
    assert dl["stage1_blocks.ResidualBlocks.block2.conv2.weight"] == (64, 64, 3, 3)
    assert "stage1_blocks.ResidualBlocks.block3.conv1.weight" not in dl
    assert "backbone.stage3_forward.ResidualBlocks.block6.conv2.weight" in dl
    assert "reconstruction.ResidualBlocks.block4.conv2.bias" in dl
    assert "aux_reconstruction.ResidualBlocks.block1.conv2.bias" in dl
    assert "feat_extract.ResidualBlocks.block4.conv2.bias" in dl


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def check_pdparams():
    state = seeded_state_dict(3, "msvsr")
    with tempfile.TemporaryDirectory() as tmp:
        for proto in (2, 4):
            p = os.path.join(tmp, f"w{proto}.pdparams")
            save_pdparams(state, p, protocol=proto, name_table=True)
            with open(p, "rb") as f:
                head = f.read(2)
            assert head == bytes([0x80, proto]), head
            with open(p, "rb") as f:
                raw = pickle.load(f)  # trusted: written just above
            assert list(raw) == ["generator", "StructuredToParameterName@@"] and raw["StructuredToParameterName@@"] == {}
            back = load_pdparams(p)
            assert list(back) == list(state), "order or names changed"
            for k, v in state.items():
                assert back[k].dtype == np.float32 and back[k].shape == v.shape and np.array_equal(back[k], v), k
            m = M.MSVSR.from_config("msvsr")
            res = M.load_numpy_state(m, back)  # strict=True raises on any missing / unexpected name
            assert not res.missing_keys and not res.unexpected_keys
            assert torch.equal(m.deform_align["stage3_backward"].mdconv.weight.detach(), torch.from_numpy(state["deform_align.stage3_backward.mdconv.weight"]))
            print(f"  protocol {proto}: {os.path.getsize(p):,} bytes, {len(back)} arrays round-trip exactly, strict load OK")
        # layouts other writers produce: flat dict, Paddle 2.1 (name, ndarray) tuples, the name-table key
        p = os.path.join(tmp, "flat.pdparams")
        alt = {k: (f"param_{i}", v) for i, (k, v) in enumerate(list(state.items())[:5])}
        alt["StructuredToParameterName@@"] = {}
        with open(p, "wb") as f:
            pickle.dump(alt, f, protocol=2)
        back = load_pdparams(p)
        assert list(back) == list(state)[:5] and all(np.array_equal(back[k], state[k]) for k in back)
        # the reader must refuse arbitrary globals
        p = os.path.join(tmp, "evil.pdparams")
        with open(p, "wb") as f:
            pickle.dump({"generator": {"x": _Evil()}}, f, protocol=4)
        try:
            load_pdparams(p)
        except pickle.UnpicklingError:
            pass
        else:
            raise AssertionError("restricted unpickler accepted os.getcwd")
    print("  flat / tuple-valued layouts read; hostile global refused")


# ---------------------------------------------------------------------------------------------------
# naive references, written from the spec text only


def naive_bilinear(img, py, px, zero_outside):
    """flow_warp / DCNv2 bilinear sampling of one channel img[H][W] at (py, px)."""
    H, W = img.shape
    y0, x0 = math.floor(py), math.floor(px)
    ay, ax = py - y0, px - x0
    v = 0.0
    for yy, xx, wgt in [(y0, x0, (1 - ay) * (1 - ax)), (y0, x0 + 1, (1 - ay) * ax), (y0 + 1, x0, ay * (1 - ax)), (y0 + 1, x0 + 1, ay * ax)]:
        if 0 <= yy < H and 0 <= xx < W:
            v += wgt * float(img[yy, xx])
        elif not zero_outside:
            assert wgt == 0.0
    return v


def naive_flow_warp(x, flow, padding_mode):
    """x (C,H,W), flow (2,H,W) with channel 0 = x displacement."""
    C, H, W = x.shape
    out = np.zeros((C, H, W))
    for i in range(H):
        for j in range(W):
            sx = j + float(flow[0, i, j])
            sy = i + float(flow[1, i, j])
            if padding_mode == "border":
                sx = min(max(sx, 0.0), W - 1.0)
                sy = min(max(sy, 0.0), H - 1.0)
            for c in range(C):
                out[c, i, j] = naive_bilinear(x[c], sy, sx, True)
    return out


def naive_dcn(x, offset, mask, weight, bias):
    """Modulated DCNv2 (paddle.vision.ops.deform_conv2d), k=3, stride 1, pad 1, dilation 1; offsets (dy, dx) per tap."""
    Cin, H, W = x.shape
    Cout = weight.shape[0]
    G = mask.shape[0] // 9
    cpg = Cin // G
    out = np.zeros((Cout, H, W))
    for y in range(H):
        for xx in range(W):
            samp = np.zeros((Cin, 9))
            for c in range(Cin):
                g = c // cpg
                for k in range(9):
                    i, j = divmod(k, 3)
                    dy = float(offset[g * 18 + 2 * k, y, xx])
                    dx = float(offset[g * 18 + 2 * k + 1, y, xx])
                    m = float(mask[g * 9 + k, y, xx])
                    py, px = y - 1 + i + dy, xx - 1 + j + dx
                    if py <= -1 or px <= -1 or py >= H or px >= W:
                        s = 0.0
                    else:
                        s = naive_bilinear(x[c], py, px, True)
                    samp[c, k] = m * s
            for o in range(Cout):
                out[o, y, xx] = float(bias[o]) + float((weight[o].reshape(Cin, 9).astype(np.float64) * samp).sum())
    return out


def naive_resize(img, oh, ow, align_corners):
    """Paddle F.interpolate bilinear resize of img (C,H,W)."""
    C, H, W = img.shape

    def src_idx(d, n_in, n_out):
        if align_corners:
            s = d * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            s = max((d + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = int(math.floor(s))
        return i0, min(i0 + 1, n_in - 1), s - i0

    out = np.zeros((C, oh, ow))
    for y in range(oh):
        y0, y1, ly = src_idx(y, H, oh)
        for x in range(ow):
            x0, x1, lx = src_idx(x, W, ow)
            out[:, y, x] = (1 - ly) * ((1 - lx) * img[:, y0, x0] + lx * img[:, y0, x1]) + ly * ((1 - lx) * img[:, y1, x0] + lx * img[:, y1, x1])
    return out


def check_dcn(device):
    g = torch.Generator().manual_seed(5)
    Cin, Cout, G, H, W = 8, 3, 4, 5, 7
    x = torch.randn(1, Cin, H, W, generator=g)
    off = torch.randn(1, 18 * G, H, W, generator=g) * 2.5  # many taps land outside the image
    off[0, 0:4] = torch.tensor([-1.0, 0.0, 2.0, -3.0]).view(4, 1, 1)  # integral positions, the -1 border
    off[0, 5, 2, 3] = 7.5
    msk = torch.rand(1, 9 * G, H, W, generator=g)
    wt = torch.randn(Cout, Cin, 3, 3, generator=g)
    b = torch.randn(Cout, generator=g)
    ref = naive_dcn(x[0].numpy(), off[0].numpy(), msk[0].numpy(), wt.numpy(), b.numpy())
    dev = [a.to(device) for a in (x, off, msk, wt, b)]
    for impl in (["torchvision"] if M._tv_deform_conv2d is not None else []) + ["grid_sample"]:
        M.set_dcn_impl(impl)
        got = M.modulated_deform_conv(dev[0], dev[1], dev[2], dev[3], dev[4]).cpu().double().numpy()[0]
        err = np.abs(got - ref).max()
        assert err < 1e-4 * max(1.0, np.abs(ref).max()), (impl, err)
        print(f"  DCN {impl:11s} vs naive DCNv2 loop: max abs err {err:.2e} (|ref| max {np.abs(ref).max():.2f})")
    # the (x, y) swap must matter, i.e. the test can tell (dy, dx) from (dx, dy)
    swapped = off.view(1, G * 9, 2, H, W).flip(2).reshape(1, 18 * G, H, W)
    M.set_dcn_impl("torchvision" if M._tv_deform_conv2d is not None else "grid_sample")
    got = M.modulated_deform_conv(dev[0], swapped.to(device), dev[2], dev[3], dev[4]).cpu().double().numpy()[0]
    assert np.abs(got - ref).max() > 0.1


def check_flow_warp(device):
    g = torch.Generator().manual_seed(6)
    C, H, W = 3, 6, 9
    x = torch.randn(1, C, H, W, generator=g)
    flow = torch.randn(1, 2, H, W, generator=g) * 3.0  # plenty of samples outside the image
    flow[0, :, 0, 0] = torch.tensor([-1.0, -1.0])  # exactly one pixel out: corner weight 0 or 1
    flow[0, :, 1, 1] = torch.tensor([W + 5.0, -0.25])
    flow[0, :, 2, 2] = torch.tensor([0.5, 0.0])
    for mode in ("zeros", "border"):
        ref = naive_flow_warp(x[0].numpy(), flow[0].numpy(), mode)
        got = M.flow_warp(x.to(device), flow.permute(0, 2, 3, 1).to(device), padding_mode=mode).cpu().double().numpy()[0]
        err = np.abs(got - ref).max()
        assert err < 2e-5 * max(1.0, np.abs(ref).max()), (mode, err)
        print(f"  flow_warp {mode:6s} vs naive loop: max abs err {err:.2e}")
    # channel 0 is x: a pure +1 x flow shifts content left by one column
    f1 = torch.zeros(1, H, W, 2)
    f1[..., 0] = 1.0
    got = M.flow_warp(x.to(device), f1.to(device)).cpu()
    assert torch.allclose(got[0, :, :, :-1], x[0, :, :, 1:], atol=1e-5) and torch.all(got[0, :, :, -1] == 0)


def check_small_ops():
    g = torch.Generator().manual_seed(7)
    for (h, w, oh, ow, ac) in [(24, 40, 32, 64, False), (32, 64, 24, 40, False), (7, 5, 28, 20, False), (1, 2, 2, 4, True), (3, 5, 6, 10, True)]:
        img = torch.randn(1, 2, h, w, generator=g)
        got = F.interpolate(img, size=(oh, ow), mode="bilinear", align_corners=ac)[0].double().numpy()
        ref = naive_resize(img[0].double().numpy(), oh, ow, ac)
        assert np.abs(got - ref).max() < 1e-5, (h, w, oh, ow, ac)
    # scale_factor forms used by the network give the same sampling as the explicit size
    img = torch.randn(1, 2, 5, 6, generator=g)
    assert torch.allclose(F.interpolate(img, scale_factor=4, mode="bilinear", align_corners=False), torch.from_numpy(naive_resize(img[0].double().numpy(), 20, 24, False)).float()[None], atol=1e-6)
    assert torch.allclose(F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=True), torch.from_numpy(naive_resize(img[0].double().numpy(), 10, 12, True)).float()[None], atol=1e-6)
    # pixel shuffle: out[c, 2y+i, 2x+j] = in[4c + 2i + j, y, x]
    a = torch.randn(1, 8, 3, 4, generator=g)
    ps = F.pixel_shuffle(a, 2)
    for c, y, x, i, j in [(0, 0, 0, 0, 1), (1, 2, 3, 1, 0), (1, 1, 2, 1, 1)]:
        assert ps[0, c, 2 * y + i, 2 * x + j] == a[0, 4 * c + 2 * i + j, y, x]
    # AlignmentModule offsets: 10*tanh(0) + (fy, fx) tiled pairwise when conv_offset is all zero
    al = M.AlignmentModule(4, 2)
    for prm in al.parameters():
        torch.nn.init.zeros_(prm)
    flow = torch.randn(1, 2, 3, 4, generator=g)
    _, off, msk = al(torch.randn(1, 4, 3, 4, generator=g), torch.randn(1, 8, 3, 4, generator=g), flow)
    assert off.shape[1] == 36 and msk.shape[1] == 18 and torch.all(msk == 0.5)
    assert torch.equal(off[0, 0::2], flow[0, 1:2].expand(18, -1, -1)) and torch.equal(off[0, 1::2], flow[0, 0:1].expand(18, -1, -1))
    print("  bilinear resize (both align_corners, size and scale forms), pixel shuffle, offset tiling: OK")


def check_network(device):
    torch.manual_seed(0)
    m = M.MSVSR.from_config("msvsr", device=device)
    M.load_numpy_state(m, seeded_state_dict(4, "msvsr"))
    m.eval()
    g = torch.Generator().manual_seed(8)
    lq = torch.rand(1, 2, 3, 32, 40, generator=g)
    mirrored = torch.cat([lq, lq.flip(1)], dim=1).to(device)  # T=4, mirror-extended
    with torch.no_grad():
        ff, fb = m.compute_flow(mirrored)
        assert torch.equal(ff, fb.flip(1)), "mirror shortcut must equal the computed forward flows"
        out, it = m(mirrored, return_intermediates=True)
        assert out.shape == (1, 4, 3, 128, 160) and it["aux_out"].shape == out.shape
        assert sorted(it["offset_s2b"]) == [0, 1, 2] and sorted(it["offset_s2f"]) == [0, 1, 2]
        assert it["offset_s2b"][0].shape == (1, 72, 32, 40) and it["mask_s2f"][2].shape == (1, 36, 32, 40)
        o1 = m(lq[:, :1].to(device))
        assert o1.shape == (1, 1, 3, 128, 160) and torch.isfinite(o1).all()
        # batch independence: N=2 equals two N=1 runs
        two = torch.cat([lq, lq.flip(1)], dim=0).to(device)
        ob = m(two)
        assert torch.allclose(ob[1], m(lq.flip(1).to(device))[0], atol=1e-5)
    print("  mirror shortcut == computed flows, T=1 runs, N=2 == 2 x N=1, shapes OK")


def check_fixture(device):
    wpath = os.path.join(FIXTURES, "msvsr_random.pdparams")
    fpath = os.path.join(FIXTURES, "msvsr_t2_32x48.safetensors")
    if not (os.path.exists(wpath) and os.path.exists(fpath)):
        print("  (fixtures not generated yet; skipped)")
        return
    fx = load_safetensors(fpath)
    m = M.MSVSR.from_config("msvsr", device=device)
    M.load_numpy_state(m, load_pdparams(wpath))
    m.eval()
    with torch.no_grad():
        out = m(torch.from_numpy(fx["lq"])[None].to(device))[0].cpu().numpy()
    err = np.abs(out - fx["out"]).max()
    assert err < 1e-4, err
    print(f"  msvsr_t2_32x48 reproduced from msvsr_random.pdparams on {device}: max abs err {err:.2e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {args.device}")
    steps = [
        ("module tree", check_module_tree),
        (".pdparams I/O", check_pdparams),
        ("DCNv2", lambda: check_dcn(args.device)),
        ("flow_warp", lambda: check_flow_warp(args.device)),
        ("small ops", check_small_ops),
        ("network", lambda: check_network(args.device)),
        ("fixture", lambda: check_fixture(args.device)),
    ]
    for name, fn in steps:
        print(f"[{name}]")
        fn()
    print("selfcheck passed")


if __name__ == "__main__":
    main()
