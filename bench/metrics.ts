/**
 * Metrics speed on challenge-sized inputs: AUC of 10M scores (target ≤ 3 s), logloss of 10M probabilities, and gAUC
 * of 10M rows over ~1M users. Prints best / median of a few repeats and rewrites bench/results/metrics.{md,json}.
 *
 *   npm run bench:metrics            (node --import tsx bench/metrics.ts [rows] [repeats])
 */
import { performance } from 'node:perf_hooks';
import { auc, gauc, logloss } from '../src/eval';
import { writeResults, type Row } from './lib/results';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const REPEATS = Number(process.argv[3] ?? 5);
const USERS = Math.max(1, Math.round(ROWS / 10));
const AUC_TARGET_S = 3;

/** mulberry32: reproducible inputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Probabilities with signal; one row in four is rounded to 3 decimals so that ties are common, as with a model
// whose outputs saturate.
const r = rng(20242025);
const probs = new Float64Array(ROWS);
const labels = new Uint8Array(ROWS);
const users = new Int32Array(ROWS);
for (let i = 0; i < ROWS; i++) {
  const p = r();
  probs[i] = r() < 0.25 ? Math.round(p * 1000) / 1000 : p;
  labels[i] = r() < 0.2 + 0.5 * p ? 1 : 0;
  users[i] = 1 + Math.floor(r() * USERS);
}
const probs32 = Float32Array.from(probs);

function time(fn: () => number): { best: number; median: number; value: number } {
  const seconds: number[] = [];
  let value = NaN;
  for (let k = 0; k < REPEATS; k++) {
    const t0 = performance.now();
    value = fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  seconds.sort((a, b) => a - b);
  return { best: seconds[0], median: seconds[Math.floor(seconds.length / 2)], value };
}

const rows: Row[] = [];
function record(metric: string, input: string, fn: () => number, target?: number): void {
  const t = time(fn);
  const row: Row = {
    metric,
    input,
    rows: ROWS,
    'best s': t.best.toFixed(3),
    'median s': t.median.toFixed(3),
    value: Number.isNaN(t.value) ? '' : t.value.toFixed(6),
  };
  if (target !== undefined) row[`target ≤ ${target} s met`] = t.median <= target ? 'yes' : 'NO';
  rows.push(row);
  console.log(JSON.stringify(row));
}

record('auc', 'Float64Array scores', () => auc(labels, probs), AUC_TARGET_S);
record('auc', 'Float32Array scores', () => auc(labels, probs32), AUC_TARGET_S);
record('logloss', 'Float64Array probs', () => logloss(labels, probs));
record('gauc', `Float64Array scores, ${USERS} users (Int32Array)`, () => gauc(labels, probs, users));
// For comparison: what sorting the scores alone costs with the native comparison sort that the radix sort replaces.
record('(native Float64Array.sort of the scores)', 'Float64Array', () => (probs.slice().sort(), NaN));

const aucRows = rows.filter((row) => row.metric === 'auc');
const met = aucRows.every((row) => Number(row['median s']) <= AUC_TARGET_S);
writeResults({
  name: 'metrics',
  title: 'Metrics speed: AUC, logloss, gAUC',
  command: `npm run bench:metrics${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
  rows,
  notes: [
    `${REPEATS} repeats per row; 25% of scores rounded to 3 decimals (ties); labels ~ Bernoulli(0.2 + 0.5·p).`,
    `AUC target ≤ ${AUC_TARGET_S} s on ${ROWS} rows (median): ${met ? 'met' : 'NOT met'}.`,
  ],
});
