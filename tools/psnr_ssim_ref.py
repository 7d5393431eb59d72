#!/usr/bin/python3
"""Independent reference values for src/metrics/psnr-ssim.ts (numpy only; no OpenCV, no Paddle).

Computes PSNR and SSIM the way PaddleGAN's ppgan/metrics/psnr_ssim.py does: images are uint8 HWC RGB cast to
float32, crop_border slices img[c:-c, c:-c], test_y_channel goes through float32 img / 255 then
float32 img * 255, then the BT.601 luma dot product in float64, / 255 + 16, / 255, * 255. PSNR takes the mean
squared error in float32 as numpy does for a float32 array; SSIM works per channel in float64 with the
11x11 Gaussian window (sigma 1.5, normalised, outer product) and keeps the valid region of the filter —
written here as an explicit correlation instead of cv2.filter2D(...)[5:-5, 5:-5].

Writes test/fixtures/cli/psnr_ssim_ref.json: a few seeded image pairs (base64 uint8) and the expected
values for RGB and Y channel, crop border 0 and 4. Run:  /usr/bin/python3 tools/psnr_ssim_ref.py
"""
import base64
import json
import math
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'cli', 'psnr_ssim_ref.json')


def gaussian_window(size=11, sigma=1.5):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    g = g / g.sum()
    return np.outer(g, g)


def correlate_valid(img, win):
    """sum_{i,j} win[i, j] * img[y + i, x + j] for every (y, x) where the window fits (float64)."""
    kh, kw = win.shape
    h, w = img.shape
    out = np.zeros((h - kh + 1, w - kw + 1), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            out += win[i, j] * img[i:i + h - kh + 1, j:j + w - kw + 1]
    return out


def y_channel(img_f32):
    """to_y_channel for an HWC float32 image with values 0..255: float64 luma, shape (h, w, 1)."""
    x = img_f32.astype(np.float32) / np.float32(255.0)
    x = (x * np.float32(255.0)).astype(np.float32)
    r = x[..., 0].astype(np.float64)
    g = x[..., 1].astype(np.float64)
    b = x[..., 2].astype(np.float64)
    y = (r * 65.481 + g * 128.553 + b * 24.966) / 255.0 + 16.0
    return (y / 255.0 * 255.0)[..., None]


def prepare(img_u8, crop, y):
    img = img_u8.astype(np.float32)
    if crop:
        img = img[crop:-crop, crop:-crop, :]
    return y_channel(img) if y else img


def psnr(a, b, crop=0, y=False):
    x = prepare(a, crop, y)
    z = prepare(b, crop, y)
    mse = np.mean((x - z) ** 2)
    if mse == 0:
        return math.inf
    return float(20.0 * np.log10(255.0 / np.sqrt(mse)))


def ssim_plane(p, q):
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    p = p.astype(np.float64)
    q = q.astype(np.float64)
    win = gaussian_window()
    mu1 = correlate_valid(p, win)
    mu2 = correlate_valid(q, win)
    s11 = correlate_valid(p * p, win) - mu1 * mu1
    s22 = correlate_valid(q * q, win) - mu2 * mu2
    s12 = correlate_valid(p * q, win) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    return float(m.mean())


def ssim(a, b, crop=0, y=False):
    x = prepare(a, crop, y)
    z = prepare(b, crop, y)
    return float(np.mean([ssim_plane(x[..., c], z[..., c]) for c in range(x.shape[2])]))


def pairs():
    rng = np.random.default_rng(20240607)
    out = []
    # 1. noise against a noisier copy
    h, w = 24, 32
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int32) + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)
    out.append(('noise', a, b))
    # 2. smooth gradients against a shifted, slightly blurred and offset copy (typical SR-like error)
    h, w = 30, 28
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 7 + yy * 3) % 256, (yy * 9 + 40) % 256, (xx * yy) % 256], axis=-1).astype(np.float64)
    blur = (base + np.roll(base, 1, axis=1) + np.roll(base, 1, axis=0)) / 3.0 + 3.0
    out.append(('gradient', base.astype(np.uint8), np.clip(np.rint(blur), 0, 255).astype(np.uint8)))
    # 3. saturated values: black / white blocks against noise
    h, w = 21, 25
    yy3, xx3 = np.mgrid[0:h, 0:w]
    a = np.where(((yy3 // 4 + xx3 // 4) % 2 == 0)[..., None], np.uint8(255), np.uint8(0)) * np.ones((1, 1, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    b[a == 255] = np.maximum(b[a == 255], 200)
    out.append(('saturated', a.astype(np.uint8), b))
    return out


def main():
    cases = []
    for name, a, b in pairs():
        h, w, _ = a.shape
        exp = {}
        for y in (False, True):
            for crop in (0, 4):
                key = f"{'y' if y else 'rgb'}_crop{crop}"
                exp[key] = {'psnr': psnr(a, b, crop, y), 'ssim': ssim(a, b, crop, y)}
        cases.append({
            'name': name,
            'width': int(w),
            'height': int(h),
            'a': base64.b64encode(a.tobytes()).decode(),
            'b': base64.b64encode(b.tobytes()).decode(),
            'expected': exp,
        })
    # identical images: psnr_ssim.py returns float('inf') for MSE 0 (JSON: the string "inf")
    a = pairs()[0][1]
    same = {'psnr': 'inf' if math.isinf(psnr(a, a)) else psnr(a, a), 'ssim': ssim(a, a)}
    doc = {
        'generator': 'tools/psnr_ssim_ref.py (numpy ' + np.__version__ + ')',
        'note': 'PaddleGAN ppgan/metrics/psnr_ssim.py semantics; HWC uint8 RGB, base64',
        'cases': cases,
        'identical': same,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(f'wrote {os.path.relpath(OUT)}: {len(cases)} pairs', file=sys.stderr)


if __name__ == '__main__':
    main()
