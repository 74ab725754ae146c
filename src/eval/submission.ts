/**
 * The challenge submission: `prediction.csv` with the columns `ID` and the score column, one row per test row in
 * test row order, zipped at the archive's root as `<experiment id>.zip` (see the reference's "Submission").
 *
 * Scores are written with the fewest significant digits that read back to the same float32 (at most 9), so the AUC
 * of the file equals the AUC of the array (no ties created by rounding).
 */
import fs from 'node:fs';
import path from 'node:path';
import { MmctrError } from '../errors';
import { writeBytesAtomic } from '../util/atomicWrite';
import { writeZip } from './zip';

/** The score column: the baseline wrote `Task1`, most CTR teams `Task2`, some `Task1&2`; any plain name is accepted. */
export type ScoreColumn = 'Task1' | 'Task2' | 'Task1&2' | (string & {});

export const DEFAULT_SCORE_COLUMN: ScoreColumn = 'Task2';

export interface SubmissionOptions {
  /** Folder that receives `prediction.csv` and `<experimentId>.zip` (created if missing). Required. */
  outDir: string;
  /** Name of the archive (without `.zip`). Required; letters, digits, `.`, `_`, `-`. */
  experimentId: string;
  /** Score column name. Default 'Task2'. */
  column?: ScoreColumn;
}

export interface SubmissionFiles {
  csvPath: string;
  zipPath: string;
  rows: number;
  column: string;
}

export class SubmissionError extends MmctrError {}

/**
 * Checks a submission: one score per test row, finite and in [0, 1]; `ids` hold each of 0..N−1 exactly once.
 * Throws SubmissionError naming the first offending row.
 */
export function validateSubmission(ids: Int32Array, scores: ArrayLike<number>): void {
  const n = ids.length;
  if (n === 0) throw new SubmissionError('submission: the test split has no rows');
  if (scores.length !== n) throw new SubmissionError(`submission: ${scores.length} scores for ${n} test rows; one per row is needed`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < n)) throw new SubmissionError(`submission: test row ${i} has ID ${id}, outside 0..${n - 1}`);
    if (seen[id]) throw new SubmissionError(`submission: test row ${i} repeats ID ${id}`);
    seen[id] = 1;
    const s = scores[i];
    if (!(s >= 0 && s <= 1)) throw new SubmissionError(`submission: score of test row ${i} (ID ${id}) is ${s}; scores must be finite and in [0, 1]`);
  }
}

/** Shortest decimal that reads back as the same float32. */
export function formatScore(x: number): string {
  const f = Math.fround(x);
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p));
    if (Math.fround(s) === f) return String(s);
  }
  return String(Number(f.toPrecision(9)));
}

function checkColumn(column: string): void {
  if (!column || /[",\r\n]/.test(column) || column.trim() !== column || column === 'ID') {
    throw new SubmissionError(`submission: score column ${JSON.stringify(column)} must be a non-empty name without commas, quotes, line breaks or surrounding spaces, and not 'ID'`);
  }
}

/** The CSV text (header `ID,<column>`, `\n` line ends), after `validateSubmission`. */
export function predictionCsv(ids: Int32Array, scores: ArrayLike<number>, column: ScoreColumn = DEFAULT_SCORE_COLUMN): string {
  checkColumn(column);
  validateSubmission(ids, scores);
  const lines = new Array<string>(ids.length + 1);
  lines[0] = `ID,${column}`;
  for (let i = 0; i < ids.length; i++) lines[i + 1] = `${ids[i]},${formatScore(scores[i])}`;
  return `${lines.join('\n')}\n`;
}

/** Writes `prediction.csv` and `<experimentId>.zip` (holding prediction.csv at its root) into `outDir`. */
export function writeSubmission(ids: Int32Array, scores: ArrayLike<number>, options: SubmissionOptions): SubmissionFiles {
  const column = options.column ?? DEFAULT_SCORE_COLUMN;
  if (!/^[A-Za-z0-9._-]+$/.test(options.experimentId) || /^\.+$/.test(options.experimentId)) {
    throw new SubmissionError(`submission: experiment id ${JSON.stringify(options.experimentId)} may hold only letters, digits, '.', '_' and '-'`);
  }
  const csv = predictionCsv(ids, scores, column);
  fs.mkdirSync(options.outDir, { recursive: true });
  const csvPath = path.join(options.outDir, 'prediction.csv');
  const zipPath = path.join(options.outDir, `${options.experimentId}.zip`);
  writeBytesAtomic(csvPath, csv);
  writeZip(zipPath, [{ name: 'prediction.csv', data: csv }]);
  return { csvPath, zipPath, rows: ids.length, column };
}
