// The worker: the GPU device, the weights, the input, the preview and the run. The page stays responsive
// because everything here runs off its thread; pause and cancel arrive as messages between awaits.
import {
  type ChunkPlan,
  type Frame,
  getDevice,
  type Gpu,
  loadModel,
  type Model,
  OutOfMemoryError,
  upscaleFrames,
  upscaleStream,
  WeightsError,
} from 'msvsr-webgpu';
import { EncodedAudioPacketSource, EncodedPacketSink, Output, Quality, type VideoCodec, VideoSample, VideoSampleSink, VideoSampleSource } from 'mediabunny';
import { bicubic } from './bicubic.js';
import { classify, noWebGpu, weightsError } from './errors.js';
import {
  AppFailure,
  codecName,
  decodeImage,
  fail,
  imagesInfo,
  isImage,
  naturalOrder,
  type OpenVideo,
  openVideo,
  outputFormatFor,
  outputTarget,
  sampleToRgba,
} from './media.js';
import { encodePng } from './png.js';
import type { DebugOptions, FromWorker, InputInfo, Notice, PlanInfo, Precision, RunOptions, ToWorker, VideoCodecName } from './protocol.js';
import { ZipWriter } from './zip.js';

const scope = globalThis as unknown as {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (e: MessageEvent<ToWorker>) => void): void;
  location: { href: string };
};
const post = (m: FromWorker, transfer?: Transferable[]) => scope.postMessage(m, transfer);
const notice = (n: Notice) => post({ type: 'notice', notice: n });

let gpu: Gpu | undefined;
let model: Model | undefined;
type Source = { kind: 'video'; video: OpenVideo; info: InputInfo; times?: number[] } | { kind: 'images'; files: File[]; info: InputInfo };
let source: Source | undefined;
let debug: DebugOptions = {};

// ---- weights, validated by the library's reader and cached with the Cache API ----

const CACHE = 'msvsr-weights-v1';
const cacheKey = () => new URL('msvsr-cached-weights', scope.location.href).href;

async function cacheGet(): Promise<{ bytes: Uint8Array; name: string } | undefined> {
  if (typeof caches === 'undefined') return undefined;
  const r = await (await caches.open(CACHE)).match(cacheKey());
  if (!r) return undefined;
  return { bytes: new Uint8Array(await r.arrayBuffer()), name: decodeURIComponent(r.headers.get('x-msvsr-name') ?? 'weights') };
}

async function cachePut(bytes: Uint8Array, name: string): Promise<boolean> {
  if (typeof caches === 'undefined') return false;
  try {
    const headers = { 'content-type': 'application/octet-stream', 'x-msvsr-name': encodeURIComponent(name) };
    await (await caches.open(CACHE)).put(cacheKey(), new Response(bytes as BlobPart, { headers }));
    return true;
  } catch {
    return false; // e.g. over the storage quota: the weights still work for this session
  }
}

async function useWeights(bytes: Uint8Array, name: string, from: 'file' | 'url' | 'cache'): Promise<void> {
  post({ type: 'weights', state: 'loading', what: name });
  let m: Model;
  try {
    m = await loadModel(bytes, { name });
  } catch (e) {
    if (from === 'cache') await caches.delete(CACHE);
    // A failed pick leaves the weights already loaded in place.
    post({ type: 'weights', state: 'error', error: e instanceof WeightsError ? weightsError(e) : classify(e), keep: model !== undefined });
    return;
  }
  model = m;
  const cached = from === 'cache' ? true : await cachePut(bytes, name);
  post({ type: 'weights', state: 'ready', name, config: m.config, parameters: m.parameters, format: m.format, cached });
}

