// Colour: which matrix, range, primaries and transfer a video has (as tagged, or by one rule when it is not),
// the ffmpeg filters that convert it to RGB for the network and back, and the tags the output gets.
//
// The rule for untagged input, on decode and encode alike: a stored height below 720 lines is SD — BT.601
// (smpte170m matrix and transfer; bt470bg primaries at 576 or 288 lines, smpte170m otherwise) — and 720
// lines or more are BT.709. YUV is limited range unless tagged full (or a yuvj* format); RGB is full range.
// The output always carries explicit tags, so a player does not apply its own guess to the x4 frames (which
// would read an SD input's BT.601 colours as BT.709 at the new size).
import { CliError } from './errors.js';
import type { ColourTags, PixFmt } from './probe.js';

export interface Colour {
  /** ffmpeg's -colorspace name (bt709, smpte170m, bt470bg, bt2020nc, smpte240m, fcc), or gbr for RGB. */
  matrix: string;
  range: 'tv' | 'pc';
  primaries: string;
  transfer: string;
  /** The properties that were not tagged and follow the rule. */
  assumed: Array<'matrix' | 'range' | 'primaries' | 'transfer'>;
  /** PQ or HLG transfer: kept, but the network was trained on SDR. */
  hdr?: 'PQ' | 'HLG';
}

/** ffmpeg -colorspace names → the scale filter's in/out_color_matrix names. */
const SWS_MATRIX: Record<string, string> = {
  bt709: 'bt709',
  smpte170m: 'smpte170m',
  bt470bg: 'bt470',
  bt2020nc: 'bt2020',
  smpte240m: 'smpte240m',
  fcc: 'fcc',
};

/** The swscale conversion: bicubic chroma, computed at full chroma resolution with accurate rounding. */
const SWS_FLAGS = 'bicubic+accurate_rnd+full_chroma_int+full_chroma_inp';

/** Whether a stored height is SD by the rule. */
export const isSd = (codedHeight: number) => codedHeight < 720;

/** The colour of a video: its tags, and the rule (see the top of this file) for what is not tagged. */
export function decideColour(tags: ColourTags, pix: PixFmt, codedHeight: number, file = 'input'): Colour {
  const sd = isSd(codedHeight);
  const assumed: Colour['assumed'] = [];
  let matrix = tags.matrix;
  if (pix.rgb) matrix = 'gbr';
  else if (!matrix || matrix === 'gbr') {
    matrix = sd ? 'smpte170m' : 'bt709';
    assumed.push('matrix');
  } else if (!SWS_MATRIX[matrix]) {
    throw new CliError(`${file}: colour matrix ${matrix} cannot be converted by ffmpeg's scaler (it converts ${Object.keys(SWS_MATRIX).join(', ')})`);
  }
  let range = tags.range;
  if (pix.rgb) range = 'pc';
  else if (!range) {
    range = /^yuvj/.test(pix.name) ? 'pc' : 'tv';
    if (!/^yuvj/.test(pix.name)) assumed.push('range');
  }
  let primaries = tags.primaries;
  if (!primaries) {
    primaries = sd ? (codedHeight === 576 || codedHeight === 288 ? 'bt470bg' : 'smpte170m') : 'bt709';
    assumed.push('primaries');
  }
  let transfer = tags.transfer;
  if (!transfer) {
    transfer = sd ? 'smpte170m' : 'bt709';
    assumed.push('transfer');
  }
  const hdr = transfer === 'smpte2084' ? 'PQ' : transfer === 'arib-std-b67' ? 'HLG' : undefined;
  return { matrix, range, primaries, transfer, assumed, ...(hdr ? { hdr } : {}) };
}

/** The output's colour: the input's, with an RGB output format tagged gbr/full and a YUV one from an RGB input by the rule. */
export function outputColour(input: Colour, out: PixFmt, codedHeight: number): Colour {
  if (out.rgb) return { ...input, matrix: 'gbr', range: 'pc' };
  if (input.matrix === 'gbr') return { ...input, matrix: isSd(codedHeight) ? 'smpte170m' : 'bt709', range: 'tv' };
  return input;
}

/** The filters after which the decoder's frames are RGB (rgb24, or rgb48be for 16-bit PPM frames). */
export function toRgbFilter(c: Colour, bits: 8 | 16): string {
  const fmt = bits === 16 ? 'rgb48be' : 'rgb24';
  if (c.matrix === 'gbr') return `scale=flags=${SWS_FLAGS},format=${fmt}`;
  return `scale=in_color_matrix=${SWS_MATRIX[c.matrix]}:in_range=${c.range}:flags=${SWS_FLAGS},format=${fmt}`;
}

/** The filters that turn the network's RGB into the output pixel format with the output colour. */
export function fromRgbFilter(c: Colour, pixFmt: string): string {
  if (c.matrix === 'gbr') return `scale=flags=${SWS_FLAGS},format=${pixFmt}`;
  return `scale=out_color_matrix=${SWS_MATRIX[c.matrix]}:out_range=${c.range}:flags=${SWS_FLAGS},format=${pixFmt}`;
}

/** The options that tag the output (`stream`: for that output stream only, e.g. '0'; a stream copy takes them too). */
export function colourTagArgs(c: Colour, stream?: string): string[] {
  const s = stream === undefined ? '' : `:${stream}`;
  // ffprobe names RGB 'gbr'; the option's name for it is 'rgb'
  return [
    `-colorspace${s}`,
    c.matrix === 'gbr' ? 'rgb' : c.matrix,
    `-color_primaries${s}`,
    c.primaries,
    `-color_trc${s}`,
    c.transfer,
    `-color_range${s}`,
    c.range,
  ];
}

export function describeColour(c: Colour): string {
  const assumed = c.assumed.length ? ` (untagged ${c.assumed.join(', ')}: by the rule)` : '';
  return `${c.matrix}/${c.range}, primaries ${c.primaries}, transfer ${c.transfer}${assumed}`;
}

/**
 * The output pixel format when none is given: the input's chroma layout (RGB: 4:4:4) at 8 bits, or 10 bits
 * when the input has more than 8, taking the first of these the encoder has, then any deeper, then 8 bits.
 */
export function defaultPixFmt(input: PixFmt, supported: readonly string[]): string {
  const bits = input.bits > 8 ? '10le' : '';
  const chroma = input.rgb || (input.chromaW === 0 && input.chromaH === 0) ? '444' : input.chromaW === 1 && input.chromaH === 0 ? '422' : '420';
  const layouts = [chroma, '420', '422', '444'];
  const tries = [...layouts.map((l) => `yuv${l}p${bits}`), ...layouts.map((l) => `yuv${l}p10le`), ...layouts.map((l) => `yuv${l}p`)];
  const pick = tries.find((p) => supported.includes(p)) ?? supported[0];
  if (!pick) throw new CliError('the encoder lists no pixel formats');
  return pick;
}
