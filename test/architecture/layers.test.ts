// The layers of src/ point one way. Each folder may import only the folders listed for it below (the
// order of docs/architecture.md), and no two folders may import each other, directly or through a cycle.
import { describe, expect, it } from 'vitest';
import { folderCycles, folderGraph } from './imports.js';

/** folder -> the folders it may import. '.' is the API (src/*.ts). */
const ALLOWED: Record<string, string[]> = {
  numeric: [],
  platform: [],
  metrics: [],
  weights: ['numeric'],
  gpu: ['numeric', 'platform'],
  kernels: ['gpu', 'numeric'],
  graph: ['kernels', 'gpu', 'numeric', 'weights'],
  '.': ['graph', 'kernels', 'gpu', 'numeric', 'platform', 'weights', 'metrics'],
  node: ['.', 'platform', 'weights', 'metrics', 'numeric'],
};

describe('layers of src/', () => {
  const g = folderGraph();

  it('no two folders import each other, directly or through a cycle', () => {
    expect(folderCycles(g)).toEqual([]);
  });

  it('each folder imports only the layers below it', () => {
    const bad: string[] = [];
    for (const [a, edges] of g) {
      if (!(a in ALLOWED)) {
        bad.push(`src/${a} is a new folder: give it a place in ALLOWED (and in docs/architecture.md)`);
        continue;
      }
      for (const [b, example] of edges) if (!ALLOWED[a].includes(b)) bad.push(`${a} imports ${b}: ${example}`);
    }
    expect(bad).toEqual([]);
  });

  it('the check sees a cycle when there is one', () => {
    const fake = new Map([
      ['a', new Map([['b', 'x']])],
      ['b', new Map([['c', 'y']])],
      ['c', new Map([['a', 'z']])],
      ['d', new Map([['a', 'w']])],
    ]);
    expect(folderCycles(fake)).toEqual([['a', 'b', 'c']]);
  });
});
