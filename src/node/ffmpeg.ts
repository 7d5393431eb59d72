// Finding ffmpeg and ffprobe (MSVSR_FFMPEG, MSVSR_FFPROBE, PATH) and their version. What ffmpeg can encode is
// in codecs.ts, probing in probe.ts, decoding in decode.ts, encoding in encode.ts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './errors.js';

export const INSTALL_FFMPEG =
  'Install ffmpeg (it includes ffprobe): Debian/Ubuntu `sudo apt-get install ffmpeg`, Fedora `sudo dnf install ffmpeg`, ' +
  'macOS `brew install ffmpeg`, Windows `winget install ffmpeg` — or set MSVSR_FFMPEG=/path/to/ffmpeg ' +
  '(ffprobe is looked for next to it; MSVSR_FFPROBE=/path/to/ffprobe overrides that).';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A program name looked up on PATH (with PATHEXT on Windows); a path is checked as is. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes('/') || name.includes('\\')) return isExecutable(name) ? path.resolve(name) : undefined;
  const exts = process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = path.join(dir, name + ext);
      if (isExecutable(p)) return p;
    }
  }
  return undefined;
}

/** ffmpeg from MSVSR_FFMPEG or PATH; ffprobe from MSVSR_FFPROBE, next to ffmpeg, or PATH. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegTools {
  const wanted = env.MSVSR_FFMPEG;
  const ffmpeg = which(wanted || 'ffmpeg', env);
  if (!ffmpeg) {
    throw new CliError(
      wanted
        ? `MSVSR_FFMPEG=${wanted}: not an executable file. ${INSTALL_FFMPEG}`
        : `ffmpeg was not found on PATH; video input and output need it. ${INSTALL_FFMPEG}`,
    );
  }
  let ffprobe: string | undefined;
  if (env.MSVSR_FFPROBE) {
    ffprobe = which(env.MSVSR_FFPROBE, env);
    if (!ffprobe) throw new CliError(`MSVSR_FFPROBE=${env.MSVSR_FFPROBE}: not an executable file. ${INSTALL_FFMPEG}`);
  } else {
    const ext = path.extname(ffmpeg);
    const beside = path.join(path.dirname(ffmpeg), `ffprobe${ext.toLowerCase() === '.exe' ? ext : ''}`);
    ffprobe = isExecutable(beside) ? beside : which('ffprobe', env);
    if (!ffprobe) throw new CliError(`ffprobe was not found next to ${ffmpeg} or on PATH. ${INSTALL_FFMPEG}`);
  }
  return { ffmpeg, ffprobe };
}

/** The first line of `ffmpeg -version`, or undefined. */
export function ffmpegVersion(ffmpeg: string): string | undefined {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const line = r.stdout.split('\n')[0].trim();
  return /^ffmpeg version \S+/.exec(line)?.[0] ?? line;
}
