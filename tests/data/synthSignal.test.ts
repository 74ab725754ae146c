/**
 * The planted click signal at `small` scale (150k train rows), without writing files: items → users → rows →
 * true probabilities → AUC of the oracle and of weakened proxies computed with the true parameters.
 */
import { describe, expect, it } from 'vitest';
import { exactAuc, resolveSynthConfig } from '../../src/data/synth';
import { drawLabels, logitsWithoutIntercept, probabilities, scoreRows, solveIntercept } from '../../src/data/synth/clicks';
import { historyLengthStats, proxyAucs, trainTables, type SplitEval } from '../../src/data/synth/diagnostics';
import { makeItems } from '../../src/data/synth/items';
import { drawTargets, selectEvalRows, selectPrefixRows } from '../../src/data/synth/rows';
import { makeUsers } from '../../src/data/synth/users';
import { rng } from '../../src/util/rng';

function pipeline(overrides = {}) {
  const cfg = resolveSynthConfig('small', overrides);
  const root = rng(20242025);
  const items = makeItems(cfg, root);
  const users = makeUsers(cfg, items, root);
  const S = cfg.sizes;
  const trainRows = selectPrefixRows(users, S.trainRows, 1, root.fork('rows/train'));
  const { test: testRows } = selectEvalRows(users, S.validRows, S.testRows, root.fork('rows/eval'));
  drawTargets(cfg, items, users, trainRows, root.fork('targets/train'));
  drawTargets(cfg, items, users, testRows, root.fork('targets/test'));
  const sTrain = scoreRows(cfg, items, users, trainRows);
  const sTest = scoreRows(cfg, items, users, testRows);
  const zTrain = logitsWithoutIntercept(cfg, sTrain);
  const b0 = solveIntercept(zTrain, cfg.clicks.positiveRate);
  const pTrain = probabilities(zTrain, b0);
  const pTest = probabilities(logitsWithoutIntercept(cfg, sTest), b0);
  const train: SplitEval = { rows: trainRows, scores: sTrain, p: pTrain, labels: drawLabels(pTrain, root.fork('labels/train')) };
  const test: SplitEval = { rows: testRows, scores: sTest, p: pTest, labels: drawLabels(pTest, root.fork('labels/test')) };
  const tables = trainTables(items, train);
  return {
    cfg,
    train,
    aucTrain: proxyAucs(cfg.clicks.betaHistory, items, train, tables),
    aucTest: proxyAucs(cfg.clicks.betaHistory, items, test, tables),
  };
}

describe('planted click signal (small scale)', () => {
  const { train, aucTrain, aucTest } = pipeline();

  it('calibrates the train positive rate to 25%', () => {
    const meanP = train.p.reduce((s, v) => s + v, 0) / train.p.length;
    expect(meanP).toBeCloseTo(0.25, 8);
    const rate = train.labels.reduce((s, v) => s + v, 0) / train.labels.length;
    expect(Math.abs(rate - 0.25)).toBeLessThan(0.005);
  });

  it('oracle AUC in 0.80–0.92, history-blind proxies ≥ 0.05 below, mean pooling below the soft maximum', () => {
    for (const a of [aucTrain, aucTest]) {
      expect(a.oracle).toBeGreaterThan(0.8);
      expect(a.oracle).toBeLessThan(0.92);
      expect(a.oracle - a.noHistory).toBeGreaterThan(0.05);
      expect(a.oracle - a.itemMeanP).toBeGreaterThan(0.05);
      expect(a.oracle - a.levelsOnly).toBeGreaterThan(0.05);
      expect(a.oracle - a.meanPooled).toBeGreaterThan(0.03);
      // Both parts of the similarity matter.
      expect(a.oracle - a.contentOnly).toBeGreaterThan(0.03);
      expect(a.oracle - a.communityOnly).toBeGreaterThan(0.03);
    }
  });

  it('histories look like the real item_seq: min 3, median 6–10, tail to 100', () => {
    const h = historyLengthStats(train.rows);
    expect(h.min).toBe(3);
    expect(h.median).toBeGreaterThanOrEqual(6);
    expect(h.median).toBeLessThanOrEqual(10);
    expect(h.max).toBe(100);
  });

  it('a weaker planted history effect lowers the oracle (the test can fail)', () => {
    const weak = pipeline({ clicks: { betaHistory: 1 } });
    expect(weak.aucTest.oracle).toBeLessThan(aucTest.oracle - 0.05);
  });
});

describe('exactAuc', () => {
  it('equals the pairwise definition with ties counted one half', () => {
    const r = rng(3);
    const n = 300;
    const y = Uint8Array.from({ length: n }, () => (r.uniform() < 0.3 ? 1 : 0));
    const s = Float64Array.from({ length: n }, () => Math.round(r.uniform() * 20) / 20);
    let num = 0;
    let den = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      if (y[i] === 1 && y[j] === 0) {
        den++;
        num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(exactAuc(y, s)).toBeCloseTo(num / den, 12);
    expect(exactAuc([1, 0], [1, 1])).toBe(0.5);
    expect(exactAuc([0, 1, 1], [0.1, 0.9, 0.2])).toBe(1);
    expect(Number.isNaN(exactAuc([1, 1], [0, 1]))).toBe(true);
    expect(() => exactAuc([1, 0], [NaN, 1])).toThrow(/NaN/);
  });
});

describe('resolveSynthConfig', () => {
  it('applies overrides and rejects unknown or invalid ones', () => {
    const c = resolveSynthConfig('tiny', { clicks: { betaHistory: 2 }, sizes: { trainRows: 10 } });
    expect(c.clicks.betaHistory).toBe(2);
    expect(c.sizes.trainRows).toBe(10);
    expect(c.clicks.temperature).toBe(resolveSynthConfig('tiny').clicks.temperature);
    expect(resolveSynthConfig('full').sizes).toEqual({
      numItems: 91_717,
      numTags: 11_739,
      numUsers: 1_000_000,
      trainRows: 3_600_000,
      validRows: 10_000,
      testRows: 379_142,
      itemSeqRows: 6_000_000,
    });
    expect(() => resolveSynthConfig('tiny', { clicks: { beta: 1 } } as never)).toThrow(/unknown option clicks.beta/);
    expect(() => resolveSynthConfig('huge' as never)).toThrow(/unknown scale/);
    expect(() => resolveSynthConfig('tiny', { clicks: { temperature: 0 } })).toThrow(/temperature/);
    expect(() => resolveSynthConfig('tiny', { users: { minSeqLen: 3 } })).toThrow(/minSeqLen/);
    expect(() => resolveSynthConfig('tiny', { embeddings: { text: { latentRange: [0, 99] } } })).toThrow(/latentRange/);
  });
});
