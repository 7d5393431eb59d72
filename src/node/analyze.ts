// The pass over the whole video before any upscaling: every frame's timestamp (ffprobe, decoding the frames
// the way ffmpeg does, so the list matches the decoder's output one to one) and, unless turned off, the hard
// cuts (scenes.ts on 32x32 gray frames). The frame count is the decoder's, not the container's guess.
import type { ChildProcess } from './child.js';
import { ffmpegOutput } from './decode.js';
import { CliError } from './errors.js';
import type { FfmpegTools } from './ffmpeg.js';
import { runProbe, type VideoInfo } from './probe.js';
import { SCENE_SIZE, SceneScorer } from './scenes.js';

export interface Timestamps {
  /** Each frame's presentation timestamp in ticks of the stream's time base, strictly increasing. */
  pts: number[];
  /** Frames whose timestamp was missing or not after the previous one, and were given one. */
  repaired: number;
}

/** Parses ffprobe's compact frame lines (best_effort_timestamp, pts, pkt_dts) into repaired timestamps. */
export function parseTimestamps(text: string, frameTicks: number): Timestamps {
  const pts: number[] = [];
  let repaired = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('frame|')) continue;
    const f: Record<string, number> = {};
    for (const kv of line.split('|')) {
      const [k, v] = kv.split('=');
      if (v !== undefined) f[k] = Number(v);
    }
    const given = [f.best_effort_timestamp, f.pts, f.pkt_dts].find((x) => Number.isFinite(x));
    const prev = pts.at(-1);
    let t = given ?? (prev === undefined ? 0 : prev + frameTicks);
    if (prev !== undefined && t <= prev) t = prev + 1;
    if (t !== given) repaired++;
    pts.push(t);
  }
  return { pts, repaired };
}

/** Every frame's timestamp, in decoding order of presentation (one ffprobe pass that decodes the stream). */
export function frameTimestamps(tools: FfmpegTools, info: VideoInfo): Timestamps {
  const out = runProbe(
    tools,
    ['-select_streams', String(info.streamIndex), '-show_entries', 'frame=best_effort_timestamp,pts,pkt_dts', '-of', 'compact'],
    info.file,
    'cannot read the frames',
  );
  const ticks = Math.max(1, Math.round((info.rate.den * info.timeBase.den) / (info.rate.num * info.timeBase.num)));
  const t = parseTimestamps(out, ticks);
  if (!t.pts.length) throw new CliError(`${info.file}: the video has no frames (zero frames decoded)`);
  return t;
}

/** Scene-cut scores of every frame, from a decode to 32x32 gray; the count must match the timestamps'. */
export async function sceneScores(tools: FfmpegTools, info: VideoInfo, expect: number, onSpawn?: (p: ChildProcess) => void): Promise<number[]> {
  const args = [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-i',
    info.file,
    '-map',
    `0:${info.streamIndex}`,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `scale=${SCENE_SIZE}:${SCENE_SIZE}:flags=area,format=gray`,
    '-fps_mode',
    'passthrough',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const n = SCENE_SIZE * SCENE_SIZE;
  const scorer = new SceneScorer();
  let pending: Buffer = Buffer.alloc(0);
  for await (const piece of ffmpegOutput(tools, args, info.file, 'decode the video for scene cuts', onSpawn)) {
    pending = pending.length ? Buffer.concat([pending, piece]) : piece;
    let o = 0;
    for (; o + n <= pending.length; o += n) scorer.push(Uint8Array.prototype.slice.call(pending, o, o + n));
    pending = pending.subarray(o);
  }
  if (scorer.scores.length !== expect) {
    throw new CliError(`${info.file}: ${scorer.scores.length} frames decoded for scene cuts where ffprobe found ${expect}; the file may be damaged`);
  }
  return scorer.scores;
}
