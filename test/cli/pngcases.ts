// PNGs of every colour type and bit depth, with the 8-bit RGB each must read as.
import { lcg, type RawPng } from './helpers.js';

export interface PngCase {
  name: string;
  png: RawPng;
  /** The RGB the reader must produce. */
  rgb: Uint8Array;
}

/** One PNG of every colour type / bit depth, with the RGB each must read as. */
export function pngCases(w: number, h: number, seed = 7): PngCase[] {
  const r = lcg(seed);
  const n = w * h;
  const cases: PngCase[] = [];
  const rgbOf = (f: (p: number) => [number, number, number]) => Uint8Array.from({ length: n * 3 }, (_, i) => f(Math.floor(i / 3))[i % 3]);
  const rnd = (k: number) => Array.from({ length: n * k }, () => r(256));

  const rgb8 = rnd(3);
  cases.push({ name: 'rgb8', png: { width: w, height: h, colorType: 2, bitDepth: 8, samples: rgb8 }, rgb: Uint8Array.from(rgb8) });

  // RGB with a tRNS colour: the colour stays (pngjs alone would zero those pixels)
  const rgbT = rnd(3);
  rgbT.splice(0, 3, 10, 20, 30);
  cases.push({
    name: 'rgb8-trns',
    png: { width: w, height: h, colorType: 2, bitDepth: 8, samples: rgbT, trns: Uint8Array.from([0, 10, 0, 20, 0, 30]) },
    rgb: Uint8Array.from(rgbT),
  });

  const rgba8 = rnd(4);
  for (let p = 0; p < n; p += 3) rgba8[p * 4 + 3] = 0; // fully transparent pixels keep their colour
  cases.push({
    name: 'rgba8',
    png: { width: w, height: h, colorType: 6, bitDepth: 8, samples: rgba8 },
    rgb: rgbOf((p) => [rgba8[p * 4], rgba8[p * 4 + 1], rgba8[p * 4 + 2]]),
  });

  const g8 = rnd(1);
  cases.push({ name: 'gray8', png: { width: w, height: h, colorType: 0, bitDepth: 8, samples: g8 }, rgb: rgbOf((p) => [g8[p], g8[p], g8[p]]) });

  const ga8 = rnd(2);
  cases.push({
    name: 'gray-alpha8',
    png: { width: w, height: h, colorType: 4, bitDepth: 8, samples: ga8 },
    rgb: rgbOf((p) => [ga8[p * 2], ga8[p * 2], ga8[p * 2]]),
  });

  for (const d of [1, 2, 4] as const) {
    const max = (1 << d) - 1;
    const g = Array.from({ length: n }, () => r(max + 1));
    cases.push({
      name: `gray${d}`,
      png: { width: w, height: h, colorType: 0, bitDepth: d, samples: g },
      rgb: rgbOf((p) => {
        const v = (g[p] * 255) / max; // exact for 1, 2, 4 bits
        return [v, v, v];
      }),
    });
  }

  const palette: Array<[number, number, number]> = Array.from({ length: 16 }, () => [r(256), r(256), r(256)]);
  for (const d of [8, 4] as const) {
    const idx = Array.from({ length: n }, () => r(16));
    cases.push({
      name: `palette${d}`,
      png: { width: w, height: h, colorType: 3, bitDepth: d, samples: idx, palette, trns: Uint8Array.from([0, 128, 255]) },
      rgb: rgbOf((p) => palette[idx[p]]),
    });
  }

  const to8 = (v: number) => Math.round((v * 255) / 65535);
  const rgb16 = Array.from({ length: n * 3 }, () => r(65536));
  rgb16.splice(0, 6, 0, 65535, 128, 32767, 32768, 257); // edges and near-halves
  cases.push({ name: 'rgb16', png: { width: w, height: h, colorType: 2, bitDepth: 16, samples: rgb16 }, rgb: Uint8Array.from(rgb16, to8) });
  const rgba16 = Array.from({ length: n * 4 }, () => r(65536));
  cases.push({
    name: 'rgba16',
    png: { width: w, height: h, colorType: 6, bitDepth: 16, samples: rgba16 },
    rgb: rgbOf((p) => [to8(rgba16[p * 4]), to8(rgba16[p * 4 + 1]), to8(rgba16[p * 4 + 2])]),
  });
  const g16 = Array.from({ length: n }, () => r(65536));
  cases.push({
    name: 'gray16',
    png: { width: w, height: h, colorType: 0, bitDepth: 16, samples: g16 },
    rgb: rgbOf((p) => [to8(g16[p]), to8(g16[p]), to8(g16[p])]),
  });
  const ga16 = Array.from({ length: n * 2 }, () => r(65536));
  cases.push({
    name: 'gray-alpha16',
    png: { width: w, height: h, colorType: 4, bitDepth: 16, samples: ga16 },
    rgb: rgbOf((p) => [to8(ga16[p * 2]), to8(ga16[p * 2]), to8(ga16[p * 2])]),
  });
  return cases;
}