async function weightsFromUrl(url: string): Promise<void> {
  post({ type: 'weights', state: 'loading', what: url });
  let bytes: Uint8Array;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status} ${r.statusText}`);
    bytes = new Uint8Array(await r.arrayBuffer());
  } catch (e) {
    post({
      type: 'weights',
      state: 'error',
      keep: model !== undefined,
      error: {
        code: 'weights-download',
        title: 'The weights could not be downloaded',
        message: `${url}: ${(e as Error).message}`,
        advice: [
          'Check the address. A server that does not allow cross-origin downloads (CORS) cannot be read from this page: download the file yourself and choose it under "Weights file".',
        ],
      },
    });
    return;
  }
  const name = decodeURIComponent(new URL(url, scope.location.href).pathname.split('/').pop() || 'weights');
  await useWeights(bytes, name, 'url');
}

// ---- input ----

async function open(files: File[]): Promise<void> {
  if (source?.kind === 'video') source.video.input.dispose();
  source = undefined;
  post({ type: 'input', state: 'probing' });
  try {
    if (!files.length) fail({ code: 'input', title: 'No file', message: 'No file was chosen.', advice: ['Choose a video or images.'] });
    if (files.every(isImage)) {
      const sorted = naturalOrder(files);
      const info = await imagesInfo(sorted);
      source = { kind: 'images', files: sorted, info };
    } else if (files.length === 1) {
      const video = await openVideo(files[0], debug.encoders);
      source = { kind: 'video', video, info: video.info };
      const { info } = video;
      if (info.codec && !info.encodable.includes(info.codec)) {
        const instead = info.encodable[0];
        notice({
          code: 'codec-encode',
          message: `This browser cannot encode ${info.codecName} at ${4 * info.width}x${4 * info.height}: ${
            instead ? `the output will be ${codecName(instead)}` : 'the output will be a PNG sequence'
          } (choose another under Output).`,
        });
      }
    } else {
      fail({
        code: 'input',
        title: 'One video, or images',
        message: `${files.length} files were chosen and not all are images.`,
        advice: ['Choose one video file, or a set of PNG / JPEG frames.'],
      });
    }
    post({ type: 'input', state: 'ready', info: source!.info });
  } catch (e) {
    post({ type: 'input', state: 'error', error: classify(e) });
  }
}

/** Presentation timestamps of every frame (read from the container, nothing decoded). */
async function frameTimes(s: Extract<Source, { kind: 'video' }>): Promise<number[]> {
  if (!s.times) {
    const t: number[] = [];
    for await (const p of new EncodedPacketSink(s.video.track).packets(undefined, undefined, { metadataOnly: true })) t.push(p.timestamp);
    s.times = t.sort((a, b) => a - b);
  }
  return s.times;
}

const rgbaFrame = (f: { width: number; height: number; data: Uint8ClampedArray }): Frame => ({ width: f.width, height: f.height, data: f.data, channels: 4 });

/** `count` frames from frame `first` on. */
async function readFrames(s: Source, first: number, count: number): Promise<Frame[]> {
  const out: Frame[] = [];
  if (s.kind === 'images') {
    for (const f of s.files.slice(first, first + count)) out.push(await checkedImage(f, s.info));
    return out;
  }
  const times = await frameTimes(s);
  const sink = new VideoSampleSink(s.video.track);
  for await (const sample of sink.samples(times[first])) {
    try {
      out.push(rgbaFrame(await sampleToRgba(sample, s.video.colour)));
    } finally {
      sample.close();
    }
    if (out.length === count) break;
  }
  return out;
}

async function checkedImage(file: File, info: InputInfo): Promise<Frame> {
  const img = await decodeImage(file);
  if (img.width !== info.width || img.height !== info.height) {
    fail({
      code: 'input',
      title: 'The images are not all one size',
      message: `${file.name} is ${img.width}x${img.height}, but the first image is ${info.width}x${info.height}.`,
      advice: ['Choose frames of one size (one video, one folder of frames).'],
    });
  }
  return rgbaFrame(img);
}

// ---- running the network ----

function precisionFor(o: RunOptions): Precision {
  const g = gpu!;
  if (o.precision === 'f32') return 'f32';
  if (g.f16) return 'f16';
  if (o.precision === 'f16') {
    notice({
      code: 'no-f16',
      message: `This GPU adapter (${g.adapter.name}) has no shader-f16: running in f32 instead — the same quality, about twice the GPU memory.`,
    });
  }
  return 'f32';
}

function planInfo(p: ChunkPlan): PlanInfo {
  return {
    chunk: p.chunk,
    window: p.window,
    overlap: p.overlap,
    tiled: p.tiled,
    tiles: p.tile.count,
    tileWidth: p.tile.width,
    tileHeight: p.tile.height,
    halo: p.tile.halo,
    mib: p.bytes.total / 2 ** 20,
    budgetMib: p.limits.budget / 2 ** 20,
    precision: p.precision,
  };
}

/** Library options shared by the preview and the run, with the simulated small GPU when asked for. */
function libraryOptions(o: RunOptions, precision: Precision) {
  const g = gpu!;
  let room = 0;
  let sum = 0;
  if (debug.outOfMemory) {
    debug = { ...debug, outOfMemory: false }; // one run
    // Like a GPU with room for 70 % of the first plan's activations (slots are allocated slot0, slot1, ...).
    g.hooks.allocate = (label, bytes) => {
      if (!room || !label.startsWith('slot')) return;
      sum = label === 'slot0' ? bytes : sum + bytes;
      if (sum > room) throw new OutOfMemoryError(`${label}: out of memory (simulated: ${(room / 2 ** 20).toFixed(1)} MiB of room)`);
    };
  }
  return {
    model: model!,
    device: g,
    precision,
    maxMemory: o.maxMemory,
    halo: o.halo,
    onPlan: (p: ChunkPlan) => {
      if (g.hooks.allocate && !room) room = 0.7 * p.bytes.activations;
      post({ type: 'plan', plan: planInfo(p) });
    },
    onRecover: (m: string) => {
      const text = m.replace(/^msvsr: /, '');
      notice(
        /reopened/.test(text) ? { code: 'gpu', message: `The GPU device was lost: ${text}` } : { code: 'oom', message: `The GPU ran out of memory: ${text}` },
      );
    },
  };
}

function requireReady(): Source {
  if (!gpu) fail({ code: 'no-webgpu', title: 'No GPU', message: 'WebGPU is not available.', advice: [] });
  if (!model) fail({ code: 'weights', title: 'No weights', message: 'Choose the weights first.', advice: ['Choose a .pdparams file or load one from a URL.'] });
  if (!source) fail({ code: 'input', title: 'No input', message: 'Choose a video or images first.', advice: [] });
  return source!;
}

const toRgba = (f: Frame): Uint8ClampedArray => {
  const n = f.width * f.height;
  const c = f.data.length / n;
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    out[p * 4] = f.data[p * c];
    out[p * 4 + 1] = f.data[p * c + 1];
    out[p * 4 + 2] = f.data[p * c + 2];
    out[p * 4 + 3] = 255;
  }
  return out;
};

async function preview(frame: number, o: RunOptions): Promise<void> {
  post({ type: 'preview', state: 'running' });
  const t0 = performance.now();
  try {
    const s = requireReady();
    const n = s.info.frames;
    const at = Math.min(n - 1, Math.max(0, Math.round(frame)));
    // One forward pass over a chunk around the chosen frame, so that it has neighbours on both sides.
    const len = Math.min(n, o.chunkSize);
    const first = Math.min(n - len, Math.max(0, at - Math.floor(len / 2)));
    const frames = await readFrames(s, first, len);
    const out = await upscaleFrames(frames, { ...libraryOptions(o, precisionFor(o)), chunkSize: frames.length, overlap: 0 });
    const k = Math.min(at - first, frames.length - 1);
    const lr = frames[k];
    const result = {
      frame: first + k,
      time: s.kind === 'video' ? ((await frameTimes(s))[first + k] ?? Number.NaN) : Number.NaN,
      width: lr.width,
      height: lr.height,
      bicubic: bicubic(lr.data as Uint8ClampedArray, lr.width, lr.height),
      ours: toRgba(out[k]),
      seconds: (performance.now() - t0) / 1000,
    };
    post({ type: 'preview', state: 'done', result }, [result.bicubic.buffer, result.ours.buffer]);
  } catch (e) {
    post({ type: 'preview', state: 'error', error: classify(e) });
  } finally {
    if (gpu) gpu.hooks = {};
  }
}

class Job {
  paused = false;
  cancelled = false;
  private waiters: (() => void)[] = [];
  async gate(): Promise<void> {
    while (this.paused && !this.cancelled) await new Promise<void>((r) => this.waiters.push(r));
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    for (const w of this.waiters.splice(0)) w();
  }
  cancel(): void {
    this.cancelled = true;
    this.resume();
  }
}
let job: Job | undefined;

const stem = (name: string) => name.replace(/\.[^.]+$/, '') || 'output';

function videoCodecFor(o: RunOptions, info: InputInfo): VideoCodecName {
  const want = o.output === 'same' ? (info.codec ?? 'avc') : o.output;
  if (want !== 'png' && info.encodable.includes(want)) return want;
  if (o.output === 'same' && info.encodable.length) return info.encodable[0];
  return fail({
    code: 'codec-encode',
    title: `This browser cannot encode ${codecName(want)}`,
    message: `There is no ${codecName(want)} encoder for ${4 * info.width}x${4 * info.height} video in this browser.`,
    advice: [
      info.encodable.length
        ? `Choose ${info.encodable.map((c) => codecName(c)).join(' or ')} under Output.`
        : 'This browser encodes no video codec at this size.',
      'Or choose "PNG sequence" (lossless, no audio).',
    ],
  });
}

async function run(o: RunOptions): Promise<void> {
  const j = new Job();
  job = j;
  const t0 = performance.now();
  try {
    const s = requireReady();
    const precision = precisionFor(o);
    const lib = { ...libraryOptions(o, precision), chunkSize: o.chunkSize, overlap: o.overlap, totalFrames: s.info.frames };
    const png = s.kind === 'images' || o.output === 'png';
    if (png) await runPng(s, lib, j, t0);
    else await runVideo(s as Extract<Source, { kind: 'video' }>, o, lib, j, t0);
  } catch (e) {
    post({ type: 'run', state: 'error', error: classify(e) });
  } finally {
    if (gpu) gpu.hooks = {};
    if (job === j) job = undefined;
  }
}

type LibOptions = ReturnType<typeof libraryOptions> & { chunkSize: number; overlap: number; totalFrames: number };

async function runPng(s: Source, lib: LibOptions, j: Job, t0: number): Promise<void> {
  const total = s.info.frames;
  const names: string[] =
    s.kind === 'images' ? s.files.map((f) => `${stem(f.name)}.png`) : Array.from({ length: total }, (_, i) => `frame_${String(i + 1).padStart(6, '0')}.png`);
  const single = s.kind === 'images' && total === 1;
  const outName = single ? `${stem(s.files[0].name)}_x4.png` : s.kind === 'images' ? `${stem(s.files[0].name)}_x4.zip` : `${stem(s.info.name)}_x4_png.zip`;
  post({ type: 'run', state: 'started', total, output: single ? 'PNG' : 'PNG sequence (zip)' });
  const zip = new ZipWriter();
  let last: Uint8Array | undefined;
  async function* frames(): AsyncGenerator<Frame> {
    if (s.kind === 'images') {
      for (const f of s.files) {
        await j.gate();
        if (j.cancelled) return;
        yield await checkedImage(f, s.info);
      }
    } else {
      for await (const sample of new VideoSampleSink(s.video.track).samples()) {
        let f: Frame;
        try {
          f = rgbaFrame(await sampleToRgba(sample, s.video.colour));
        } finally {
          sample.close();
        }
        await j.gate();
        if (j.cancelled) return;
        yield f;
      }
    }
  }
  let done = 0;
  for await (const out of upscaleStream(frames(), lib)) {
    await j.gate();
    if (j.cancelled) break;
    const bytes = await encodePng(out.data as Uint8Array, out.width, out.height);
    if (single) last = bytes;
    else zip.add(names[done], bytes);
    done++;
    post({ type: 'run', state: 'progress', done, total });
  }
  if (j.cancelled) {
    post({ type: 'run', state: 'cancelled' });
    return;
  }
  const file = single ? new Blob([last! as BlobPart], { type: 'image/png' }) : zip.blob();
  const seconds = (performance.now() - t0) / 1000;
  const summary = `${done} PNG frame${done === 1 ? '' : 's'} of ${4 * s.info.width}x${4 * s.info.height} (lossless)${single ? '' : ' in a zip'}`;
  post({ type: 'run', state: 'done', file, name: outName, frames: done, seconds, summary });
}

async function runVideo(s: Extract<Source, { kind: 'video' }>, o: RunOptions, lib: LibOptions, j: Job, t0: number): Promise<void> {
  const v = s.video;
  const info = s.info;
  const codec = videoCodecFor(o, info);
  const audioCodecs = await Promise.all(v.audio.map((a) => a.getCodec()));
  const format = outputFormatFor(v.format, codec, audioCodecs);
  const outName = `${stem(info.name)}_x4${format.fileExtension}`;
  const { target, file, discard } = await outputTarget(outName);
  const output = new Output({ format, target });
  const W = 4 * info.width;
  const H = 4 * info.height;
  // Near-lossless: a low constant quantizer (about CRF 4), else 8 bits per pixel where the encoder has no
  // quantizer mode (Chromium's H.264): at 2 the rate control starved the P-frames of a noisy clip to 22 dB.
  const fps = Number.isFinite(info.fps) && info.fps > 0 ? info.fps : 30;
  const quality = o.quality === 'near-lossless' ? new Quality({ quantizer: 4, bitrate: Math.min(200e6, Math.round(W * H * fps * 8)) }) : new Quality(o.quality);
  const videoSource = new VideoSampleSource({ codec: codec as VideoCodec, quality, sizeChangeBehavior: 'deny' });
  // Timestamps are snapped to the input's own time grid, so each one is kept exactly.
  output.addVideoTrack(videoSource, { rotation: v.rotation, frameRate: v.timeResolution, languageCode: await v.track.getLanguageCode() });

  // Audio: the encoded packets are copied, never decoded, interleaved with the video by timestamp.
  const feeds: {
    source: EncodedAudioPacketSource;
    packets: AsyncGenerator<import('mediabunny').EncodedPacket>;
    config: AudioDecoderConfig | null;
    first: boolean;
    next?: import('mediabunny').EncodedPacket | null;
  }[] = [];
  const copied: string[] = [];
  for (let i = 0; i < v.audio.length; i++) {
    const a = v.audio[i];
    const c = audioCodecs[i];
    if (!c || !format.getSupportedAudioCodecs().includes(c)) {
      notice({
        code: 'audio',
        message: `Audio track ${i + 1} (${codecName(c, await a.getInternalCodecId())}) cannot be stored in ${format.fileExtension} and was left out.`,
      });
      continue;
    }
    const source = new EncodedAudioPacketSource(c);
    output.addAudioTrack(source, { languageCode: await a.getLanguageCode() });
    feeds.push({ source, packets: new EncodedPacketSink(a).packets(), config: await a.getDecoderConfig(), first: true });
    copied.push(codecName(c));
  }
  const pumpAudio = async (until: number) => {
    for (const f of feeds) {
      for (;;) {
        if (f.next === undefined) f.next = (await f.packets.next()).value ?? null;
        if (!f.next || f.next.timestamp > until) break;
        await f.source.add(f.next, f.first && f.config ? { decoderConfig: f.config } : undefined);
        f.first = false;
        f.next = undefined;
      }
    }
  };

  await output.start();
  post({ type: 'run', state: 'started', total: info.frames, output: `${codecName(codec)} in ${format.fileExtension.slice(1).toUpperCase()}` });
  const times: { timestamp: number; duration: number }[] = [];
  async function* frames(): AsyncGenerator<Frame> {
    for await (const sample of new VideoSampleSink(v.track).samples()) {
      let f: Frame;
      try {
        times.push({ timestamp: sample.timestamp, duration: sample.duration });
        f = rgbaFrame(await sampleToRgba(sample, v.colour));
      } finally {
        sample.close();
      }
      await j.gate();
      if (j.cancelled) return;
      yield f;
    }
  }
  let done = 0;
  try {
    const rgbx = new Uint8Array(W * H * 4);
    for await (const out of upscaleStream(frames(), lib)) {
      await j.gate();
      if (j.cancelled) break;
      const d = out.data;
      for (let p = 0, q = 0; p < W * H; p++, q += 3) {
        rgbx[p * 4] = d[q];
        rgbx[p * 4 + 1] = d[q + 1];
        rgbx[p * 4 + 2] = d[q + 2];
        rgbx[p * 4 + 3] = 255;
      }
      const t = times[done];
      const sample = new VideoSample(rgbx, { format: 'RGBX', codedWidth: W, codedHeight: H, timestamp: t.timestamp, duration: t.duration });
      try {
        await videoSource.add(sample);
      } finally {
        sample.close();
      }
      await pumpAudio(t.timestamp);
      done++;
      post({ type: 'run', state: 'progress', done, total: info.frames });
    }
  } catch (e) {
    await output.cancel().catch(() => {});
    await discard();
    throw e;
  }
  if (j.cancelled) {
    await output.cancel().catch(() => {});
    await discard();
    post({ type: 'run', state: 'cancelled' });
    return;
  }
  await pumpAudio(Number.POSITIVE_INFINITY);
  videoSource.close();
  for (const f of feeds) f.source.close();
  await output.finalize();
  const seconds = (performance.now() - t0) / 1000;
  const summary = `${done} frames of ${W}x${H}, ${codecName(codec)} in ${format.fileExtension.slice(1).toUpperCase()}, ${
    copied.length ? `audio copied (${copied.join(', ')})` : 'no audio'
  }`;
  post({ type: 'run', state: 'done', file: await file(), name: outName, frames: done, seconds, summary });
}

// ---- start-up and messages ----

async function init(): Promise<void> {
  try {
    gpu = await getDevice();
    post({
      type: 'gpu',
      ok: true,
      adapter: gpu.adapter.name,
      f16: gpu.f16,
      maxBinding: gpu.limits.maxStorageBufferBindingSize,
      maxBuffer: gpu.limits.maxBufferSize,
    });
  } catch (e) {
    post({ type: 'gpu', ok: false, error: noWebGpu((e as Error).message) });
  }
  const cached = await cacheGet().catch(() => undefined);
  if (cached) await useWeights(cached.bytes, cached.name, 'cache');
  else post({ type: 'weights', state: 'none' });
}

/** Commands that use the worker one at a time (a second one waits for the first). */
let queue: Promise<void> = Promise.resolve();
const serial = (fn: () => Promise<void>) => {
  queue = queue.then(async () => {
    try {
      await fn();
    } catch (e) {
      post({ type: 'run', state: 'error', error: e instanceof AppFailure ? e.error : classify(e) });
    }
  });
};

scope.addEventListener('message', (ev) => {
  const m = ev.data;
  switch (m.type) {
    case 'init':
      debug = m.debug ?? {};
      serial(init);
      break;
    case 'debug':
      debug = { ...debug, ...m.debug };
      break;
    case 'weights-file':
      serial(async () => useWeights(new Uint8Array(await m.file.arrayBuffer()), m.file.name, 'file'));
      break;
    case 'weights-url':
      serial(() => weightsFromUrl(m.url));
      break;
    case 'clear-weights':
      serial(async () => {
        if (typeof caches !== 'undefined') await caches.delete(CACHE);
        model = undefined;
        post({ type: 'weights', state: 'none' });
      });
      break;
    case 'open':
      serial(() => open(m.files));
      break;
    case 'preview':
      serial(() => preview(m.frame, m.options));
      break;
    case 'start':
      serial(() => run(m.options));
      break;
    // These act at once, between the awaits of a run.
    case 'pause':
      if (job && !job.cancelled) {
        job.pause();
        post({ type: 'run', state: 'paused' });
      }
      break;
    case 'resume':
      if (job?.paused) {
        job.resume();
        post({ type: 'run', state: 'resumed' });
      }
      break;
    case 'cancel':
      if (job) {
        job.cancel();
        post({ type: 'run', state: 'cancelling' });
      }
      break;
  }
});
