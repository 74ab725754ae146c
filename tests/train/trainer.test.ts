import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auc } from '../../src/eval/metrics';
import { predict } from '../../src/eval/predict';
import { readCheckpoint } from '../../src/train/checkpoint';
import { loadBestWeights, readJson, readMetrics, runPath, type RunConfig } from '../../src/train/runFolder';
import { TrainingDivergedError, TrainingInterruptedError, train, type TrainResult } from '../../src/train/trainer';
import { MmctrError } from '../../src/errors';
import type { ModelInputs } from '../../src/models/types';
import { BASE_CONFIG, NUM_ITEMS, STEPS_PER_EPOCH, plantedData, useCpu, withoutTimings } from './setup';
import { TinyModel, scramble, weightValues } from './tinyModel';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-trainer-'));
const data = plantedData();

beforeAll(useCpu);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const runDir = (name: string) => path.join(tmp, name);

/** The reference: 3 uninterrupted epochs from model seed 11 (shared by several tests). */
let reference: { result: TrainResult; weights: Record<string, number[]> } | null = null;
async function referenceRun() {
  if (!reference) {
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const result = await train(model, data, BASE_CONFIG, { runDir: runDir('reference') });
    reference = { result, weights: weightValues(model) };
    model.dispose();
  }
  return reference;
}

