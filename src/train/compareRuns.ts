/**
 * One table over run folders: model, preset, parameters, best valid AUC / logloss / gAUC, the gap to the oracle AUC
 * (synthetic data: `<data>/oracle/ground_truth.json`), train samples/s. Finished runs are read from result.json,
 * unfinished ones (killed, still running) from metrics.jsonl.
 */
import fs from 'node:fs';
import path from 'node:path';
import { oracleGap } from '../eval/metrics';
import { type EvalRecord, type RunConfig, readJson, readMetrics, readOracleAuc, runPath } from './runFolder';
import type { TrainResult } from './trainer';
import { ENSEMBLE_FILE, readEnsemble } from './ensembleRun';

export { readOracleAuc };

export interface RunRow {
  run: string;
  model: string;
  preset: string | null;
  params: number;
  status: 'finished' | 'incomplete';
  epochs: number;
  bestEpoch: number | null;
  auc: number | null;
  logloss: number | null;
  gauc: number | null;
  oracleAuc: number | null;
  /** oracleAuc − auc. */
  gap: number | null;
  samplesPerSecond: number | null;
  backend: string;
}

/** An ensemble folder (ensemble.json, `mmctr ensemble`) that is not a training run. */
function isEnsembleFolder(dir: string): boolean {
  return !fs.existsSync(runPath(dir, 'config')) && fs.existsSync(path.join(dir, ENSEMBLE_FILE));
}

/** A training run (config.json) or an ensemble. */
function isRunFolder(dir: string): boolean {
  return fs.existsSync(runPath(dir, 'config')) || isEnsembleFolder(dir);
}

/** Sub-folders of `runsDir` holding a run or an ensemble, or `runsDir` itself when it is one. */
export function findRuns(runsDir: string): string[] {
  if (isRunFolder(runsDir)) return [runsDir];
  if (!fs.existsSync(runsDir)) return [];
  return fs
    .readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isRunFolder(path.join(runsDir, d.name)))
    .map((d) => path.join(runsDir, d.name))
    .sort();
}

/** A row per run; `oracleFile` overrides each run's `<dataRoot>/oracle/ground_truth.json`. Sorted by AUC, best first. */
export function compareRuns(runDirs: string[], oracleFile?: string): RunRow[] {
  const fixedOracle = oracleFile !== undefined ? readOracleAuc(oracleFile) : undefined;
  const rows = runDirs.map((dir): RunRow => {
    if (isEnsembleFolder(dir)) return ensembleRow(dir, fixedOracle);
    const config = readJson<RunConfig>(runPath(dir, 'config'));
    const finished = fs.existsSync(runPath(dir, 'result'));
    const result = finished ? readJson<TrainResult>(runPath(dir, 'result')) : null;
    const history: EvalRecord[] = result?.history ?? readMetrics(dir);
    const best = result?.best ?? bestOf(history);
    const dataRoot = typeof config.info.dataRoot === 'string' ? config.info.dataRoot : null;
    const oracleAuc = fixedOracle !== undefined ? fixedOracle : dataRoot ? readOracleAuc(path.join(dataRoot, 'oracle', 'ground_truth.json')) : null;
    const auc = best?.valid.auc ?? null;
    const samples = history.reduce((s, r) => s + r.samplesPerSecond * (r.seconds - r.evalSeconds), 0);
    const seconds = history.reduce((s, r) => s + (r.seconds - r.evalSeconds), 0);
    return {
      run: path.basename(dir),
      model: config.model.name,
      preset: typeof config.info.preset === 'string' ? config.info.preset : null,
      params: config.model.paramCount,
      status: finished ? 'finished' : 'incomplete',
      epochs: history.length ? history[history.length - 1].epoch : 0,
      bestEpoch: best?.epoch ?? null,
      auc,
      logloss: best?.valid.logloss ?? null,
      gauc: best?.valid.gauc ?? null,
      oracleAuc,
      gap: auc !== null && oracleAuc !== null ? oracleGap(auc, oracleAuc).gap : null,
      samplesPerSecond: result ? result.samplesPerSecond : seconds > 0 ? samples / seconds : null,
      backend: config.backend,
    };
  });
  return rows.sort((a, b) => (b.auc ?? -1) - (a.auc ?? -1));
}

/** An ensemble folder as a row: model 'ensemble', preset '<combine> mean of <n>', params summed over the members. */
function ensembleRow(dir: string, fixedOracle: number | null | undefined): RunRow {
  const e = readEnsemble(dir);
  const oracleAuc = fixedOracle !== undefined ? fixedOracle : e.oracleAuc;
  return {
    run: path.basename(dir),
    model: 'ensemble',
    preset: `${e.combine} mean of ${e.members.length}`,
    params: e.members.reduce((s, m) => s + m.params, 0),
    status: 'finished',
    epochs: 0,
    bestEpoch: null,
    auc: e.valid.auc,
    logloss: e.valid.logloss,
    gauc: e.valid.gauc,
    oracleAuc,
    gap: oracleAuc !== null ? oracleGap(e.valid.auc, oracleAuc).gap : null,
    samplesPerSecond: null,
    backend: e.backend,
  };
}

function bestOf(history: EvalRecord[]): { epoch: number; valid: EvalRecord['valid'] } | null {
  let best: EvalRecord | null = null;
  for (const r of history) if (r.improved) best = r;
  return best ? { epoch: best.epoch, valid: best.valid } : null;
}

/** A plain-text table (fixed-width columns). */
export function formatRunTable(rows: RunRow[]): string {
  const f = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));
  const head = ['run', 'model', 'preset', 'params', 'valid AUC', 'logloss', 'gAUC', 'oracle gap', 'samples/s', 'best/epochs', 'status'];
  const body = rows.map((r) => [
    r.run,
    r.model,
    r.preset ?? '-',
    r.params.toLocaleString('en-US'),
    f(r.auc, 5),
    f(r.logloss, 5),
    f(r.gauc, 5),
    r.gap === null ? '-' : `${r.gap >= 0 ? '+' : ''}${r.gap.toFixed(5)}`,
    r.samplesPerSecond === null ? '-' : Math.round(r.samplesPerSecond).toLocaleString('en-US'),
    r.bestEpoch === null && r.epochs === 0 ? '-' : `${r.bestEpoch ?? '-'}/${r.epochs}`, // '-': an ensemble, or no evaluation yet
    r.status,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8, 9]);
  const line = (cells: string[]) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}
