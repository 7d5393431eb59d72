"""Independent PyTorch reference of PaddleGAN's MSVSR generator (PP-MSVSR and PP-MSVSR-L).

Follows PaddleGAN `ppgan/models/generators/msvsr.py` + `basicvsr.py`
(commit 094a2eb). Module attribute names reproduce PaddleGAN's structured names exactly (including the
misspelt `covn1` and the `Leaky_relu` / `ResidualBlocks.block<i>` layout), so the `'generator'` dict of a
`.pdparams` loads by name with `strict=True`:

    model = MSVSR.from_config('msvsr', device='cpu')
    model.load_state_dict({k: torch.from_numpy(v) for k, v in load_pdparams(path).items()})
    out = model(lq)                       # lq (N, T, 3, H, W) in [0, 1] -> (N, T, 3, 4H, 4W)
    out, inter = model(lq, return_intermediates=True)

Differences from the Paddle code, all deliberate and output-neutral:
* the mirror-extension shortcut (flows_forward = flip(flows_backward)) is not taken: both flow
  directions are always computed, which is mathematically identical for mirrored input;
* T = 1 is defined as "no alignment, zero neighbours" (Paddle would run SPyNet on an empty
  batch);
* the h, w >= 64 assertion is not enforced (nothing in the main network pads; SPyNet resizes);
* the stage-3 `cond` (flow_warp + concat) that ReAlignmentModule ignores is not computed.

Runs on CPU with torch 1.13 and on CUDA with torch 2.x (pass `device`); DCNv2 comes from
`torchvision.ops.deform_conv2d` (offset layout per tap (dy, dx), mask per tap -- the same layout as
Paddle's DeformConv2D; checked against a naive loop in selfcheck.py). Without torchvision, or with
`set_dcn_impl('grid_sample')`, a pure-PyTorch DCN built from grid_sample is used instead.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from torchvision.ops import deform_conv2d as _tv_deform_conv2d
except Exception:  # pragma: no cover - torchvision missing
    _tv_deform_conv2d = None

CONFIGS = {
    # configs/msvsr_reds.yaml == MSVSR() defaults == PPMSVSRPredictor; msvsr_vimeo90k_BD.yaml is the same net.
    "msvsr": dict(
        mid_channels=32,
        num_init_blocks=2,
        num_blocks=3,
        num_reconstruction_blocks=2,
        only_last=True,
        use_tiny_spynet=True,
        deform_groups=4,
        stage1_groups=8,
        auxiliary_loss=True,
        use_refine_align=True,
        aux_reconstruction_blocks=1,
        use_local_connnect=True,
    ),
    # configs/msvsr_l_reds.yaml == PPMSVSRLargePredictor (stage1_groups left at its default 8).
    "msvsr_l": dict(
        mid_channels=64,
        num_init_blocks=5,
        num_blocks=7,
        num_reconstruction_blocks=5,
        only_last=False,
        use_tiny_spynet=False,
        deform_groups=8,
        stage1_groups=8,
        auxiliary_loss=True,
        use_refine_align=True,
        aux_reconstruction_blocks=2,
        use_local_connnect=True,
    ),
}

_DCN_IMPL = "torchvision" if _tv_deform_conv2d is not None else "grid_sample"


def set_dcn_impl(impl):
    """'torchvision' (default) or 'grid_sample' (pure PyTorch, for machines without torchvision)."""
    global _DCN_IMPL
    if impl not in ("torchvision", "grid_sample"):
        raise ValueError(impl)
    if impl == "torchvision" and _tv_deform_conv2d is None:
        raise RuntimeError("torchvision.ops.deform_conv2d is not available")
    _DCN_IMPL = impl


def resolve_config(config):
    if isinstance(config, str):
        return dict(CONFIGS[config])
    cfg = dict(CONFIGS["msvsr"])
    cfg.update(config)
    return cfg


# ----------------------------------------------------------------------------------------------------
# functional pieces (flow_warp, modulated DCNv2)


def flow_warp(x, flow, padding_mode="zeros"):
    """basicvsr.flow_warp: x (n,c,h,w), flow (n,h,w,2) with [...,0] = x displacement, [...,1] = y.

    Reproduces Paddle's arithmetic (pixel grid + flow, normalise by max(size-1, 1), grid_sample bilinear
    with align_corners=True) so float rounding matches too."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(
        torch.arange(0, h, device=x.device, dtype=torch.int64),
        torch.arange(0, w, device=x.device, dtype=torch.int64),
        indexing="ij",
    )
    grid = torch.stack((gx, gy), dim=2).to(torch.float32)
    gf = grid + flow
    gfx = 2.0 * gf[:, :, :, 0] / max(w - 1, 1) - 1.0
    gfy = 2.0 * gf[:, :, :, 1] / max(h - 1, 1) - 1.0
    return F.grid_sample(x, torch.stack((gfx, gfy), dim=3), mode="bilinear", padding_mode=padding_mode, align_corners=True)