describe('train', () => {
  it('learns the planted rule, loss falls, and the model ends holding its best weights', async () => {
    const { result } = await referenceRun();
    expect(result.history).toHaveLength(3);
    expect(result.history.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(result.history.map((r) => r.step)).toEqual([24, 48, 72]);
    expect(result.history[2].trainLoss).toBeLessThan(result.history[0].trainLoss);
    expect(result.best!.valid.auc).toBeGreaterThan(0.72);
    expect(result.best!.valid.gauc).toBeGreaterThan(0.6);
    expect(result.stopReason).toBe('maxEpochs');
    expect(result.steps).toBe(72);
    expect(result.epochs).toBe(3);

    // The weights in the run folder's best.ckpt reproduce the best valid AUC exactly.
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    scramble(model);
    const meta = loadBestWeights(runDir('reference'), model);
    expect(meta.valid).toEqual(result.best!.valid);
    expect(auc(data.valid.label!, await predict(model, data.valid))).toBe(result.best!.valid.auc);
    model.dispose();
  });

  it('writes the run folder: config.json, metrics.jsonl, result.json, checkpoint/{latest,best}.ckpt', async () => {
    const { result } = await referenceRun();
    const dir = runDir('reference');
    const config = readJson<RunConfig>(runPath(dir, 'config'));
    expect(config.model.name).toBe('din');
    expect(config.model.config).toEqual({ numItems: NUM_ITEMS, dim: 8, hidden: 16, seed: 11, dropout: 0.1 });
    expect(config.train.batchSize).toBe(128);
    expect(config.train.learningRate).toBe(1e-2);
    expect(config.seed).toBe(5);
    expect(config.backend).toBe('cpu');
    expect(config.info.trainRows).toBe(3000);
    expect(readMetrics(dir)).toEqual(result.history);
    const saved = readJson<TrainResult>(runPath(dir, 'result'));
    expect(saved.best).toEqual(result.best);
    expect(saved.history).toEqual(result.history);
    expect(fs.existsSync(runPath(dir, 'latest'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'checkpoint')).sort()).toEqual(['best.ckpt', 'latest.ckpt']); // no temp files left
  });

  it('is deterministic: the same seeds give the same history and weights; another shuffle seed does not', async () => {
    const ref = await referenceRun();
    const again = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const r = await train(again, data, BASE_CONFIG);
    expect(r.history.map(withoutTimings)).toEqual(ref.result.history.map(withoutTimings));
    expect(weightValues(again)).toEqual(ref.weights);
    again.dispose();

    const other = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const r2 = await train(other, data, { ...BASE_CONFIG, epochs: 1, seed: 6 });
    expect(r2.history[0].valid.auc).not.toBe(ref.result.history[0].valid.auc);
    other.dispose();
  });

  it('resume after an interruption reaches the same result as an uninterrupted run', async () => {
    const ref = await referenceRun();
    const dir = runDir('interrupted');
    const stopper = new AbortController();
    const first = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await expect(
      train(first, data, BASE_CONFIG, { runDir: dir, signal: stopper.signal, onEvaluation: (r) => (r.epoch === 1 ? stopper.abort() : undefined) }),
    ).rejects.toThrow(TrainingInterruptedError);
    first.dispose();
    expect(readMetrics(dir)).toHaveLength(1);
    expect(fs.existsSync(runPath(dir, 'result'))).toBe(false);

    // Scrambled weights: everything must come from the checkpoint.
    const second = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    scramble(second);
    const before = tf.memory().numTensors;
    const r = await train(second, data, BASE_CONFIG, { runDir: dir, resume: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.history.map(withoutTimings)).toEqual(ref.result.history.map(withoutTimings));
    expect(r.best).toEqual(ref.result.best);
    expect(weightValues(second)).toEqual(ref.weights);
    expect(readMetrics(dir).map(withoutTimings)).toEqual(ref.result.history.map(withoutTimings));
    second.dispose();
  });

  it('a checkpoint survives SIGKILL mid-epoch, and resuming from it reaches the same result', async () => {
    const ref = await referenceRun();
    const dir = runDir('killed');
    // Killed during the 5th forward pass of epoch 2: latest.ckpt is the end of epoch 1.
    const killAt = STEPS_PER_EPOCH + 5;
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'killWorker.ts'), dir, String(killAt)], {
      cwd: path.resolve(here, '../..'),
      encoding: 'utf8',
      env: { ...process.env, MMCTR_PROGRESS: '0' },
    });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    expect(readCheckpoint<{ position: { step: number } }>(runPath(dir, 'latest')).meta.position.step).toBe(STEPS_PER_EPOCH);

    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    scramble(model);
    const r = await train(model, data, BASE_CONFIG, { runDir: dir, resume: true });
    expect(r.history.map(withoutTimings)).toEqual(ref.result.history.map(withoutTimings));
    expect(weightValues(model)).toEqual(ref.weights);
    model.dispose();
  });

  it('resumes mid-epoch when evaluating every N steps', async () => {
    const config = { ...BASE_CONFIG, epochs: 2, evalEvery: { steps: 10 } };
    const whole = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const full = await train(whole, data, config);
    // 48 steps: evaluations at 10, 20, ..., 40, plus the tail at 48.
    expect(full.history.map((r) => r.step)).toEqual([10, 20, 30, 40, 48]);
    expect(full.history.map((r) => r.epoch)).toEqual([1, 1, 2, 2, 2]);

    const dir = runDir('midEpoch');
    const stopper = new AbortController();
    const first = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await expect(
      train(first, data, config, { runDir: dir, signal: stopper.signal, onEvaluation: (r) => (r.step === 30 ? stopper.abort() : undefined) }),
    ).rejects.toThrow(/interrupted at epoch 2, step 30/);
    first.dispose();
    const second = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    scramble(second);
    const resumed = await train(second, data, config, { runDir: dir, resume: true });
    expect(resumed.history.map(withoutTimings)).toEqual(full.history.map(withoutTimings));
    expect(weightValues(second)).toEqual(weightValues(whole));
    whole.dispose();
    second.dispose();
  });

  it('plateau: lr × 0.1 per evaluation without gain, early stop after `patience`, best (epoch 1) weights restored', async () => {
    // Valid labels flipped: the better the model learns train, the worse its valid AUC, so epoch 1 stays best.
    const flipped = { ...data.valid, label: data.valid.label!.map((y) => 1 - y) };
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const r = await train(model, { train: data.train, valid: flipped }, { ...BASE_CONFIG, epochs: 10, patience: 2 });
    expect(r.stopReason).toBe('earlyStop');
    expect(r.history.map((h) => h.improved)).toEqual([true, false, false]);
    expect(r.history.map((h) => h.learningRate)).toEqual([1e-2, 1e-2, 1e-3]);
    expect(r.history.map((h) => h.nextLearningRate)).toEqual([1e-2, 1e-3, 1e-4]);
    expect(r.history.map((h) => h.badEvaluations)).toEqual([0, 1, 2]);
    expect(r.best!.epoch).toBe(1);

    // The weights after one epoch of the same run (deterministic) are what the model holds now.
    const one = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await train(one, data, { ...BASE_CONFIG, epochs: 1 });
    expect(weightValues(model)).toEqual(weightValues(one));
    model.dispose();
    one.dispose();
  });

  it('a NaN loss stops the run with a message naming epoch and step, and keeps the last good checkpoint', async () => {
    class NanModel extends TinyModel {
      calls = 0;
      override call(inputs: ModelInputs, training: boolean): tf.Tensor1D {
        const y = super.call(inputs, training);
        return training && ++this.calls >= STEPS_PER_EPOCH + 4 ? (tf.mul(y, NaN) as tf.Tensor1D) : y;
      }
    }
    const dir = runDir('nan');
    const model = new NanModel({ numItems: NUM_ITEMS, seed: 11 });
    const err = await train(model, data, BASE_CONFIG, { runDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect(err).toBeInstanceOf(MmctrError);
    expect((err as Error).message).toMatch(/diverged at epoch 2, step 28: loss = NaN.*last good checkpoint \(step 24\)/);
    expect(readCheckpoint<{ position: { step: number } }>(runPath(dir, 'latest')).meta.position.step).toBe(24);
    // The NaN step's update was not applied.
    for (const values of Object.values(weightValues(model))) expect(values.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('leaks no tensors: the count is the same at every step and back to where it was after training', async () => {
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const counts: number[] = [];
    model.onCall = (_i, training) => {
      if (training) counts.push(tf.memory().numTensors);
    };
    const before = tf.memory().numTensors;
    await train(model, data, { ...BASE_CONFIG, epochs: 2, netRegularizer: 1e-4 });
    expect(counts).toHaveLength(2 * STEPS_PER_EPOCH);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it("Adam's tensor mode (GPU backends) trains the same to float precision, without leaks", async () => {
    const typed = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const a = await train(typed, data, { ...BASE_CONFIG, epochs: 1 }, { adamMode: 'typed' });
    const tensor = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const counts: number[] = [];
    tensor.onCall = (_i, training) => {
      if (training) counts.push(tf.memory().numTensors);
    };
    const before = tf.memory().numTensors;
    const b = await train(tensor, data, { ...BASE_CONFIG, epochs: 1 }, { adamMode: 'tensor' });
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(b.history[0].valid.auc).toBeCloseTo(a.history[0].valid.auc, 3);
    expect(b.history[0].trainLoss).toBeCloseTo(a.history[0].trainLoss, 4);
    typed.dispose();
    tensor.dispose();
  });

  it('refuses to resume with a changed train config or another model config', async () => {
    await referenceRun();
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await expect(train(model, data, { ...BASE_CONFIG, batchSize: 64 }, { runDir: runDir('reference'), resume: true })).rejects.toThrow(
      /cannot resume with a different train config \(batchSize: 128 → 64\)/,
    );
    const wider = new TinyModel({ numItems: NUM_ITEMS, seed: 11, hidden: 32 });
    await expect(train(wider, data, BASE_CONFIG, { runDir: runDir('reference'), resume: true })).rejects.toThrow(/with config/);
    model.dispose();
    wider.dispose();
  });

  it('resuming a finished run with more epochs continues from the last (not the best) weights', async () => {
    const ref = await referenceRun();
    const dir = runDir('extend');
    const a = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await train(a, data, { ...BASE_CONFIG, epochs: 2 }, { runDir: dir });
    const b = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    const r = await train(b, data, BASE_CONFIG, { runDir: dir, resume: true });
    expect(r.history.map(withoutTimings)).toEqual(ref.result.history.map(withoutTimings));
    a.dispose();
    b.dispose();
  });

  it('shows a progress bar with the running loss and samples/s, and one line per evaluation', async () => {
    let out = '';
    const stream = { write: (s: string) => ((out += s), true), isTTY: false };
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await train(model, data, { ...BASE_CONFIG, epochs: 1 }, { progress: true, stream });
    expect(out).toMatch(/epoch 1\/1 {2}loss 0\.\d{5} {2}lr 1\.0e-2 .*3000\/3000 samples .*samples\/s/);
    expect(out).toMatch(/epoch 1\/1 step 24: train loss 0\.\d+ {2}valid AUC 0\.\d+ {2}logloss 0\.\d+ {2}gAUC 0\.\d+ .*\[best\]/);
    model.dispose();
  });

  it('checks its inputs', async () => {
    const model = new TinyModel({ numItems: NUM_ITEMS, seed: 11 });
    await expect(train(model, { ...data, valid: { ...data.valid, label: null } }, BASE_CONFIG)).rejects.toThrow(/valid split has no labels/);
    await expect(train(model, data, { ...BASE_CONFIG, patience: 0 })).rejects.toThrow(/patience = 0/);
    await expect(train(model, data, BASE_CONFIG, { resume: true })).rejects.toThrow(/resume needs a runDir/);
    model.dispose();
  });
});

