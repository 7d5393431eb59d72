"""Export the PyTorch reference of PP-MSVSR / PP-MSVSR-L to ONNX (opset 19) for a fixed (T, H, W).

    /usr/bin/python3 tools/reference/export_onnx.py --config msvsr --frames 2 --size 64x64 \\
        --weights-seed 1 --out bench/.cache/msvsr_t2_64x64_s1.onnx [--save-io DIR] [--json]
    /usr/bin/python3 tools/reference/export_onnx.py --pdparams PP-MSVSR_reds_x4.pdparams ...

Graph: input `lq` float32 [1, T, 3, H, W] -> output `out` float32 [1, T, 3, 4H, 4W]; the recurrences are
unrolled over T (the model is only valid for that T, H, W). Weights are initializers shared by all
steps.

How the opset-19 model is produced (torch 1.13's TorchScript exporter stops at opset 17 and has no
symbolic for torchvision::deform_conv2d):

1. a custom symbolic for `torchvision::deform_conv2d` emits a `DeformConv` node in a private domain
   (`msvsr.export`), so the exporter's built-in ONNX checker (onnx 1.12 inside torch, which has no
   DeformConv schema) accepts the graph; inputs in ONNX order X, W, offset, B, mask; attributes
   kernel_shape, pads, strides, dilations, group, offset_group;
2. the graph is exported at opset 17 (grid_sample -> GridSample-16, attributes mode / padding_mode /
   align_corners copied from the call; interpolate -> Resize);
3. post-processing with the `onnx` package: the DeformConv nodes move to the default domain, the private
   opset import is dropped and the default-domain import is raised 17 -> 19; every op in the graph is
   then checked against the list of ops whose schema changed in opsets 18 / 19 (`_OPSET_18_19_FIXES`) and
   rewritten where the old form is no longer valid (see `_upgrade_17_to_19`).

`--dcn grid_sample` exports the pure-PyTorch DCN instead (GridSample + Mul + einsum), giving a model with
no DeformConv at all (valid at opset 17 too), for runtimes without DeformConv.

`--webgpu-conv-fix` zero-pads the input channels of every Conv that onnxruntime-node 1.30's WebGPU EP
computes wrongly (input channels a multiple of 3 but not of 12: PP-MSVSR's 66-channel conv_offset.0)
to a multiple of 4 (Pad node + zero-extended weight): same function, +3 % work on those convs. Use that
model for the `webgpu` EP peer; the CPU EP does not need it.

`--save-io DIR` also writes DIR/input.f32 ([T,3,H,W] float32 LE, the frames fed to the export), DIR/out.f32
([T,3,4H,4W], the PyTorch output on them) and DIR/meta.json, so that the ONNX model can be checked
numerically, e.g. with onnxruntime-node: `node dist/bench/peers/ort-cli.js --model M --input DIR/input.f32
--T T --size HxW --compare DIR/out.f32`.

Needs /usr/bin/python3 with torch >= 1.13, numpy and `onnx` (Debian: apt-get install python3-onnx).
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import msvsr_torch  # noqa: E402
from msvsr_torch import MSVSR, load_numpy_state  # noqa: E402

PRIVATE_DOMAIN = "msvsr.export"
TARGET_OPSET = 19
EXPORT_OPSET = 17

# ops whose schema changed in ai.onnx opsets 18 and 19, and what that means for a graph written at 17:
#   18: Reduce{L1,L2,LogSum,LogSumExp,Max,Mean,Min,Prod,SumSquare} take `axes` as an input (the attribute
#       is gone) -> rewritten; Split needs the `split` input or `num_outputs` -> rewritten if neither;
#       Pad (+axes input), Resize (+antialias, axes, keep_aspect_ratio_policy), ScatterElements /
#       ScatterND (+min/max reduction), LpPool, BitwiseX, Col2Im, CenterCropPad, OptionalHasElement:
#       additions only, old forms stay valid.
#   19: AveragePool (+dilations), Cast / CastLike (+saturate), Constant, DeformConv (new), Equal (+string),
#       Identity, If, Loop, Scan, Pad (+wrap), QuantizeLinear / DequantizeLinear, Reshape, Resize
#       (+half_pixel_symmetric), Shape, Size: type or attribute additions, old forms stay valid.
_REDUCE_AXES_TO_INPUT = {
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
    "ReduceProd", "ReduceSumSquare",
}
_OPSET_18_19_FIXES = _REDUCE_AXES_TO_INPUT | {"Split"}
_CHANGED_18_19 = _REDUCE_AXES_TO_INPUT | {
    "Split", "Pad", "Resize", "ScatterElements", "ScatterND", "LpPool", "Col2Im", "CenterCropPad", "BitwiseAnd",
    "BitwiseOr", "BitwiseXor", "BitwiseNot", "OptionalHasElement", "OptionalGetElement", "AveragePool", "Cast",
    "CastLike", "Constant", "DeformConv", "Equal", "Identity", "If", "Loop", "Scan", "QuantizeLinear",
    "DequantizeLinear", "Reshape", "Shape", "Size",
}


def parse_size(s):
    h, w = s.lower().split("x")
    return int(h), int(w)


# ----------------------------------------------------------------------------------------------------
# step 1: the DeformConv symbolic


def _register_deform_conv_symbolic():
    from torch.onnx import register_custom_op_symbolic, symbolic_helper

    @symbolic_helper.parse_args("v", "v", "v", "v", "v", "i", "i", "i", "i", "i", "i", "i", "i", "b")
    def deform_conv2d(g, input, weight, offset, mask, bias, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
                      n_weight_grps, n_offset_grps, use_mask):
        wshape = symbolic_helper._get_tensor_sizes(weight)
        if wshape is None or any(d is None for d in wshape[2:]):
            raise RuntimeError("deform_conv2d export needs a weight of known shape")
        kh, kw = int(wshape[2]), int(wshape[3])
        args = [input, weight, offset, bias]
        if use_mask:
            args.append(mask)
        return g.op(
            PRIVATE_DOMAIN + "::DeformConv",
            *args,
            kernel_shape_i=[kh, kw],
            strides_i=[stride_h, stride_w],
            pads_i=[pad_h, pad_w, pad_h, pad_w],
            dilations_i=[dil_h, dil_w],
            group_i=n_weight_grps,
            offset_group_i=n_offset_grps,
        )

    register_custom_op_symbolic("torchvision::deform_conv2d", deform_conv2d, EXPORT_OPSET)


# ----------------------------------------------------------------------------------------------------
# step 3: opset 17 -> 19


def _upgrade_17_to_19(model):
    """In place. Returns a list of human-readable notes about what was changed."""
    from onnx import helper, numpy_helper

    notes = []
    g = model.graph
    n_dcn = 0
    for node in g.node:
        if node.domain == PRIVATE_DOMAIN:
            node.domain = ""
            n_dcn += 1
    if n_dcn:
        notes.append(f"{n_dcn} DeformConv nodes moved from domain '{PRIVATE_DOMAIN}' to ai.onnx")
    keep = [op for op in model.opset_import if op.domain not in (PRIVATE_DOMAIN,)]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx"):
            notes.append(f"default-domain opset import {op.version} -> {TARGET_OPSET}")
            op.version = TARGET_OPSET

    new_inits = []
    counter = [0]

    def const_i64(name_hint, values):
        counter[0] += 1
        name = f"__opset19_{name_hint}_{counter[0]}"
        new_inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    fixed = {}
    for node in g.node:
        if node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type in _REDUCE_AXES_TO_INPUT:
            axes = [a for a in node.attribute if a.name == "axes"]
            if axes:
                vals = list(axes[0].ints)
                node.attribute.remove(axes[0])
                node.input.append(const_i64("axes", vals))
                fixed[node.op_type] = fixed.get(node.op_type, 0) + 1
        elif node.op_type == "Split":
            has_split_input = len(node.input) > 1 and node.input[1] != ""
            has_split_attr = any(a.name == "split" for a in node.attribute)
            has_num = any(a.name == "num_outputs" for a in node.attribute)
            if has_split_attr:  # opset < 13 form; cannot appear at 17, handled for completeness
                a = [a for a in node.attribute if a.name == "split"][0]
                vals = list(a.ints)
                node.attribute.remove(a)
                while len(node.input) < 2:
                    node.input.append("")
                node.input[1] = const_i64("split", vals)
                fixed["Split"] = fixed.get("Split", 0) + 1
            elif not has_split_input and not has_num:
                # equal split into len(outputs) parts; opset 18 wants num_outputs (or sizes)
                node.attribute.append(helper.make_attribute("num_outputs", len(node.output)))
                fixed["Split"] = fixed.get("Split", 0) + 1
    g.initializer.extend(new_inits)
    for k, v in sorted(fixed.items()):
        notes.append(f"{v} {k} node(s) rewritten for opset 18")
    present = sorted({n.op_type for n in g.node if n.domain in ("", "ai.onnx")} & _CHANGED_18_19)
    splits_ok = sum(1 for n in g.node if n.op_type == "Split" and len(n.input) > 1 and n.input[1])
    notes.append("opset 18/19 review: ops present whose schema changed: " + ", ".join(present)
                 + (f"; rewritten: {', '.join(sorted(fixed))}" if fixed else
                    f"; nothing to rewrite (no Reduce* ops; {splits_ok} Split node(s) already carry the `split` input;"
                    " the others only gained optional inputs/attributes)"))
    return notes


def shrink_zero_constants(model, min_elems=4096):
    """In place: large all-zero Constant tensors (the folded `new_zeros(n, mid, h, w)` initial states, which
    would make the file grow with H*W) become ConstantOfShape nodes. Returns how many."""
    from onnx import helper, numpy_helper

    g = model.graph
    k = 0
    new_nodes = []
    for node in g.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.attribute) == 1 \
                and node.attribute[0].name == "value":
            arr = numpy_helper.to_array(node.attribute[0].t)
            if arr.size >= min_elems and arr.dtype == np.float32 and not arr.any():
                shape_name = node.output[0] + "__shape"
                new_nodes.append(helper.make_node("Constant", [], [shape_name],
                                                  value=numpy_helper.from_array(np.array(arr.shape, np.int64))))
                new_nodes.append(helper.make_node(
                    "ConstantOfShape", [shape_name], [node.output[0]], name=(node.name or node.output[0]) + "/zeros",
                    value=helper.make_tensor("value", onnx_float(), [1], [0.0])))
                k += 1
                continue
        new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    return k


def onnx_float():
    from onnx import TensorProto

    return TensorProto.FLOAT


def _needs_cin_pad(cin):
    """onnxruntime-node 1.30's WebGPU EP computes a wrong Conv when the input-channel count is a multiple
    of 3 but not of 12 (6, 9, 15, 18, ..., 66, ...; 3 itself is fine). Measured on Mesa lavapipe with
    1x1..140-channel 3x3 convs against the CPU EP; PP-MSVSR's conv_offset.0 convs (66 = 2*32+2 inputs)
    hit it, PP-MSVSR-L (130) does not."""
    return cin > 3 and cin % 3 == 0 and cin % 12 != 0


def pad_conv_input_channels(model):
    """In place: every group-1 Conv whose input-channel count `_needs_cin_pad` gets its input zero-padded
    (a Pad node on the channel axis) and its weight zero-extended to the next multiple of 4 channels.
    The result is the same function (exactly: the extra channels are zeros times zeros)."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    padded_w = {}
    new_nodes = []
    n_fixed = 0
    for node in g.node:
        if node.op_type == "Conv" and node.domain in ("", "ai.onnx") and int(_attr(node, "group", 1)) == 1 \
                and len(node.input) >= 2 and node.input[1] in inits:
            w = numpy_helper.to_array(inits[node.input[1]])
            cin = w.shape[1]
            if w.ndim == 4 and _needs_cin_pad(cin):
                extra = (-cin) % 4
                wname = node.input[1]
                if wname not in padded_w:
                    w2 = np.concatenate([w, np.zeros((w.shape[0], extra) + w.shape[2:], w.dtype)], axis=1)
                    padded_w[wname] = wname + "__cin_pad%d" % (cin + extra)
                    g.initializer.append(numpy_helper.from_array(w2, padded_w[wname]))
                pads_name = "__cin_pad_pads_%d" % extra
                if pads_name not in inits:
                    inits[pads_name] = numpy_helper.from_array(np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64), pads_name)
                    g.initializer.append(inits[pads_name])
                xp = node.input[0] + "__cin_pad_%s" % node.name.replace("/", "_")
                new_nodes.append(helper.make_node("Pad", [node.input[0], pads_name], [xp], mode="constant",
                                                  name=(node.name or xp) + "/cin_pad"))
                node.input[0] = xp
                node.input[1] = padded_w[wname]
                n_fixed += 1
        new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    # drop weights no longer referenced
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return n_fixed