def _dcn_grid_sample(x, offset, mask, weight, bias, padding=1, dilation=1):
    """Modulated DCN (stride 1) from grid_sample: per (group, tap) bilinear zero-padded sampling at
    (y - pad + i*dil + dy, x - pad + j*dil + dx), times the mask, then a 1x1-style contraction.
    Sizes are taken as Python ints so that the ONNX tracer (where .shape yields tensors) can follow it."""
    n, cin, h, w = (int(d) for d in x.shape)
    cout, _, kh, kw = (int(d) for d in weight.shape)
    kk = kh * kw
    g = int(offset.shape[1]) // (2 * kk)
    cpg = cin // g
    off = offset.view(n, g, kk, 2, h, w)
    msk = mask.view(n, g, kk, h, w)
    ys = torch.arange(h, device=x.device, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, w)
    cols = []
    xg = x.view(n * g, cpg, h, w)
    for k in range(kk):
        i, j = divmod(k, kw)
        py = ys - padding + i * dilation + off[:, :, k, 0].reshape(n * g, h, w)
        px = xs - padding + j * dilation + off[:, :, k, 1].reshape(n * g, h, w)
        grid = torch.stack((2.0 * px / max(w - 1, 1) - 1.0, 2.0 * py / max(h - 1, 1) - 1.0), dim=3)
        s = F.grid_sample(xg, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        s = s.view(n, g, cpg, h, w) * msk[:, :, k].unsqueeze(2)
        cols.append(s.reshape(n, cin, h, w))
    col = torch.stack(cols, dim=2)  # (n, cin, kk, h, w)
    out = torch.einsum("ock,nckhw->nohw", weight.reshape(cout, cin, kk), col)
    return out + bias.view(1, cout, 1, 1)


def modulated_deform_conv(x, offset, mask, weight, bias, padding=1, dilation=1):
    if _DCN_IMPL == "torchvision":
        return _tv_deform_conv2d(
            x, offset, weight, bias, stride=(1, 1), padding=(padding, padding), dilation=(dilation, dilation), mask=mask
        )
    return _dcn_grid_sample(x, offset, mask, weight, bias, padding, dilation)


# ----------------------------------------------------------------------------------------------------
# modules (names mirror PaddleGAN)


class ResidualBlockNoBN(nn.Module):
    def __init__(self, nf):
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


class ResidualBlocksWithInputConv(nn.Module):
    def __init__(self, in_channels, out_channels, num_blocks):
        super().__init__()
        self.covn1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)  # sic: PaddleGAN's attribute name
        self.Leaky_relu = nn.LeakyReLU(0.1)
        self.ResidualBlocks = nn.Sequential(
            OrderedDict(("block%d" % i, ResidualBlockNoBN(out_channels)) for i in range(num_blocks))
        )

    def forward(self, feat):
        return self.ResidualBlocks(self.Leaky_relu(self.covn1(feat)))


class PixelShufflePack(nn.Module):
    def __init__(self, in_channels, out_channels, scale_factor=2, upsample_kernel=3):
        super().__init__()
        self.upsample_conv = nn.Conv2d(
            in_channels, out_channels * scale_factor * scale_factor, upsample_kernel, padding=(upsample_kernel - 1) // 2
        )
        self.scale_factor = scale_factor

    def forward(self, x):
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


