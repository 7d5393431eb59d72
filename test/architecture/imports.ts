// The import graph of src/, read from the sources (GPU-free): which folder of src/ imports which.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

export function sourceFiles(dir = SRC): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The folder of src/ a file belongs to: its first path segment, or '.' for files directly in src/. */
export function folderOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? '.' : rel[0];
}

/** Relative imports of a file (static imports, re-exports and dynamic imports), resolved to .ts files. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    out.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** folder -> folders it imports (itself excluded), with one example import per edge. */
export function folderGraph(): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const f of sourceFiles()) {
    const a = folderOf(f);
    if (!g.has(a)) g.set(a, new Map());
    for (const t of importsOf(f)) {
      if (!t.startsWith(SRC)) continue;
      const b = folderOf(t);
      if (b !== a && !g.get(a)!.has(b)) g.get(a)!.set(b, `${relative(SRC, f)} -> ${relative(SRC, t)}`);
    }
  }
  return g;
}

/** Every cycle of folders (as strongly connected components with more than one folder). */
export function folderCycles(g: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}
