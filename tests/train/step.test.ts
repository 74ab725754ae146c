import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { iterateBatches } from '../../src/data/batches';
import { lossAndGradients } from '../../src/train/step';
import { plantedSplit } from './plantedData';
import { useCpu } from './setup';
import { TinyModel } from './tinyModel';

beforeAll(useCpu);

describe('lossAndGradients', () => {
  const split = plantedSplit({ rows: 64, seed: 4 });
  const batch = iterateBatches(split, { batchSize: 64 }).next().value!;

  it('loss is the mean BCE of the logits; gradients come in the order of the variables', () => {
    const model = new TinyModel({ numItems: 41, seed: 2, dropout: 0 });
    const vars = [...model.embeddingVariables(), ...model.networkVariables()];
    const { loss, grads } = lossAndGradients(model, batch, vars);
    // runningMean moved during that training call; put it back to compute the same logits by hand.
    model.runningMean.assign(tf.zerosLike(model.runningMean));
    const logits = tf.tidy(() => Array.from(model.call({
      itemId: tf.tensor1d(batch.itemId, 'int32'), likesLevel: tf.tensor1d(batch.likesLevel, 'int32'),
      viewsLevel: tf.tensor1d(batch.viewsLevel, 'int32'), itemSeq: tf.tensor2d(batch.itemSeq, [64, batch.seqLen], 'int32'),
    }, true).dataSync()));
    const bce = logits.reduce((s, x, i) => s + Math.max(x, 0) - x * batch.label![i] + Math.log1p(Math.exp(-Math.abs(x))), 0) / 64;
    expect(loss.dataSync()[0]).toBeCloseTo(bce, 6);
    expect(grads.map((g) => g.shape)).toEqual(vars.map((v) => v.shape));
    tf.dispose([loss, ...grads]);
    model.dispose();
  });

  it('names a variable no gradient reaches', () => {
    const model = new TinyModel({ numItems: 41, seed: 2, dropout: 0 });
    const unused = tf.tidy(() => tf.variable(tf.zeros([2])));
    const before = tf.memory().numTensors;
    expect(() => lossAndGradients(model, batch, [...model.networkVariables(), unused], ['a', 'b', 'c', 'd', 'stray'])).toThrow(
      /no gradient reaches stray/,
    );
    expect(tf.memory().numTensors).toBe(before);
    unused.dispose();
    model.dispose();
  });
});
