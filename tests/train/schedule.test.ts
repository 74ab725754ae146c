import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from '../../src/train/config';
import { initialSchedule, monitorValue, scheduleStep } from '../../src/train/schedule';

describe('scheduleStep (FuxiCTR checkpoint_and_earlystop + lr_decay)', () => {
  const cfg = { ...DEFAULT_TRAIN_CONFIG, patience: 3 };

  it('a gain ≥ minDelta is an improvement and resets the counter; less decays lr and counts', () => {
    let s = initialSchedule({ learningRate: 1e-3 });
    const seen: [boolean, number, number, boolean][] = [];
    for (const auc of [0.7, 0.71, 0.7100005, 0.705, 0.72, 0.72, 0.72, 0.72]) {
      const r = scheduleStep(s, auc, cfg);
      s = r.state;
      seen.push([r.improved, s.learningRate, s.badEvaluations, r.stop]);
    }
    expect(seen).toEqual([
      [true, 1e-3, 0, false],
      [true, 1e-3, 0, false],
      [false, 1e-3 * 0.1, 1, false], // +5e-7 < 1e-6: no gain
      [false, 1e-3 * 0.1 * 0.1, 2, false],
      [true, 1e-3 * 0.1 * 0.1, 0, false], // the counter resets; the lr stays decayed
      [false, 1e-3 * 0.1 * 0.1 * 0.1, 1, false], // 1.0000000000000002e-6, as in Python
      [false, 1e-6, 2, false], // the 1e-6 floor
      [false, 1e-6, 3, true],
    ]);
    expect(s.best).toBe(0.72);
  });

  it('without reduceLrOnPlateau the lr stays; NaN never improves', () => {
    const s = initialSchedule({ learningRate: 1e-3 });
    const r = scheduleStep(s, NaN, { ...cfg, reduceLrOnPlateau: false });
    expect(r.improved).toBe(false);
    expect(r.state.learningRate).toBe(1e-3);
  });

  it('monitor values', () => {
    const e = { auc: 0.8, logloss: 0.4, gauc: 0.7 };
    expect(monitorValue('auc', e)).toBe(0.8);
    expect(monitorValue('gauc', e)).toBe(0.7);
    expect(monitorValue('gauc', { auc: 0.8, logloss: 0.4 })).toBe(0.8);
    expect(monitorValue('aucMinusLogloss', e)).toBeCloseTo(0.4, 12);
  });
});

describe('resolveTrainConfig', () => {
  it('fills the defaults (FuxiCTR / baseline values)', () => {
    const c = resolveTrainConfig({ batchSize: 384 });
    expect(c).toEqual({ ...DEFAULT_TRAIN_CONFIG, batchSize: 384 });
    expect(c.learningRate).toBe(1e-3);
    expect(c.maxGradNorm).toBe(10);
    expect(c.patience).toBe(2);
    expect(c.minLearningRate).toBe(1e-6);
  });

  it('refuses unknown fields and bad values, naming them', () => {
    expect(() => resolveTrainConfig({ learningrate: 1 } as never)).toThrow(/learningrate = 1; expected a known field/);
    expect(() => resolveTrainConfig({ batchSize: 0 })).toThrow(/batchSize = 0; expected an integer ≥ 1/);
    expect(() => resolveTrainConfig({ learningRate: 0 })).toThrow(/learningRate = 0/);
    expect(() => resolveTrainConfig({ monitor: 'loss' as never })).toThrow(/monitor = "loss"/);
    expect(() => resolveTrainConfig({ evalEvery: { steps: 0 } })).toThrow(/evalEvery/);
    expect(() => resolveTrainConfig({ shuffle: 'yes' as never })).toThrow(/shuffle/);
    expect(resolveTrainConfig({ evalEvery: { steps: 5 }, epochs: undefined }).epochs).toBe(100);
  });
});