class DeformConv2D(nn.Module):
    """paddle.vision.ops.DeformConv2D (modulated when a mask is given; MSVSR always gives one)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, padding=1, dilation=1, deformable_groups=1):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.padding = padding
        self.dilation = dilation
        self.deformable_groups = deformable_groups

    def forward(self, x, offset, mask):
        return modulated_deform_conv(x, offset, mask, self.weight, self.bias, self.padding, self.dilation)


def _conv_offset(mid, groups):
    return nn.Sequential(
        nn.Conv2d(2 * mid + 2, mid, 3, 1, 1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(mid, mid, 3, 1, 1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(mid, mid, 3, 1, 1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(mid, 27 * groups, 3, 1, 1),
    )


class AlignmentModule(nn.Module):
    def __init__(self, mid, deformable_groups):
        super().__init__()
        self.conv_offset = _conv_offset(mid, deformable_groups)
        self.dcn = DeformConv2D(mid, mid, 3, padding=1, deformable_groups=deformable_groups)

    def forward(self, x, extra_feat, flow_1):
        out = self.conv_offset(torch.cat([extra_feat, flow_1], dim=1))
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = 10 * torch.tanh(torch.cat((o1, o2), dim=1))
        # flow is (x, y); DCN offsets are (y, x) per tap, tiled as whole (fy, fx) pairs
        offset = offset + flow_1.flip(1).repeat(1, offset.shape[1] // 2, 1, 1)
        mask = torch.sigmoid(mask)
        return self.dcn(x, offset, mask), offset, mask


class ReAlignmentModule(nn.Module):
    def __init__(self, mid, deformable_groups):
        super().__init__()
        self.mdconv = DeformConv2D(mid, mid, 3, padding=1, deformable_groups=deformable_groups)
        self.conv_offset = _conv_offset(mid, deformable_groups)
        self.dcn = DeformConv2D(mid, mid, 3, padding=1, deformable_groups=deformable_groups)

    def forward(self, x, flow_1, feat_current, pre_offset, pre_mask, record=None):
        # PaddleGAN also takes `extra_feat`, which is unused whenever pre_offset is given (always in MSVSR)
        pre_feat = self.mdconv(x, pre_offset, pre_mask)
        out = self.conv_offset(torch.cat([pre_feat, feat_current, flow_1], dim=1))
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = 10 * torch.tanh(torch.cat((o1, o2), dim=1)) + pre_offset
        mask = (torch.sigmoid(mask) + pre_mask) / 2.0
        if record is not None:
            record.update(pre_feat=pre_feat, offset=offset, mask=mask)
        return self.dcn(x, offset, mask)


_SPYNET_TINY = [8, 16, 16, 32, 32, 32, 32, 16, 16, 16, 8, 8, 2]  # 12 convs
_SPYNET_FULL = [8, 16, 16, 32, 32, 32, 64, 32, 32, 32, 16, 16, 16, 16, 16, 2]  # 15 convs


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.with_activation = act

    def forward(self, x):
        x = self.conv(x)
        return F.leaky_relu(x, 0.1) if self.with_activation else x


class SPyNetBlock(nn.Module):
    def __init__(self, use_tiny_block):
        super().__init__()
        ch = _SPYNET_TINY if use_tiny_block else _SPYNET_FULL
        n = len(ch) - 1
        self.basic_module = nn.Sequential(*[ConvLayer(ch[i], ch[i + 1], i < n - 1) for i in range(n)])

    def forward(self, x):
        return self.basic_module(x)


class ModifiedSPyNet(nn.Module):
    def __init__(self, num_blocks, use_tiny_block):
        super().__init__()
        self.num_blocks = num_blocks
        self.basic_module = nn.ModuleList([SPyNetBlock(use_tiny_block) for _ in range(num_blocks)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))

    def compute_flow(self, ref, supp, levels=None):
        n, _, h, w = ref.shape
        ref = [(ref - self.mean) / self.std]
        supp = [(supp - self.mean) / self.std]
        for _ in range(self.num_blocks - 1):
            ref.append(F.avg_pool2d(ref[-1], kernel_size=2, stride=2))
            supp.append(F.avg_pool2d(supp[-1], kernel_size=2, stride=2))
        ref = ref[::-1]
        supp = supp[::-1]
        s = 2 ** (self.num_blocks - 1)
        flow = ref[0].new_zeros(n, 2, h // s, w // s)
        for level in range(len(ref)):
            if level == 0:
                flow_up = flow
            else:
                flow_up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            warped = flow_warp(supp[level], flow_up.permute(0, 2, 3, 1), padding_mode="border")
            flow = flow_up + self.basic_module[level](torch.cat([ref[level], warped, flow_up], dim=1))
            if levels is not None:
                levels.append(flow)
        return flow

    def forward(self, ref, supp, levels=None):
        """Flow on ref's grid pointing into supp (warps supp onto ref); (n, 2, h, w), channel 0 = x."""
        h, w = ref.shape[2:4]
        w_up = w if w % 32 == 0 else 32 * (w // 32 + 1)
        h_up = h if h % 32 == 0 else 32 * (h // 32 + 1)
        ref = F.interpolate(ref, size=(h_up, w_up), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(h_up, w_up), mode="bilinear", align_corners=False)
        flow = F.interpolate(self.compute_flow(ref, supp, levels), size=(h, w), mode="bilinear", align_corners=False)
        # Paddle: flow[:, 0] *= float(w) / float(w_up) (in place; a float32 scale)
        return torch.cat([flow[:, 0:1] * (float(w) / float(w_up)), flow[:, 1:2] * (float(h) / float(h_up))], dim=1)


class MSVSR(nn.Module):
    def __init__(
        self,
        mid_channels=32,
        num_init_blocks=2,
        num_blocks=3,
        num_reconstruction_blocks=2,
        only_last=True,
        use_tiny_spynet=True,
        deform_groups=4,
        stage1_groups=8,
        auxiliary_loss=True,
        use_refine_align=True,
        aux_reconstruction_blocks=1,
        use_local_connnect=True,
        device=None,
    ):
        super().__init__()
        # PaddleGAN's forward needs both: without auxiliary_loss `aux_feats` is undefined (msvsr.py:566),
        # and stage3 calls deform_align with ReAlignmentModule's signature (msvsr.py:408).
        if not auxiliary_loss or not use_refine_align:
            raise NotImplementedError("PaddleGAN's MSVSR.forward only runs with auxiliary_loss and use_refine_align")
        mid = mid_channels
        self.mid_channels = mid
        self.only_last = only_last
        self.use_local_connnect = use_local_connnect

        # registration order == PaddleGAN's (state-dict order)
        if use_tiny_spynet:
            self.spynet = ModifiedSPyNet(num_blocks=3, use_tiny_block=True)
        else:
            self.spynet = ModifiedSPyNet(num_blocks=6, use_tiny_block=False)
        self.feat_extract = ResidualBlocksWithInputConv(3, mid, num_init_blocks)
        self.deform_align = nn.ModuleDict()
        self.backbone = nn.ModuleDict()
        for i, name in enumerate(["stage2_backward", "stage2_forward", "stage3_backward", "stage3_forward"]):
            if i > 1:
                self.deform_align[name] = ReAlignmentModule(mid, deform_groups)
            else:
                self.deform_align[name] = AlignmentModule(mid, deform_groups)
            self.backbone[name] = ResidualBlocksWithInputConv((3 + i) * mid, mid, num_blocks)
        self.stage1_align = AlignmentModule(mid, stage1_groups)
        self.stage1_blocks = ResidualBlocksWithInputConv(3 * mid, mid, 3)  # 3 blocks, hard-coded upstream
        self.reconstruction = ResidualBlocksWithInputConv(6 * mid, mid, num_reconstruction_blocks)
        self.upsample1 = PixelShufflePack(mid, mid, 2, 3)
        self.upsample2 = PixelShufflePack(mid, mid, 2, 3)
        if not only_last:
            self.conv_hr = nn.Conv2d(mid, mid, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid, 3, 3, 1, 1)
        self.aux_fusion = nn.Conv2d(mid * 2, mid, 3, 1, 1)
        self.aux_reconstruction = ResidualBlocksWithInputConv(4 * mid, mid, aux_reconstruction_blocks)
        self.aux_block_down1 = nn.Sequential(nn.Conv2d(3 + mid, mid, 3, 2, 1), nn.LeakyReLU(0.1), nn.Conv2d(mid, mid, 3, 1, 1))
        self.aux_block_down2 = nn.Sequential(nn.Conv2d(mid * 2, mid, 3, 2, 1), nn.LeakyReLU(0.1), nn.Conv2d(mid, mid, 3, 1, 1))
        self.aux_conv_last = nn.Conv2d(mid, 3, 3, 1, 1)
        self.aux_upsample1 = PixelShufflePack(mid, mid, 2, 3)
        self.aux_upsample2 = PixelShufflePack(mid, mid, 2, 3)
        self.hybrid_conv_last = nn.Conv2d(mid, 3, 3, 1, 1)
        for p in self.parameters():
            nn.init.zeros_(p)  # deterministic placeholder; real values come from load_state_dict
        if device is not None:
            self.to(device)

    @classmethod
    def from_config(cls, config="msvsr", device=None):
        return cls(**resolve_config(config), device=device)

    @staticmethod
    def _lrelu(x):
        return F.leaky_relu(x, 0.1)

    @staticmethod
    def _img_up4(x):
        return F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)

    def compute_flow(self, lqs, levels=None):
        """(flows_forward, flows_backward), each (n, t-1, 2, h, w). FB[i] = spynet(lq[i], lq[i+1]),
        FF[i] = spynet(lq[i+1], lq[i]); both always computed (no mirror shortcut)."""
        n, t, c, h, w = lqs.shape
        lrs_1 = lqs[:, :-1].reshape(-1, c, h, w)
        lrs_2 = lqs[:, 1:].reshape(-1, c, h, w)
        lb = [] if levels is not None else None
        lf = [] if levels is not None else None
        flows_backward = self.spynet(lrs_1, lrs_2, lb).reshape(n, t - 1, 2, h, w)
        flows_forward = self.spynet(lrs_2, lrs_1, lf).reshape(n, t - 1, 2, h, w)
        if levels is not None:
            levels["backward"] = [f.reshape(n, t - 1, 2, *f.shape[2:]) for f in lb]
            levels["forward"] = [f.reshape(n, t - 1, 2, *f.shape[2:]) for f in lf]
        return flows_forward, flows_backward

    def forward(self, lqs, return_intermediates=False):
        n, t, c, h, w = lqs.shape
        mid = self.mid_channels
        zeros = lambda: lqs.new_zeros(n, mid, h, w)  # noqa: E731
        inter = {} if return_intermediates else None

        S = list(self.feat_extract(lqs.reshape(-1, c, h, w)).reshape(n, t, mid, h, w).unbind(1))

        if t > 1:
            levels = {} if return_intermediates else None
            FF, FB = self.compute_flow(lqs, levels)
            if return_intermediates:
                inter["spynet_levels"] = levels
        else:
            FF = FB = lqs.new_zeros(n, 0, 2, h, w)

        # stage 1: local fusion (MSVSR.stage1_align / stage1_blocks)
        L1 = [None] * t
        for idx in range(t - 1, -1, -1):
            cur = S[idx]
            if idx < t - 1:
                fl = FB[:, idx]
                cond = torch.cat([flow_warp(S[idx + 1], fl.permute(0, 2, 3, 1)), cur], dim=1)
                prop, _, _ = self.stage1_align(S[idx + 1], cond, fl)
            else:
                prop = zeros()
            if idx > 0:
                fl = FF[:, idx - 1]
                cond = torch.cat([flow_warp(S[idx - 1], fl.permute(0, 2, 3, 1)), cur], dim=1)
                back, _, _ = self.stage1_align(S[idx - 1], cond, fl)
            else:
                back = zeros()
            L1[idx] = self.stage1_blocks(torch.cat([cur, prop, back], dim=1))

        # stage 2 (MSVSR.stage2, deform_align.stage2_*); offsets/masks keyed by flow index
        B2, F2 = [None] * t, [None] * t
        off_b, msk_b, off_f, msk_f = {}, {}, {}, {}
        h2 = zeros()
        for step, idx in enumerate(range(t - 1, -1, -1)):
            cur = S[idx]
            if step > 0:
                fl = FB[:, idx]
                cond = torch.cat([flow_warp(h2, fl.permute(0, 2, 3, 1)), cur], dim=1)
                h2, off_b[idx], msk_b[idx] = self.deform_align["stage2_backward"](h2, cond, fl)
            h2 = h2 + self.backbone["stage2_backward"](torch.cat([cur, L1[idx], h2], dim=1))
            B2[idx] = h2
        h2 = zeros()
        for step, idx in enumerate(range(0, t)):
            cur = S[idx]
            if step > 0:
                fl = FF[:, idx - 1]
                cond = torch.cat([flow_warp(h2, fl.permute(0, 2, 3, 1)), cur], dim=1)
                h2, off_f[idx - 1], msk_f[idx - 1] = self.deform_align["stage2_forward"](h2, cond, fl)
            h2 = h2 + self.backbone["stage2_forward"](torch.cat([cur, L1[idx], B2[idx], h2], dim=1))
            F2[idx] = h2

        # auxiliary stage (MSVSR.auxiliary_stage)
        A, aux_out = [None] * t, [None] * t
        for i in range(t):
            hr_low = self.aux_reconstruction(torch.cat([S[i], L1[i], B2[i], F2[i]], dim=1))
            hr_mid = self._lrelu(self.aux_upsample1(hr_low))
            hr_high = self._lrelu(self.aux_upsample2(hr_mid))
            hr = self.aux_conv_last(hr_high) + self._img_up4(lqs[:, i])
            aux_out[i] = hr
            a = self.aux_block_down1(torch.cat([hr, hr_high], dim=1))
            a = self.aux_block_down2(torch.cat([a, hr_mid], dim=1))
            A[i] = self.aux_fusion(torch.cat([a, hr_low], dim=1))

        # stage 3 (MSVSR.stage3, ReAlignmentModule)
        B3, F3 = [None] * t, [None] * t
        rec_b, rec_f = {}, {}
        h3 = zeros()
        for step, idx in enumerate(range(t - 1, -1, -1)):
            cur = A[idx]
            if step > 0:
                rec = {} if return_intermediates else None
                h3 = self.deform_align["stage3_backward"](h3, FB[:, idx], cur, off_b[idx], msk_b[idx], rec)
                if rec is not None:
                    rec_b[idx] = rec
            h3 = h3 + self.backbone["stage3_backward"](torch.cat([cur, L1[idx], B2[idx], F2[idx], h3], dim=1))
            B3[idx] = h3
        h3 = zeros()
        for step, idx in enumerate(range(0, t)):
            cur = A[idx]
            if step > 0:
                rec = {} if return_intermediates else None
                h3 = self.deform_align["stage3_forward"](h3, FF[:, idx - 1], cur, off_f[idx - 1], msk_f[idx - 1], rec)
                if rec is not None:
                    rec_f[idx - 1] = rec
            h3 = h3 + self.backbone["stage3_forward"](torch.cat([cur, L1[idx], B2[idx], F2[idx], B3[idx], h3], dim=1))
            F3[idx] = h3

        # reconstruction (MSVSR.upsample)
        outs = []
        for i in range(t):
            x = self.reconstruction(torch.cat([S[i], L1[i], B2[i], F2[i], B3[i], F3[i]], dim=1))
            x = self._lrelu(self.upsample1(x))
            x = self._lrelu(self.upsample2(x))
            if not self.only_last:
                x = self._lrelu(self.conv_hr(x))
            y = self.conv_last(x) + self._img_up4(lqs[:, i])
            if self.use_local_connnect:
                lh = self._lrelu(self.aux_upsample1(L1[i]))
                lh = self._lrelu(self.aux_upsample2(lh))
                y = self.hybrid_conv_last(lh) + y
            outs.append(y)
        out = torch.stack(outs, dim=1)
        if not return_intermediates:
            return out
        inter.update(
            spatial=S,
            flows_backward=FB,
            flows_forward=FF,
            feat_stage1=L1,
            stage2_backward=B2,
            stage2_forward=F2,
            offset_s2b=off_b,
            mask_s2b=msk_b,
            offset_s2f=off_f,
            mask_s2f=msk_f,
            aux_out=torch.stack(aux_out, dim=1),
            aux_feat=A,
            stage3_backward=B3,
            stage3_forward=F3,
            realign_s3b=rec_b,
            realign_s3f=rec_f,
        )
        return out, inter


def param_manifest(config="msvsr"):
    """[(name, shape)] of the state dict (parameters then persistable buffers per module, PaddleGAN order)."""
    m = MSVSR.from_config(config)
    return [(k, tuple(v.shape)) for k, v in m.state_dict().items()]


def trainable_count(model):
    return sum(p.numel() for p in model.parameters())


def load_numpy_state(model, state, strict=True):
    """Loads {name: ndarray} (e.g. load_pdparams output) by name."""
    sd = {k: torch.from_numpy(v.copy() if not v.flags.writeable else v) for k, v in state.items()}
    return model.load_state_dict(sd, strict=strict)
