/** `mmctr main` end to end on data/tiny: validation, statistics, Task 1 table as a data root, DCN-DIN on it, submission. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/mainJob';
import { loadItemInfo } from '../../src/data/load';
import { readJson, runPath, type RunConfig } from '../../src/train/runFolder';
import type { TrainResult } from '../../src/train/trainer';
import { captureStdout, runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-main-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const stdout = captureStdout();
const run = (...argv: string[]) => runCli([register], argv);

describe('mmctr main', () => {
  it('builds the Task 1 table, trains the DCN-DIN hybrid on it and writes the submission', async () => {
    const task1 = path.join(tmp, 'task1');
    const out = path.join(tmp, 'run');
    await run('main', '--data', ROOT, '--out', out, '--task1-out', task1, '--epochs', '1', '--no-progress');
    const text = stdout();
    for (const step of ['== 1. data', '== 2. validation', '== 3. statistics', '== 4. Task 1', '== 5. training the DCN-DIN hybrid', '== 6. submission', '== result']) {
      expect(text).toContain(step);
    }
    expect(text).toMatch(/oracle AUC \(valid, true click probabilities\): 0\.\d{4}/);
    // the Task 1 folder is a data root: its own item_info, the rest linked to data/tiny
    expect(fs.lstatSync(path.join(task1, 'MicroLens_1M_x1', 'item_info.parquet')).isSymbolicLink()).toBe(false);
    expect(fs.realpathSync(path.join(task1, 'MicroLens_1M_x1', 'train.parquet'))).toBe(fs.realpathSync(path.join(ROOT, 'MicroLens_1M_x1', 'train.parquet')));
    expect(fs.existsSync(path.join(task1, 'oracle', 'ground_truth.json'))).toBe(true);
    const [ours, shipped] = [await loadItemInfo(task1), await loadItemInfo(ROOT)];
    expect(ours.itemEmb.data).not.toEqual(shipped.itemEmb.data);
    expect(readJson<{ spec: { fusion: { clusters: { method: string } } } }>(path.join(task1, 'embed.json')).spec.fusion.clusters.method).toBe('cowatch');
    // the model trained on it, with the whole 128-d projection
    const config = readJson<RunConfig>(runPath(out, 'config'));
    expect([config.model.name, config.info.preset, config.info.dataRoot, config.model.config.pretrainedDim]).toEqual(['dcnDin', 'dcnDinSmall', task1, 128]);
    expect(config.train.embeddingRegularizer).toBe(1e-3);
    const best = readJson<TrainResult>(runPath(out, 'result')).best!;
    expect(text).toContain(`DCN-DIN valid AUC ${best.valid.auc.toFixed(4)} vs oracle AUC`);
    expect(fs.readFileSync(path.join(out, 'submission', 'prediction.csv'), 'utf8').split('\n')[0]).toBe('ID,Task2');
  }, 120_000);

  it('--item-emb shipped trains on the data root itself; a wrong source is refused before any work', async () => {
    await expect(run('main', '--data', ROOT, '--item-emb', 'clip')).rejects.toThrow(/--item-emb clip: expected one of task1, shipped/);
    expect(stdout()).toBe('');
    const out = path.join(tmp, 'shipped');
    await run('main', '--data', ROOT, '--out', out, '--item-emb', 'shipped', '--epochs', '1', '--no-progress');
    expect(stdout()).toContain('Task 1 skipped (--item-emb shipped)');
    const config = readJson<RunConfig>(runPath(out, 'config'));
    expect([config.info.dataRoot, config.model.config.pretrainedDim, config.train.embeddingRegularizer]).toEqual([ROOT, 32, 1e-6]);
  }, 120_000);
});
