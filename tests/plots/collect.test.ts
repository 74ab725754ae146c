/**
 * `mmctr figures --collect` on data/tiny (committed, with oracle/): a one-epoch run is trained, then the figure
 * data is collected from it and checked against the run's own record and the synthetic ground truth.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { collectFigureData } from '../../src/cli/figures';
import { runTrain } from '../../src/cli/train';
import { FIGURE_DATA_FILES, FigureInputs, PAPER_FIGURES, type FigureDataOf } from '../../src/plots/paperFigures';
import { readJson, runPath } from '../../src/train/runFolder';
import type { TrainResult } from '../../src/train/trainer';
import { setProgressEnabled } from '../../src/util/progress';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const FIXTURE = path.resolve(__dirname, 'fixture');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-collect-'));
const runsDir = path.join(tmp, 'runs');
const dataDir = path.join(tmp, 'data');

beforeAll(async () => {
  setProgressEnabled(false);
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await runTrain({ model: 'historyBlind', data: ROOT, out: path.join(runsDir, 'hb'), epochs: '1', batchSize: '512', seed: '5', backend: 'wasm' });
    // A run that never evaluated (no best.ckpt) is skipped, not an error.
    fs.mkdirSync(path.join(runsDir, 'unfinished'));
    fs.copyFileSync(runPath(path.join(runsDir, 'hb'), 'config'), runPath(path.join(runsDir, 'unfinished'), 'config'));
    await collectFigureData({ runsDir, dataRoot: ROOT, dataDir, perTopic: 3, batchSize: 2048, backend: 'wasm' });
  } finally {
    vi.restoreAllMocks();
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const read = <K extends keyof FigureDataOf>(k: K): FigureDataOf[K] => JSON.parse(fs.readFileSync(path.join(dataDir, FIGURE_DATA_FILES[k]), 'utf8')) as FigureDataOf[K];

describe('collectFigureData on data/tiny', () => {
  it('stores the run ROC with the AUC of its best checkpoint, and the oracle ROC with the ground-truth AUC', () => {
    const roc = read('roc');
    const result = readJson<TrainResult>(runPath(path.join(runsDir, 'hb'), 'result'));
    expect(roc.models.map((m) => m.name)).toEqual(['hb']);
    expect(roc.models[0].auc).toBeCloseTo(result.best!.valid.auc, 6);
    expect(roc.models[0].fpr.length).toBeLessThanOrEqual(200);
    const gt = readJson<{ oracleAuc: { valid: number } }>(path.join(ROOT, 'oracle', 'ground_truth.json'));
    expect(roc.oracle?.auc).toBeCloseTo(gt.oracleAuc.valid, 5);
    expect(roc.source).toEqual({ runs: path.relative(process.cwd(), runsDir), data: path.relative(process.cwd(), ROOT) });
  });

  it('stores calibration bins over every valid row, and the per-epoch curve', () => {
    const cal = read('calibration');
    const validRows = pl.readParquet(path.join(ROOT, 'MicroLens_1M_x1', 'valid.parquet'), { columns: ['label'] }).height;
    for (const c of [...cal.models, cal.oracle!]) expect(c.bins.reduce((s, b) => s + b.count, 0)).toBe(validRows);
    const training = read('training');
    expect(training.runs).toHaveLength(1);
    expect(training.runs[0].epochs).toHaveLength(1);
    expect(training.runs[0].epochs[0].validAuc).toBeCloseTo(read('roc').models[0].auc, 6);
  });

  it('stores decreasing explained-variance ratios per modality and a topic-coloured 2-D projection', () => {
    const ev = read('explainedVariance');
    expect(ev.perModality.map((m) => [m.name, m.dim])).toEqual([
      ['text', 768],
      ['image', 1024],
      ['text+image', 1792],
    ]);
    for (const m of ev.perModality) {
      expect(m.ratios.length).toBeGreaterThan(10);
      for (let i = 1; i < m.ratios.length; i++) expect(m.ratios[i]).toBeLessThanOrEqual(m.ratios[i - 1]);
      expect(m.ratios.reduce((s, r) => s + r, 0)).toBeLessThanOrEqual(1 + 1e-6);
    }
    const emb = read('embedding2d');
    const truth = pl.readParquet(path.join(ROOT, 'oracle', 'item_truth.parquet'), { columns: ['item_id', 'topic'] });
    const topicOf = new Map<number, number>();
    const ids = truth.getColumn('item_id').toArray() as (number | bigint)[];
    const topics = truth.getColumn('topic').toArray() as (number | bigint)[];
    ids.forEach((id, i) => topicOf.set(Number(id), Number(topics[i])));
    emb.itemId.forEach((id, i) => expect(emb.topic[i]).toBe(topicOf.get(id)));
    const perTopic = new Map<number, number>();
    for (const t of emb.topic) perTopic.set(t, (perTopic.get(t) ?? 0) + 1);
    expect(Math.max(...perTopic.values())).toBe(3);
    expect(emb.x).toHaveLength(emb.itemId.length);
  });

  it('feeds every figure that reads figure data', () => {
    const inputs = new FigureInputs({ resultsDir: path.join(FIXTURE, 'results'), dataDir });
    for (const f of PAPER_FIGURES) expect(f.build(inputs).data.length).toBeGreaterThan(0);
  });
});
