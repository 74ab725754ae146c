import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompare } from '../../src/cli/compare';
import { runPredict } from '../../src/cli/predict';
import { runTrain } from '../../src/cli/train';
import { readJson, readMetrics, runPath, type RunConfig } from '../../src/train/runFolder';
import type { TrainResult } from '../../src/train/trainer';
import { setProgressEnabled } from '../../src/util/progress';
import { removeFixtures, writeFixture } from '../helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-cli-train-'));
let root = '';

beforeAll(() => {
  setProgressEnabled(false);
  root = writeFixture({ options: { rows: { train: 300, valid: 80, test: 50 }, users: 20 } });
});
afterAll(() => {
  removeFixtures();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Captures what `fn` writes to stdout. */
async function stdoutOf(fn: () => unknown): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('mmctr train / predict / compare', () => {
  const out = () => path.join(tmp, 'runs', 'din1');

  it('train writes a run folder for a registry model', async () => {
    const text = await stdoutOf(() =>
      runTrain({ model: 'din', preset: 'dinSmall', data: root, out: out(), epochs: '2', batchSize: '64', seqLen: '8', seed: '3', backend: 'cpu' }),
    );
    expect(text).toMatch(/din1: done after 10 steps; best epoch \d: valid AUC 0\.\d+/);
    const config = readJson<RunConfig>(runPath(out(), 'config'));
    expect(config.model.name).toBe('din');
    expect(config.info.preset).toBe('dinSmall');
    expect(config.info.seqLen).toBe(8);
    expect(config.info.modelSeed).toBe(3);
    expect(config.train.batchSize).toBe(64);
    expect(config.train.epochs).toBe(2);
    expect(readMetrics(out())).toHaveLength(2);
  });

  it('refuses to overwrite a run, and --resume continues it with more epochs', async () => {
    await expect(runTrain({ model: 'din', data: root, out: out(), backend: 'cpu' })).rejects.toThrow(/already holds a run/);
    await expect(runTrain({ resume: true, out: out(), batchSize: '32' })).rejects.toThrow(/only --epochs/);
    await stdoutOf(() => runTrain({ resume: true, out: out(), epochs: '3', backend: 'cpu' }));
    const result = readJson<TrainResult>(runPath(out(), 'result'));
    expect(result.history.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(result.steps).toBe(15);
    // config.json says the run now trains for 3 epochs, and when that changed.
    const config = readJson<RunConfig>(runPath(out(), 'config'));
    expect(config.train.epochs).toBe(3);
    expect(config.resumes?.map((r) => [r.epochsBefore, r.epochs])).toEqual([[config.resumes![0].epochsBefore, 3]]);
    expect(config.resumes![0].epochsBefore).not.toBe(3);
  });

  it('predict writes prediction.csv and <run>.zip for every test row', async () => {
    const text = await stdoutOf(() => runPredict({ run: out(), column: 'Task1&2', backend: 'cpu' }));
    const csv = path.join(out(), 'submission', 'prediction.csv');
    const zip = path.join(out(), 'submission', 'din1.zip');
    expect(text).toContain(zip);
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('ID,Task1&2');
    expect(lines).toHaveLength(51);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const l of lines.slice(1)) {
      const s = Number(l.split(',')[1]);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(execFileSync('unzip', ['-p', zip, 'prediction.csv'], { encoding: 'utf8' })).toBe(fs.readFileSync(csv, 'utf8'));
  });

  it('compare prints one row per run, with the oracle gap when an oracle file is given', async () => {
    const oracle = path.join(tmp, 'ground_truth.json');
    fs.writeFileSync(oracle, JSON.stringify({ oracleAuc: { valid: 0.9, test: 0.91 } }));
    const text = await stdoutOf(() => runCompare({ runs: path.join(tmp, 'runs'), oracle }));
    const [head, , row] = text.trim().split('\n');
    expect(head).toMatch(/^run +model +preset +params +valid AUC +logloss +gAUC +oracle gap +samples\/s +best\/epochs +status$/);
    const best = readJson<TrainResult>(runPath(out(), 'result')).best!;
    expect(row).toContain(`din1  din    dinSmall`);
    expect(row).toContain(best.valid.auc.toFixed(5));
    expect(row).toContain((0.9 - best.valid.auc >= 0 ? '+' : '') + (0.9 - best.valid.auc).toFixed(5));
    expect(row).toMatch(/finished$/);
    const json = JSON.parse(await stdoutOf(() => runCompare({ runs: out(), json: true })));
    expect(json).toHaveLength(1);
    expect(json[0].oracleAuc).toBeNull();
  });
});
