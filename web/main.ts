// The page: shows state and sends commands to the worker (worker.ts), which does all the work. Controls are
// native elements in reading order, so the page is usable with a keyboard alone; every line that changes
// while a run goes on has its space reserved, so nothing moves.
import {
  type AppError,
  type DebugOptions,
  type FromWorker,
  type InputInfo,
  type Notice,
  type OutputChoice,
  type PlanInfo,
  type PreviewResult,
  type RunOptions,
  type ToWorker,
  VIDEO_CODEC_NAMES,
  type VideoCodecName,
} from './protocol.js';

type JobState = 'idle' | 'previewing' | 'running' | 'paused' | 'cancelling' | 'done' | 'cancelled' | 'failed';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  gpu: $('gpu-status'),
  error: $('error'),
  errorTitle: $('error-title'),
  errorMessage: $('error-message'),
  errorAdvice: $('error-advice'),
  errorDetails: $<HTMLDetailsElement>('error-details'),
  errorDetail: $('error-detail'),
  errorDismiss: $<HTMLButtonElement>('error-dismiss'),
  weightsFile: $<HTMLInputElement>('weights-file'),
  weightsUrlForm: $<HTMLFormElement>('weights-url-form'),
  weightsUrl: $<HTMLInputElement>('weights-url'),
  weightsLoad: document.querySelector<HTMLButtonElement>('[data-testid="weights-load"]')!,
  weightsStatus: $('weights-status'),
  clearWeights: $<HTMLButtonElement>('clear-weights'),
  drop: $('drop'),
  videoFile: $<HTMLInputElement>('video-file'),
  info: $('input-info'),
  moment: $<HTMLInputElement>('moment'),
  momentLabel: $<HTMLOutputElement>('moment-label'),
  preview: $<HTMLButtonElement>('preview'),
  compare: $('compare'),
  viewport: $('viewport'),
  before: $<HTMLCanvasElement>('before'),
  after: $<HTMLCanvasElement>('after'),
  compareSlider: $<HTMLInputElement>('compare-slider'),
  zoom: $<HTMLButtonElement>('zoom'),
  previewStatus: $('preview-status'),
  placeholder: $('compare-placeholder'),
  output: $<HTMLSelectElement>('output'),
  precision: $<HTMLSelectElement>('precision'),
  quality: $<HTMLSelectElement>('quality'),
  memory: $<HTMLSelectElement>('memory'),
  chunk: $<HTMLInputElement>('chunk'),
  overlap: $<HTMLInputElement>('overlap'),
  halo: $<HTMLInputElement>('halo'),
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLProgressElement>('progress'),
  progressText: $('progress-text'),
  plan: $('plan'),
  notices: $('notices'),
  result: $('result'),
};

const state = {
  gpu: 'checking' as 'checking' | 'ok' | 'none',
  f16: false,
  weights: 'none' as 'none' | 'loading' | 'ready' | 'error',
  input: undefined as InputInfo | undefined,
  probing: false,
  job: 'idle' as JobState,
  total: 0,
  done: 0,
  /** Milliseconds of the run while not paused, and when the current unpaused stretch began. */
  activeMs: 0,
  since: 0,
  resultUrl: undefined as string | undefined,
  /** A pass has run in this page's worker, so its GPU kernels are compiled. */
  compiled: false,
};

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (m: ToWorker) => worker.postMessage(m);

// ---- formatting ----