def count_webgpu_conv_risk(model):
    """Group-1 Conv nodes whose input-channel count `_needs_cin_pad` (none left after --webgpu-conv-fix)."""
    inits = {t.name: t for t in model.graph.initializer}
    k = 0
    for node in model.graph.node:
        if node.op_type == "Conv" and len(node.input) >= 2 and node.input[1] in inits:
            dims = list(inits[node.input[1]].dims)
            if len(dims) == 4 and int(_attr(node, "group", 1)) == 1 and _needs_cin_pad(dims[1]):
                k += 1
    return k


def _attr(node, name, default=None):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def summarize(model):
    from collections import Counter

    ops = Counter(n.op_type for n in model.graph.node)
    gs = Counter()
    rs = Counter()
    for n in model.graph.node:
        if n.op_type == "GridSample":
            def s(v):
                return v.decode() if isinstance(v, bytes) else v
            gs[(s(_attr(n, "mode", b"bilinear")), s(_attr(n, "padding_mode", b"zeros")),
                int(_attr(n, "align_corners", 0)))] += 1
        if n.op_type == "Resize":
            def s2(v):
                return v.decode() if isinstance(v, bytes) else v
            rs[(s2(_attr(n, "mode", b"nearest")), s2(_attr(n, "coordinate_transformation_mode", b"half_pixel")))] += 1
    return dict(
        ops=dict(sorted(ops.items())),
        gridSample=[dict(mode=k[0], padding_mode=k[1], align_corners=k[2], count=v) for k, v in sorted(gs.items())],
        resize=[dict(mode=k[0], coordinate_transformation_mode=k[1], count=v) for k, v in sorted(rs.items())],
        nodes=len(model.graph.node),
        initializers=len(model.graph.initializer),
        opset=[(op.domain or "ai.onnx", op.version) for op in model.opset_import],
    )


