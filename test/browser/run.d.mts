// Types for run.mjs (plain ESM, run by node directly and imported by test/browser.test.ts).
import type { Server } from 'node:http';

export declare const ROOT: string;
export declare const TOLERANCE: number;
export declare const CHROMIUM_FLAGS: readonly string[];

export declare function startServer(root?: string, o?: { dist?: string; port?: number }): Promise<{ server: Server; url: string; close(): Promise<void> }>;
export declare function findChromium(env?: NodeJS.ProcessEnv): string | undefined;
export declare function loadPlaywright(): Promise<unknown>;
/** `dist: null` skips the check for a build. */
export declare function missingPrerequisites(o?: { env?: NodeJS.ProcessEnv; dist?: string | null }): Promise<string[]>;

export interface BrowserAdapter {
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
  f16: boolean;
  subgroups: boolean;
  timestamps: boolean;
}

export interface BrowserCheckResult {
  ok: boolean;
  error?: string;
  stack?: string;
  case?: string;
  T?: number;
  H?: number;
  W?: number;
  adapter?: BrowserAdapter;
  /** null when the output held NaN or infinity. */
  maxAbsErr?: number | null;
  nonFinite?: number;
  /** loadModel + upscaleFrames, first pass (pipeline compilation included). */
  seconds?: number;
  repeatSeconds?: number[];
  pipelines?: number;
  totalSeconds?: number;
  userAgent?: string;
  chromium: string;
  flags: string[];
  wallSeconds: number;
  /** What the page logged, failed requests and HTTP errors. */
  console: string[];
}

export declare function runBrowserCheck(o?: {
  caseName?: string;
  timeoutMs?: number;
  chromiumPath?: string;
  weights?: string;
  repeat?: number;
  dist?: string;
  extraFlags?: string[];
}): Promise<BrowserCheckResult>;

export declare function passes(r: BrowserCheckResult, tol?: number): boolean;