const nf = new Intl.NumberFormat('en');
const clock = (s: number) => {
  if (!Number.isFinite(s)) return '—';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
};
const seconds = (s: number) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : '—');
const mib = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${Math.max(1, Math.round(b / 1024))} KiB`;
const codecLabel = (c: VideoCodecName) => VIDEO_CODEC_NAMES[c] ?? c;

// ---- state → controls ----

const busy = () => ['previewing', 'running', 'paused', 'cancelling'].includes(state.job);

function update(): void {
  document.body.dataset.state = state.job;
  const ready = state.gpu === 'ok' && state.weights === 'ready' && !!state.input && !state.probing;
  const b = busy();
  el.start.disabled = !ready || b;
  el.preview.disabled = !ready || b;
  el.moment.disabled = !state.input || b;
  el.pause.disabled = !(state.job === 'running' || state.job === 'paused');
  el.pause.textContent = state.job === 'paused' ? 'Resume' : 'Pause';
  el.pause.setAttribute('aria-pressed', String(state.job === 'paused'));
  el.cancel.disabled = !(state.job === 'running' || state.job === 'paused');
  for (const c of [el.weightsFile, el.weightsUrl, el.weightsLoad, el.videoFile, el.precision, el.quality, el.memory, el.chunk, el.overlap, el.halo])
    c.disabled = b;
  el.output.disabled = b || !state.input || el.output.options.length < 2;
  el.quality.disabled = b || state.input?.kind === 'images' || el.output.value === 'png';
  el.clearWeights.disabled = b || state.weights !== 'ready';
}

function showError(e: AppError): void {
  el.error.hidden = false;
  el.error.dataset.code = e.code;
  el.errorTitle.textContent = e.title;
  el.errorMessage.textContent = e.message;
  el.errorAdvice.replaceChildren(
    ...e.advice.map((a) => {
      const li = document.createElement('li');
      li.textContent = a;
      return li;
    }),
  );
  el.errorDetails.hidden = !e.detail;
  el.errorDetail.textContent = e.detail ?? '';
}

function clearError(): void {
  el.error.hidden = true;
  delete el.error.dataset.code;
}

function addNotice(n: Notice): void {
  for (const li of el.notices.children) if (li.textContent === n.message) return;
  const li = document.createElement('li');
  li.dataset.code = n.code;
  li.textContent = n.message;
  el.notices.append(li);
}

// ---- GPU and weights ----

function showGpu(m: Extract<FromWorker, { type: 'gpu' }>): void {
  if (m.ok) {
    state.gpu = 'ok';
    state.f16 = m.f16;
    el.gpu.dataset.state = 'ok';
    el.gpu.dataset.f16 = String(m.f16);
    el.gpu.textContent = `GPU: ${m.adapter} · shader-f16: ${m.f16 ? 'yes' : 'no (runs in f32)'} · largest buffer ${mib(m.maxBuffer)}`;
  } else {
    state.gpu = 'none';
    el.gpu.dataset.state = 'none';
    el.gpu.textContent = 'No WebGPU: this page cannot run here (see above).';
    showError(m.error);
  }
  update();
}

function showWeights(m: Extract<FromWorker, { type: 'weights' }>): void {
  const s = el.weightsStatus;
  if (m.state === 'error' && m.keep) {
    showError(m.error);
    state.weights = 'ready';
  } else {
    state.weights = m.state;
    s.dataset.state = m.state;
  }
  delete s.dataset.cached;
  if (m.state === 'none') s.textContent = 'No weights yet: choose the file, or load it from its URL.';
  else if (m.state === 'loading') s.textContent = `Reading and checking ${m.what}…`;
  else if (m.state === 'ready') {
    s.dataset.cached = String(m.cached);
    s.textContent = `${m.config} · ${nf.format(m.parameters)} parameters · ${m.name} `;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = m.cached ? 'cached in this browser' : 'not cached (this session only)';
    s.append(badge);
  } else if (!m.keep) {
    s.textContent = `${m.error.title}. ${m.error.message}`;
    showError(m.error);
  }
  update();
}

// ---- input ----

function outputChoices(info: InputInfo): { value: OutputChoice; label: string }[] {
  if (info.kind === 'images') return [{ value: 'png', label: info.frames === 1 ? 'PNG (lossless)' : 'PNG sequence in a zip (lossless)' }];
  const out: { value: OutputChoice; label: string }[] = [];
  if (info.codec && info.encodable.includes(info.codec)) out.push({ value: 'same', label: `Same as input (${codecLabel(info.codec)})` });
  for (const c of info.encodable) if (c !== info.codec && c !== 'hevc') out.push({ value: c as OutputChoice, label: codecLabel(c) });
  out.push({ value: 'png', label: 'PNG sequence in a zip (lossless, no audio)' });
  return out;
}

function showInput(m: Extract<FromWorker, { type: 'input' }>): void {
  const set = (k: string, v: string) => {
    const dd = el.info.querySelector<HTMLElement>(`[data-k="${k}"]`);
    if (dd) dd.textContent = v;
  };
  el.info.dataset.state = m.state;
  state.probing = m.state === 'probing';
  if (m.state === 'probing') {
    state.input = undefined;
    for (const k of ['name', 'size', 'fps', 'frames', 'duration', 'codec', 'colour', 'audio', 'output']) set(k, k === 'name' ? 'Reading…' : '—');
  } else if (m.state === 'error') {
    state.input = undefined;
    set('name', m.error.title);
    showError(m.error);
  } else {
    const i = m.info;
    state.input = i;
    set('name', `${i.name} (${mib(i.bytes)})`);
    set('size', `${i.width} × ${i.height} → ${4 * i.width} × ${4 * i.height}`);
    set('fps', i.kind === 'video' ? `${nf.format(Math.round(i.fps * 1000) / 1000)} fps${i.constantRate ? '' : ' (variable)'}` : '—');
    set('frames', nf.format(i.frames));
    set('duration', i.kind === 'video' ? `${clock(i.duration)} (${seconds(i.duration)})` : '—');
    set('codec', i.kind === 'video' ? `${i.codecName} in ${i.container}` : i.codecName);
    set('colour', i.colour);
    set(
      'audio',
      i.kind === 'images'
        ? '—'
        : i.audio.length
          ? i.audio
              .map((a, n) => `${n + 1}: ${a.codec}, ${a.channels} ch, ${nf.format(a.sampleRate)} Hz${a.language !== 'und' ? `, ${a.language}` : ''}`)
              .join('; ')
          : 'none',
    );
    const choices = outputChoices(i);
    el.output.replaceChildren(
      ...choices.map((c) => {
        const o = document.createElement('option');
        o.value = c.value;
        o.textContent = c.label;
        return o;
      }),
    );
    set('output', choices[0].label.replace(/^Same as input \((.*)\)$/, '$1'));
    el.moment.max = String(Math.max(0, i.frames - 1));
    el.moment.value = '0';
    showMoment();
  }
  update();
}

function showMoment(): void {
  const i = state.input;
  if (!i) return;
  const k = Number(el.moment.value);
  el.momentLabel.textContent = i.kind === 'video' ? `frame ${k + 1} of ${i.frames} (${clock(k / i.fps)})` : `image ${k + 1} of ${i.frames}`;
}

function open(files: File[]): void {
  if (!files.length || busy()) return;
  clearError();
  el.notices.replaceChildren();
  clearResult();
  send({ type: 'open', files });
}

// ---- preview ----

function whole(input: HTMLInputElement, min: number, fallback: number): number {
  const v = Math.round(Number(input.value));
  return input.value !== '' && Number.isFinite(v) && v >= min ? v : fallback;
}

function options(): RunOptions {
  return {
    output: el.output.value as OutputChoice,
    precision: el.precision.value as RunOptions['precision'],
    maxMemory: Number(el.memory.value),
    chunkSize: whole(el.chunk, 1, 10),
    overlap: whole(el.overlap, 0, 2),
    halo: whole(el.halo, 0, 48),
    quality: el.quality.value as RunOptions['quality'],
  };
}

function paint(canvas: HTMLCanvasElement, rgba: Uint8ClampedArray, w: number, h: number): void {
  canvas.width = w;
  canvas.height = h;
  canvas.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, w, h), 0, 0);
}

function showPreview(m: Extract<FromWorker, { type: 'preview' }>): void {
  if (m.state === 'running') {
    state.job = 'previewing';
    el.compare.dataset.state = el.compare.dataset.state === 'ready' ? 'ready' : 'running';
    el.placeholder.textContent = 'Upscaling a chunk around the chosen moment… (the first time, the GPU kernels are compiled too)';
    el.previewStatus.textContent = 'Upscaling the preview…';
  } else if (m.state === 'error') {
    state.job = 'idle';
    el.compare.dataset.state = el.compare.dataset.state === 'ready' ? 'ready' : 'empty';
    el.previewStatus.textContent = 'The preview failed (see above).';
    showError(m.error);
  } else {
    state.job = 'idle';
    state.compiled = true;
    const r: PreviewResult = m.result;
    const W = 4 * r.width;
    const H = 4 * r.height;
    paint(el.before, r.bicubic, W, H);
    paint(el.after, r.ours, W, H);
    const st = el.compare.style;
    st.setProperty('--aspect', `${W} / ${H}`);
    st.setProperty('--ar', String(W / H));
    st.setProperty('--w1', `${W / devicePixelRatio}px`);
    st.setProperty('--h1', `${H / devicePixelRatio}px`);
    el.compare.dataset.state = 'ready';
    el.compare.dataset.frame = String(r.frame);
    el.compareSlider.disabled = false;
    el.zoom.disabled = false;
    const when = Number.isFinite(r.time) ? ` at ${seconds(r.time)}` : '';
    el.previewStatus.textContent = `Frame ${r.frame + 1}${when}, ${W} × ${H}: bicubic ×4 left of the line, PP-MSVSR ×4 right of it (${seconds(r.seconds)}).`;
  }
  update();
}

function setSplit(percent: number): void {
  const p = Math.min(100, Math.max(0, percent));
  el.compare.style.setProperty('--split', `${p}%`);
  el.compareSlider.value = String(Math.round(p));
}

// ---- run ----

function clearResult(): void {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = undefined;
  el.result.dataset.state = 'none';
  const p = document.createElement('p');
  p.id = 'result-text';
  p.textContent = 'The upscaled file appears here when the run is complete.';
  el.result.replaceChildren(p);
}

function showProgress(): void {
  if (state.job === 'idle' || state.job === 'previewing') return; // the last run's figures stay
  const { done, total } = state;
  el.progress.max = Math.max(1, total);
  el.progress.value = done;
  el.progress.dataset.done = String(done);
  el.progress.dataset.total = String(total);
  const active = (state.activeMs + (state.job === 'running' ? performance.now() - state.since : 0)) / 1000;
  const fps = done > 0 && active > 0 ? done / active : Number.NaN;
  const eta = Number.isFinite(fps) ? (total - done) / fps : Number.NaN;
  const what =
    state.job === 'paused'
      ? 'Paused'
      : state.job === 'cancelling'
        ? 'Cancelling after the current pass…'
        : state.job === 'cancelled'
          ? 'Cancelled'
          : state.job === 'done'
            ? 'Done'
            : state.job === 'failed'
              ? 'Failed'
              : done === 0
                ? state.compiled
                  ? 'Working on the first pass'
                  : 'Starting (the first pass also compiles the GPU kernels)'
                : 'Upscaling';
  el.progressText.textContent = `${what} · ${nf.format(done)} / ${nf.format(total)} frames · ${Number.isFinite(fps) ? fps.toFixed(2) : '—'} fps · ${
    state.job === 'done' ? `took ${clock(active)}` : `ETA ${clock(eta)}`
  }`;
}

function showPlan(p: PlanInfo): void {
  const tiles = p.tiled ? `${p.tiles} tiles of ${p.tileWidth} × ${p.tileHeight} (halo ${p.halo})` : 'whole frames';
  el.plan.textContent = `${state.job === 'previewing' ? 'Preview plan' : 'Plan'}: ${p.chunk} frames per pass (window ${p.window}, overlap ${p.overlap}), ${tiles}, ${p.precision}, ${p.mib.toFixed(0)} of ${p.budgetMib.toFixed(0)} MiB`;
  el.plan.dataset.tiled = String(p.tiled);
}

function showRun(m: Extract<FromWorker, { type: 'run' }>): void {
  const now = performance.now();
  switch (m.state) {
    case 'started':
      state.job = 'running';
      state.total = m.total;
      state.done = 0;
      state.activeMs = 0;
      state.since = now;
      break;
    case 'progress':
      state.compiled = true;
      state.done = m.done;
      state.total = m.total;
      break;
    case 'paused':
      if (state.job === 'running') state.activeMs += now - state.since;
      state.job = 'paused';
      break;
    case 'resumed':
      state.job = 'running';
      state.since = now;
      break;
    case 'cancelling':
      if (state.job === 'running') state.activeMs += now - state.since;
      state.job = 'cancelling';
      break;
    case 'cancelled':
      state.job = 'cancelled';
      el.result.dataset.state = 'cancelled';
      el.result.querySelector('p')!.textContent = `Cancelled after ${state.done} of ${state.total} frames; nothing was saved.`;
      break;
    case 'error':
      if (state.job === 'running') state.activeMs += now - state.since;
      state.job = 'failed';
      el.result.dataset.state = 'failed';
      el.result.querySelector('p')!.textContent = 'The run failed (see the message at the top).';
      showError(m.error);
      break;
    case 'done': {
      if (state.job === 'running') state.activeMs += now - state.since;
      state.job = 'done';
      state.done = m.frames;
      const url = URL.createObjectURL(m.file);
      state.resultUrl = url;
      const p = document.createElement('p');
      p.textContent = `${m.summary} · ${mib(m.file.size)} · ${clock(m.seconds)}`;
      const a = document.createElement('a');
      a.href = url;
      a.download = m.name;
      a.className = 'download';
      a.dataset.testid = 'download';
      a.textContent = `Download ${m.name}`;
      el.result.dataset.state = 'done';
      el.result.replaceChildren(p, a);
      break;
    }
  }
  showProgress();
  update();
}

function start(): void {
  clearError();
  clearResult();
  el.plan.textContent = ' ';
  state.done = 0;
  state.total = state.input?.frames ?? 0;
  send({ type: 'start', options: options() });
}

// ---- wiring ----

worker.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  if (m.type === 'gpu') showGpu(m);
  else if (m.type === 'weights') showWeights(m);
  else if (m.type === 'input') showInput(m);
  else if (m.type === 'preview') showPreview(m);
  else if (m.type === 'run') showRun(m);
  else if (m.type === 'plan') showPlan(m.plan);
  else if (m.type === 'notice') addNotice(m.notice);
});
worker.addEventListener('error', (ev) => {
  showError({ code: 'internal', title: 'The worker failed to start', message: ev.message || 'unknown error', advice: ['Reload the page.'] });
});

el.errorDismiss.addEventListener('click', clearError);
el.weightsFile.addEventListener('change', () => {
  const f = el.weightsFile.files?.[0];
  if (!f) return;
  clearError();
  send({ type: 'weights-file', file: f });
  el.weightsFile.value = '';
});
el.weightsUrlForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!el.weightsUrl.value.trim()) return;
  clearError();
  send({ type: 'weights-url', url: el.weightsUrl.value.trim() });
});
el.clearWeights.addEventListener('click', () => send({ type: 'clear-weights' }));

el.videoFile.addEventListener('change', () => {
  open(Array.from(el.videoFile.files ?? []));
  el.videoFile.value = '';
});
for (const t of ['dragenter', 'dragover'] as const) {
  window.addEventListener(t, (ev) => {
    ev.preventDefault();
    el.drop.classList.add('over');
  });
}
window.addEventListener('dragleave', (ev) => {
  if (!ev.relatedTarget) el.drop.classList.remove('over');
});
window.addEventListener('drop', (ev) => {
  ev.preventDefault();
  el.drop.classList.remove('over');
  open(Array.from(ev.dataTransfer?.files ?? []));
});

el.moment.addEventListener('input', showMoment);
el.preview.addEventListener('click', () => {
  clearError();
  send({ type: 'preview', frame: Number(el.moment.value), options: options() });
});
el.compareSlider.addEventListener('input', () => setSplit(Number(el.compareSlider.value)));
el.viewport.addEventListener('pointermove', (ev) => {
  if (!(ev.buttons & 1) || el.compare.dataset.state !== 'ready') return;
  const r = el.before.getBoundingClientRect();
  setSplit(((ev.clientX - r.left) / r.width) * 100);
});
el.viewport.addEventListener('keydown', (ev) => {
  if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
  ev.preventDefault();
  setSplit(Number(el.compareSlider.value) + (ev.key === 'ArrowLeft' ? -5 : 5));
});
el.zoom.addEventListener('click', () => {
  const one = el.compare.dataset.zoom !== '1:1';
  el.compare.dataset.zoom = one ? '1:1' : 'fit';
  el.zoom.setAttribute('aria-pressed', String(one));
  el.zoom.textContent = one ? 'Fit' : '1:1';
});
el.output.addEventListener('change', () => {
  update();
  const dd = el.info.querySelector<HTMLElement>('[data-k="output"]');
  if (dd) dd.textContent = el.output.selectedOptions[0]?.textContent?.replace(/^Same as input \((.*)\)$/, '$1') ?? '—';
});

el.start.addEventListener('click', start);
el.pause.addEventListener('click', () => send({ type: state.job === 'paused' ? 'resume' : 'pause' }));
el.cancel.addEventListener('click', () => send({ type: 'cancel' }));
setInterval(() => {
  if (state.job === 'running') showProgress();
}, 1000);

// Test switches (web/README.md): ?encoders=vp9,av1 and ?oom=1, or window.msvsrDebug at run time.
const q = new URLSearchParams(location.search);
const debug: DebugOptions = {};
if (q.get('encoders')) debug.encoders = q.get('encoders')!.split(',') as VideoCodecName[];
if (q.get('oom') === '1') debug.outOfMemory = true;
(window as unknown as { msvsrDebug: unknown }).msvsrDebug = {
  restrictEncoders: (list: VideoCodecName[] | undefined) => send({ type: 'debug', debug: { encoders: list } }),
  simulateOutOfMemory: () => send({ type: 'debug', debug: { outOfMemory: true } }),
};

showProgress();
update();
send({ type: 'init', debug });