def check(model):
    """onnx.checker with the installed onnx; returns a note. The Debian onnx 1.12 knows opsets <= 17 and has
    no DeformConv schema, so a failure there is expected: the check is then repeated on a copy with the
    DeformConv nodes in a private domain (every other node checked against the newest schema <= 19 that
    onnx knows). The authoritative check is loading the model in onnxruntime (>= 1.16 knows opset 19)."""
    import onnx

    known = onnx.defs.onnx_opset_version()
    try:
        onnx.checker.check_model(model, full_check=True)
        return f"onnx {onnx.__version__} checker (full): OK"
    except Exception as e:
        first = str(e).strip().splitlines()[0]
    tmp = onnx.ModelProto()
    tmp.CopyFrom(model)
    for n in tmp.graph.node:
        if n.op_type == "DeformConv" and n.domain in ("", "ai.onnx"):
            n.domain = PRIVATE_DOMAIN
    tmp.opset_import.append(onnx.helper.make_opsetid(PRIVATE_DOMAIN, 1))
    try:
        onnx.checker.check_model(tmp, full_check=False)
        rest = "all other nodes pass"
    except Exception as e:
        rest = "other nodes: " + str(e).strip().splitlines()[0]
    return f"onnx {onnx.__version__} checker (knows opset <= {known}): {first}; with DeformConv set aside: {rest}"


