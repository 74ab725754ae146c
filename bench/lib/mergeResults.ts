/**
 * `--merge` for benchmarks whose grid is filled over several invocations: the rows of the previous results file
 * (bench/results/<name>.json) that this invocation did not measure are kept, provided the previous file was made
 * with the same settings. Settings are compared on the recorded commands with the flags that only choose which
 * rows to run (`--only`, `--tables`, …) and `--merge` itself taken out. The rule is bench/embedAblation.ts's.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Row } from './results';

/** What a results file written by `writeResults` holds (the parts a merge reads). */
export interface PreviousResults {
  command: string;
  rows: Row[];
  machine?: { date?: string };
}

/** The previous results file, or null when there is none. */
export function readPreviousResults(file: string): PreviousResults | null {
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as PreviousResults;
}

/**
 * The command without ` --flag value` for each of `selectionFlags` and without ` --merge`: two commands with equal
 * settings give equal strings. Values may be quoted with '…'.
 */
export function settingsOf(command: string, selectionFlags: readonly string[]): string {
  let s = command;
  for (const f of selectionFlags) s = s.replace(new RegExp(` ${f} (?:'[^']*'|\\S+)`, 'g'), '');
  return s.replace(/ --merge\b/g, '');
}

export interface MergeOptions {
  /** Identity of a row: fresh rows replace previous rows with the same key. */
  key: (row: Row) => string;
  /** Flags that select rows without changing settings (see `settingsOf`). */
  selectionFlags: readonly string[];
  /** Order of the merged table. Default: fresh rows first, then the kept ones. */
  compare?: (a: Row, b: Row) => number;
}

export interface Merged {
  rows: Row[];
  /** Previous rows kept. */
  kept: Row[];
  /** What the merge did, for the results' notes (none when there was nothing to merge). */
  notes: string[];
}

/** Fresh rows plus the previous rows of other keys, when `previous` was made with the same settings as `command`. */
export function mergeRows(fresh: readonly Row[], command: string, previous: PreviousResults | null, opts: MergeOptions): Merged {
  if (!previous) return { rows: [...fresh], kept: [], notes: [] };
  if (settingsOf(previous.command, opts.selectionFlags) !== settingsOf(command, opts.selectionFlags)) {
    return { rows: [...fresh], kept: [], notes: [`--merge: the previous results were made with other settings (\`${previous.command}\`); nothing kept.`] };
  }
  const freshKeys = new Set(fresh.map(opts.key));
  const kept = previous.rows.filter((r) => !freshKeys.has(opts.key(r)));
  const rows = [...fresh, ...kept];
  if (opts.compare) rows.sort(opts.compare);
  const notes = kept.length ? [`Rows kept from an earlier run with the same settings (${previous.machine?.date ?? 'earlier'}): ${kept.map(opts.key).join('; ')}.`] : [];
  return { rows, kept, notes };
}
