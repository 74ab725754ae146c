import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PredictionError, predict } from '../../src/eval/predict';
import { batchInputs, disposeInputs } from '../../src/train/tensors';
import { iterateBatches } from '../../src/data/batches';
import type { ModelInputs } from '../../src/models/types';
import { plantedSplit } from '../train/plantedData';
import { useCpu } from '../train/setup';
import { TinyModel } from '../train/tinyModel';

beforeAll(useCpu);

describe('predict', () => {
  const split = plantedSplit({ rows: 1000, seed: 8, split: 'valid' });

  it('equals σ(logits) of one full-size forward pass, whatever the batch size', async () => {
    const model = new TinyModel({ numItems: 41, seed: 4 });
    const whole = iterateBatches(split, { batchSize: split.rows }).next().value!;
    const inputs = batchInputs(whole);
    const expected = tf.tidy(() => tf.sigmoid(model.call(inputs, false)).dataSync());
    disposeInputs(inputs);
    for (const batchSize of [1000, 333, 64, 7]) {
      const p = await predict(model, split, { batchSize });
      expect(p).toBeInstanceOf(Float32Array);
      expect(p.length).toBe(1000);
      p.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    }
    model.dispose();
  });

  it('uses inference mode (non-trainable state unchanged)', async () => {
    const model = new TinyModel({ numItems: 41, seed: 4 });
    const modes: boolean[] = [];
    model.onCall = (_i, training) => modes.push(training);
    await predict(model, split, { batchSize: 400 });
    expect(modes).toEqual([false, false, false]);
    expect(Array.from(model.runningMean.dataSync()).every((x) => x === 0)).toBe(true);
    model.dispose();
  });

  it('full-scale test (379,142 rows): one batch of tensors at a time, none left after', async () => {
    const test = { ...plantedSplit({ rows: 379_142, seed: 9, seqLen: 4 }), split: 'test' as const, label: null };
    const model = new TinyModel({ numItems: 41, seed: 4, dim: 4, hidden: 4 });
    const counts: number[] = [];
    const sizes: number[] = [];
    model.onCall = (inputs: ModelInputs) => {
      counts.push(tf.memory().numTensors);
      sizes.push(inputs.itemId.shape[0]);
    };
    const before = tf.memory().numTensors;
    const p = await predict(model, test, { batchSize: 8192 });
    expect(p.length).toBe(379_142);
    expect(sizes).toHaveLength(Math.ceil(379_142 / 8192));
    expect(sizes.at(-1)).toBe(379_142 % 8192);
    // At each forward pass: the model's weights + this batch's 4 input tensors, nothing from earlier batches.
    expect(new Set(counts)).toEqual(new Set([before + 4]));
    expect(tf.memory().numTensors).toBe(before);
    expect(p.every((x) => x > 0 && x < 1)).toBe(true);
    model.dispose();
  });

  it('refuses logits of the wrong shape', async () => {
    const model = new TinyModel({ numItems: 41, seed: 4 });
    const bad = { ...model, name: model.name, config: model.config, call: (i: ModelInputs) => tf.reshape(model.call(i, false), [-1, 1]) as unknown as tf.Tensor1D };
    await expect(predict(bad as unknown as TinyModel, split, { batchSize: 100 })).rejects.toThrow(PredictionError);
    await expect(predict(bad as unknown as TinyModel, split, { batchSize: 100 })).rejects.toThrow(/shape \[100,1\] for a batch of 100 rows/);
    model.dispose();
  });
});