# ----------------------------------------------------------------------------------------------------


class _Wrapped(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, lq):
        return self.model(lq)


def build_model(config, weights_seed=None, pdparams=None):
    model = MSVSR.from_config(config)
    if pdparams:
        from pdparams import load_pdparams

        state = load_pdparams(pdparams)
        src = f"pdparams:{os.path.abspath(pdparams)}"
    else:
        from seeded import seeded_state_dict

        state = seeded_state_dict(weights_seed, config)
        src = f"seeded-v1:{weights_seed}"
    load_numpy_state(model, state)
    model.eval()
    return model, src


def load_frames(path, T, H, W):
    if path.endswith(".npy"):
        a = np.load(path).astype(np.float32)
    else:
        a = np.fromfile(path, dtype="<f4")
    if a.size != T * 3 * H * W:
        raise SystemExit(f"{path}: {a.size} floats, expected T*3*H*W = {T * 3 * H * W}")
    return np.ascontiguousarray(a.reshape(T, 3, H, W))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="msvsr", choices=["msvsr", "msvsr_l"])
    p.add_argument("--frames", "-T", type=int, required=True)
    p.add_argument("--size", required=True, help="HxW of the low-resolution input, e.g. 64x64")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--weights-seed", type=int, default=None, help="seeded-v1 weights (default 1)")
    g.add_argument("--pdparams", default=None, help="PaddleGAN .pdparams file instead of seeded weights")
    p.add_argument("--out", required=True, help="output .onnx path (keep it out of git: e.g. bench/.cache/)")
    p.add_argument("--dcn", choices=["deformconv", "grid_sample"], default="deformconv",
                   help="deformconv: ONNX DeformConv-19 (default); grid_sample: pure GridSample DCN, no DeformConv")
    p.add_argument("--webgpu-conv-fix", action="store_true",
                   help="zero-pad Conv input channels that onnxruntime 1.30's WebGPU EP gets wrong (C %% 3 == 0, "
                        "C %% 12 != 0; PP-MSVSR's 66-channel conv_offset.0) to a multiple of 4; same function")
    p.add_argument("--input", default=None, help="frames for --save-io: raw float32 [T,3,H,W] file or .npy")
    p.add_argument("--frames-seed", type=int, default=7, help="seed of generated frames when --input is not given")
    p.add_argument("--save-io", default=None, help="write input.f32, out.f32 (PyTorch output), meta.json here")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = p.parse_args(argv)

    T = a.frames
    H, W = parse_size(a.size)
    if T < 2:
        raise SystemExit("T >= 2 (T = 1 has no alignment; export it only if you need it, it has no DCN)")
    if a.threads:
        torch.set_num_threads(a.threads)
    weights_seed = 1 if (a.weights_seed is None and not a.pdparams) else a.weights_seed
    t0 = time.perf_counter()
    msvsr_torch.set_dcn_impl("torchvision" if a.dcn == "deformconv" else "grid_sample")
    model, wsrc = build_model(a.config, weights_seed, a.pdparams)
    wrapped = _Wrapped(model).eval()

    if a.input:
        frames = load_frames(a.input, T, H, W)
    else:
        from make_fixtures import make_frames

        frames = make_frames(a.frames_seed, T, H, W)
    lq = torch.from_numpy(frames).unsqueeze(0)

    if a.dcn == "deformconv":
        _register_deform_conv_symbolic()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".opset17.tmp"
    kw = dict(
        input_names=["lq"],
        output_names=["out"],
        opset_version=EXPORT_OPSET,
        do_constant_folding=True,
    )
    import inspect

    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # torch >= 2.5: keep the TorchScript exporter (custom symbolic above)
    with torch.no_grad():
        torch.onnx.export(wrapped, (lq,), tmp, **kw)
    t_export = time.perf_counter() - t0

    import onnx

    model_proto = onnx.load(tmp)
    os.remove(tmp)
    notes = []
    if a.dcn == "deformconv":
        notes += _upgrade_17_to_19(model_proto)
    else:
        notes.append(f"--dcn grid_sample: no DeformConv, opset stays {EXPORT_OPSET}")
    k = shrink_zero_constants(model_proto)
    if k:
        notes.append(f"{k} folded all-zero Constant tensors (initial recurrent states) -> ConstantOfShape")
    if a.webgpu_conv_fix:
        k = pad_conv_input_channels(model_proto)
        notes.append(f"--webgpu-conv-fix: {k} Conv node(s) got zero-padded input channels (Pad + wider weight)")
    risk = count_webgpu_conv_risk(model_proto)
    if risk:
        notes.append(f"{risk} Conv node(s) have an input-channel count that onnxruntime 1.30's WebGPU EP computes "
                     "wrongly; use --webgpu-conv-fix for a model to run on the webgpu EP")
    # ModelProto field 6, serialised before the graph: bench/peers/ort.ts reads webgpuConvRisk from here
    model_proto.doc_string = json.dumps(dict(
        config=a.config, T=T, H=H, W=W, weights=wsrc, dcn=a.dcn, torch=torch.__version__,
        webgpuConvFix=bool(a.webgpu_conv_fix), webgpuConvRisk=risk,
        input="lq float32 [1,T,3,H,W]", output="out float32 [1,T,3,4H,4W]",
    ))
    onnx.save(model_proto, a.out)
    checker = check(model_proto)
    summary = summarize(model_proto)

    result = dict(
        out=os.path.abspath(a.out),
        bytes=os.path.getsize(a.out),
        sha256=hashlib.sha256(open(a.out, "rb").read()).hexdigest(),
        config=a.config, T=T, H=H, W=W, weights=wsrc, dcn=a.dcn,
        torch=torch.__version__, onnx=onnx.__version__, webgpuConvFix=bool(a.webgpu_conv_fix), webgpuConvRisk=risk,
        exportSeconds=round(t_export, 3),
        notes=notes, checker=checker, summary=summary,
    )

    if a.save_io:
        os.makedirs(a.save_io, exist_ok=True)
        with torch.no_grad():
            out = wrapped(lq)[0].numpy().astype("<f4")
        frames.astype("<f4").tofile(os.path.join(a.save_io, "input.f32"))
        out.tofile(os.path.join(a.save_io, "out.f32"))
        meta = dict(T=T, H=H, W=W, config=a.config, weights=wsrc, dcn=a.dcn, torch=torch.__version__,
                    input_shape=[T, 3, H, W], out_shape=list(out.shape),
                    out_mean=float(out.mean()), out_mean_abs=float(np.abs(out).mean()))
        with open(os.path.join(a.save_io, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        result["saveIo"] = os.path.abspath(a.save_io)

    if a.json:
        print(json.dumps(result))
    else:
        print(f"wrote {result['out']} ({result['bytes'] / 1e6:.2f} MB, {summary['nodes']} nodes, opset {summary['opset']})")
        for n in notes:
            print("  -", n)
        print("  -", checker)
        print("  ops:", ", ".join(f"{k}x{v}" for k, v in summary["ops"].items()))
        print("  GridSample:", summary["gridSample"])
        print("  Resize:", summary["resize"])
        if a.save_io:
            print(f"  saved input/output in {result['saveIo']}")


if __name__ == "__main__":
    main()
