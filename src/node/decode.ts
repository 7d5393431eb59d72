// Decoding a video to 8-bit RGB frames through ffmpeg's stdout — no file per frame, and back-pressure so
// memory stays bounded.
import { spawn } from 'node:child_process';
import { collectStderr, exited, killIfRunning, tail, type ChildProcess } from './child.js';
import { CliError } from './errors.js';
import { INSTALL_FFMPEG, type FfmpegTools } from './ffmpeg.js';
import { PpmSplitter, type RgbFrame } from './ppm.js';
import { rationalString, type VideoInfo } from './probe.js';

function spawnError(p: ChildProcess): Promise<never> {
  return new Promise((_, reject) => p.once('error', (e) => reject(new CliError(`cannot run ${p.spawnfile}: ${e.message}. ${INSTALL_FFMPEG}`))));
}

/** ffmpeg arguments that decode the chosen stream of `info` to PPM frames at its constant rate on stdout. */
export function decoderArgs(info: VideoInfo): string[] {
  return [
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
    // timestamps from the stream's own start (the encoder restores a start delay), then constant rate
    '-vf',
    'setpts=PTS-STARTPTS',
    '-r',
    rationalString(info.rate),
    '-pix_fmt',
    'rgb24',
    '-c:v',
    'ppm',
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

/**
 * Decodes the video stream to 8-bit RGB frames at a constant `rate` (ffmpeg duplicates or drops frames of a
 * variable-rate input, as PaddleGAN's PNG export does). The frames come as binary PPM (see ppm.ts): each one
 * states its size, so a rotation or a size change mid-stream cannot misalign the pipe. Pull-driven: ffmpeg
 * blocks on its full pipe while the consumer is busy, so at most a pipe's worth of frames is buffered.
 * ffmpeg is killed if the consumer stops early or anything fails.
 */
export async function* decodeFrames(tools: FfmpegTools, info: VideoInfo, onSpawn?: (p: ChildProcess) => void): AsyncGenerator<RgbFrame> {
  const p = spawn(tools.ffmpeg, decoderArgs(info), { stdio: ['ignore', 'pipe', 'pipe'] });
  onSpawn?.(p);
  const stderr = collectStderr(p);
  const failed = spawnError(p);
  failed.catch(() => {});
  let done = false;
  try {
    const stdout = p.stdout;
    if (!stdout) throw new CliError('ffmpeg: no stdout');
    const iter = stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const ppm = new PpmSplitter(info.file);
    for (;;) {
      const r = await Promise.race([iter.next(), failed]);
      if (r.done) break;
      yield* ppm.push(r.value);
    }
    const { code, signal } = await exited(p);
    if (code !== 0) throw new CliError(`${info.file}: ffmpeg could not decode the video (${signal ?? `exit ${code}`}): ${tail(stderr()) || 'no message'}`);
    ppm.end();
    done = true;
  } finally {
    if (!done) killIfRunning(p);
  }
}
