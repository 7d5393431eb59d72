// Where a frame-folder run writes and where --resume restarts: pure decisions, tested on every input state
// (no ffmpeg, no GPU, no files).
import { describe, expect, it } from 'vitest';
import { folderTarget, resumePoint, type FolderTarget } from '../../src/node/resume.js';

const OUT = 'out_x4';
const PARTIAL = '/work/.out_x4.msvsr-partial';

const EXISTS = `${OUT}: already exists (use --overwrite to replace it, or --resume to continue it)`;
const INTERRUPTED = `${OUT}: an interrupted run left its frames in ${PARTIAL}; add --resume to continue it, or --overwrite to start over`;
const BOTH = `${OUT}: already exists, and an interrupted run is in ${PARTIAL}; add --overwrite to finish that run and replace ${OUT}`;

const freshPartial: FolderTarget = { work: 'partial', fresh: true };
const continuePartial: FolderTarget = { work: 'partial', fresh: false };
const continueOutput: FolderTarget = { work: 'output', fresh: false };

// [resume, overwrite, output exists, partial exists] -> target or the message
const table: Array<[boolean, boolean, boolean, boolean, FolderTarget | string]> = [
  // no --resume: always a fresh hidden folder, unless something would be lost without --overwrite
  [false, false, false, false, freshPartial],
  [false, false, false, true, INTERRUPTED],
  [false, false, true, false, EXISTS],
  [false, false, true, true, EXISTS],
  [false, true, false, false, freshPartial],
  [false, true, false, true, freshPartial],
  [false, true, true, false, freshPartial],
  [false, true, true, true, freshPartial],
  // --resume: the interrupted run first, then the finished output in place, else a fresh start
  [true, false, false, false, freshPartial],
  [true, false, false, true, continuePartial],
  [true, false, true, false, continueOutput],
  [true, false, true, true, BOTH],
  [true, true, false, false, freshPartial],
  [true, true, false, true, continuePartial],
  [true, true, true, false, continueOutput],
  [true, true, true, true, continuePartial],
];

describe('folderTarget', () => {
  it('the table covers every combination once', () => {
    expect(new Set(table.map((r) => r.slice(0, 4).join())).size).toBe(16);
  });
  for (const [resume, overwrite, outputExists, partialExists, want] of table) {
    const name = `${resume ? '--resume' : 'no --resume'}, ${overwrite ? '--overwrite' : 'no --overwrite'}, output ${outputExists ? 'exists' : 'absent'}, partial ${partialExists ? 'exists' : 'absent'}`;
    it(`${name} -> ${typeof want === 'string' ? 'refused' : `${want.fresh ? 'fresh' : 'continue'} ${want.work}`}`, () => {
      const run = () => folderTarget({ resume, overwrite, outputExists, partialExists, output: OUT, partial: PARTIAL });
      if (typeof want === 'string') {
        expect(run).toThrow(want);
        try {
          run();
        } catch (e) {
          expect((e as Error).name).toBe('CliError');
          expect((e as Error).message).toBe(want);
        }
      } else expect(run()).toEqual(want);
    });
  }
});

describe('resumePoint', () => {
  const frames = Array.from({ length: 10 }, (_, i) => `${String(i + 1).padStart(8, '0')}.png`);
  const doneUpTo = (n: number) => (name: string) => frames.indexOf(name) < n;
  const only =
    (...idx: number[]) =>
    (name: string) =>
      idx.includes(frames.indexOf(name));

  const cases: Array<[string, number, (name: string) => boolean, number]> = [
    ['none done', 3, () => false, 0],
    ['all done', 3, () => true, 10],
    ['all done, chunk larger than the sequence', 20, () => true, 10],
    ['none done, chunk larger than the sequence', 20, () => false, 0],
    ['one chunk complete (chunk 3)', 3, doneUpTo(3), 3],
    ['two chunks complete (chunk 3)', 3, doneUpTo(6), 6],
    ['all but the short last chunk (chunk 3)', 3, doneUpTo(9), 9],
    ['a partly written chunk restarts at its start', 3, doneUpTo(5), 3],
    ['one frame of the first chunk missing', 3, doneUpTo(2), 0],
    ['chunk 1: exactly the frames done', 1, doneUpTo(7), 7],
    ['a hole: the first incomplete chunk counts, later ones do not', 2, only(0, 1, 2, 4, 5, 6, 7, 8, 9), 2],
    ['later chunks done but not the first', 5, only(5, 6, 7, 8, 9), 0],
    ['chunk 5, first chunk done', 5, doneUpTo(5), 5],
  ];
  for (const [name, chunk, done, want] of cases) {
    it(`${name} -> ${want}`, () => expect(resumePoint(frames, chunk, done)).toBe(want));
  }

  it('an empty sequence is done', () => expect(resumePoint([], 3, () => false)).toBe(0));

  it('asks about each frame name of the sequence, in order, until the first missing one', () => {
    const asked: string[] = [];
    resumePoint(frames, 4, (n) => {
      asked.push(n);
      return frames.indexOf(n) < 5;
    });
    expect(asked).toEqual(frames.slice(0, 6));
  });
});
