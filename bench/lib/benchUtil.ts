/**
 * Small pieces shared by the benchmarks that run one child process per configuration (bench/train.ts,
 * bench/zoo.ts): flag parsing, a seeded generator, the median, the load average, and running a child that prints
 * one `RESULT <json>` line on standard output.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The value after `--name` on the command line, or undefined. */
export function argValue(name: string, argv: readonly string[] = process.argv): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Whether `--name` was given. */
export function hasFlag(name: string, argv: readonly string[] = process.argv): boolean {
  return argv.includes(name);
}

/** `--only a,b` as a list, or undefined. */
export function onlyList(argv: readonly string[] = process.argv): string[] | undefined {
  return argValue('--only', argv)?.split(',').map((s) => s.trim()).filter(Boolean);
}

/** mulberry32: reproducible data without touching tf's global seed. Returns values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Upper median (the middle element of the sorted list). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** Load average (1/5/15 min) as `2.1 3.0 3.2`. */
export function loadAverage(): string {
  return os.loadavg().map((x) => x.toFixed(1)).join(' ');
}

/** Marker of the result line a child prints. */
export const RESULT_PREFIX = 'RESULT ';

/** Prints the child's result line (the parent reads it with `runChild`). */
export function printResult(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Runs `node --import tsx <script> ...args` (stderr passes through) and returns the parsed `RESULT` line, or an
 * `{ error }` with the first line of the failure.
 */
export function runChild<T>(script: string, args: string[]): { result: T } | { error: string } {
  let out: string;
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', script, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
  } catch (e) {
    const err = e as Error & { stdout?: string };
    return { error: err.message.split('\n')[0] };
  }
  const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) return { error: 'the child printed no result line' };
  return { result: JSON.parse(line.slice(RESULT_PREFIX.length)) as T };
}
