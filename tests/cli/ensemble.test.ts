/** mmctr ensemble: members predicted, combined, evaluated and written out; compare lists the ensemble; mismatches refused. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompare } from '../../src/cli/compare';
import { runEnsembleCommand } from '../../src/cli/ensemble';
import { runTrain } from '../../src/cli/train';
import { loadSplit } from '../../src/data/load';
import { combinePredictions } from '../../src/eval/ensemble';
import { auc, logloss } from '../../src/eval/metrics';
import { predict } from '../../src/eval/predict';
import { readEnsemble } from '../../src/train/ensembleRun';
import { openRun } from '../../src/train/openRun';
import { readJson, runPath } from '../../src/train/runFolder';
import { type TrainResult, validMetricsOf } from '../../src/train/trainer';
import type { InteractionSplit } from '../../src/data/schema';
import { setProgressEnabled } from '../../src/util/progress';
import { removeFixtures, writeFixture } from '../helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-cli-ensemble-'));
let root = '';
let other = '';
const run = (name: string) => path.join(tmp, 'runs', name);

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { value: await fn(), out };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}

beforeAll(async () => {
  setProgressEnabled(false);
  root = writeFixture({ options: { rows: { train: 300, valid: 80, test: 50 }, users: 20 } });
  other = writeFixture({ options: { rows: { train: 300, valid: 60, test: 50 }, users: 20, seed: 11 } });
  const common = { data: root, epochs: '1', batchSize: '64', seqLen: '8', backend: 'cpu' };
  await quiet(() => runTrain({ ...common, model: 'din', preset: 'dinSmall', out: run('din'), seed: '3' }));
  await quiet(() => runTrain({ ...common, model: 'dcn', preset: 'dcnSmall', out: run('dcn'), seed: '4' }));
  await quiet(() => runTrain({ ...common, data: other, model: 'din', preset: 'dinSmall', out: path.join(tmp, 'other-din'), seed: '3' }));
}, 120_000);
afterAll(() => {
  removeFixtures();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('mmctr ensemble', () => {
  it('scores each member as its run did, and the ensemble as the logit mean of the members', async () => {
    const out = path.join(tmp, 'ens');
    const { out: text } = await quiet(() => runEnsembleCommand({ runs: `${run('din')},${run('dcn')}`, out, backend: 'cpu' }));
    const rec = readEnsemble(out);
    expect(rec.members.map((m) => [m.model, m.preset, m.weight])).toEqual([['din', 'dinSmall', 0.5], ['dcn', 'dcnSmall', 0.5]]);
    for (const m of rec.members) expect(m.valid.auc).toBeCloseTo(readJson<TrainResult>(runPath(m.run, 'result')).best!.valid.auc, 6);
    // recomputed independently: each run's predictions on valid, σ(mean logit)
    const valid = await loadSplit(root, 'valid', { seqLen: 8 });
    const preds: Float32Array[] = [];
    for (const dir of [run('din'), run('dcn')]) {
      const r = await openRun(dir);
      preds.push(await predict(r.model, valid));
      r.model.dispose();
    }
    const p = combinePredictions(preds);
    expect(rec.valid.auc).toBeCloseTo(auc(valid.label!, p), 9);
    expect(rec.valid.logloss).toBeCloseTo(logloss(valid.label!, p), 9);
    expect(rec.valid.auc).not.toBe(rec.members[0].valid.auc);
    expect(text).toMatch(/ensemble \(logit mean of 2\): valid AUC 0\.\d{5}/);
    // the submission: every test row, ID + Task2
    const lines = fs.readFileSync(path.join(out, 'submission', 'prediction.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('ID,Task2');
    expect(lines).toHaveLength(51);
    expect(fs.existsSync(path.join(out, 'submission', 'ens.zip'))).toBe(true);
  }, 60_000);

  it('two copies of one run give that run back (the mean is a mean, not a sum), and compare lists the ensemble', async () => {
    fs.cpSync(run('din'), path.join(tmp, 'din-copy'), { recursive: true });
    const out = run('same');
    await quiet(() => runEnsembleCommand({ runs: `${run('din')},${path.join(tmp, 'din-copy')}`, out, backend: 'cpu', submission: false }));
    const rec = readEnsemble(out);
    expect(rec.submission).toBeNull();
    expect(rec.valid.auc).toBeCloseTo(rec.members[0].valid.auc, 9);
    expect(rec.valid.logloss).toBeCloseTo(rec.members[0].valid.logloss, 6);
    const { out: table } = await quiet(async () => runCompare({ runs: path.join(tmp, 'runs') }));
    const row = table.split('\n').find((l) => l.startsWith('same '));
    expect(row).toMatch(/^same +ensemble +logit mean of 2 .* - +finished$/);
    expect(row).toContain(rec.valid.auc.toFixed(5));
  }, 60_000);

  it('gAUC is null, not an error, when no valid user holds both labels (one valid row per user, as in data/small)', () => {
    const label = Uint8Array.from([0, 1, 0, 1]);
    const probs = Float32Array.from([0.1, 0.8, 0.3, 0.6]);
    const one = validMetricsOf({ label, userId: Int32Array.from([1, 2, 3, 4]) } as unknown as InteractionSplit, probs);
    expect(one).toEqual({ auc: 1, logloss: expect.any(Number), gauc: null });
    const two = validMetricsOf({ label, userId: Int32Array.from([1, 1, 2, 2]) } as unknown as InteractionSplit, probs);
    expect(two.gauc).toBe(1);
  });

  it('refuses runs that score other rows, too few runs, bad weights and an --out holding a run', async () => {
    await expect(quiet(() => runEnsembleCommand({ runs: `${run('din')},${path.join(tmp, 'other-din')}`, out: path.join(tmp, 'bad'), backend: 'cpu' }))).rejects.toThrow(
      /other-din scores other valid rows than .*din \(.* against .*: 60 rows against 80\)/,
    );
    await expect(runEnsembleCommand({ runs: run('din'), out: path.join(tmp, 'bad') })).rejects.toThrow(/at least two run folders/);
    await expect(runEnsembleCommand({ runs: `${run('din')},${run('dcn')}`, out: path.join(tmp, 'bad'), weights: '1' })).rejects.toThrow(/--weights 1: 1 weights for 2 members/);
    await expect(runEnsembleCommand({ runs: `${run('din')},${run('dcn')}`, out: path.join(tmp, 'bad'), weights: '1,x' })).rejects.toThrow(/--weights 1,x: weight 2 is NaN/);
    await expect(runEnsembleCommand({ runs: `${run('din')},${run('dcn')}`, out: path.join(tmp, 'bad'), combine: 'max' })).rejects.toThrow(/logit \| prob|logit, prob/);
    await expect(quiet(() => runEnsembleCommand({ runs: `${run('din')},${run('dcn')}`, out: run('din'), backend: 'cpu' }))).rejects.toThrow(/holds a training run/);
    await expect(quiet(() => runEnsembleCommand({ runs: `${run('din')},${run('din')}/`, out: path.join(tmp, 'bad'), backend: 'cpu' }))).rejects.toThrow(/listed twice/);
  }, 60_000);
});
