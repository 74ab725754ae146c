import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EmbeddingTable, MaskedMeanPooling, PretrainedProjection, paddingMask } from '../../../src/models/layers';
import { type LayerCase, checkLayer, useCpu } from './layerCheck';
import { arr, expectClose } from './jsRef';

const ids2 = () => tf.tensor2d([[0, 3, 6], [2, 0, 0]], undefined, 'int32');
const ids3 = () => tf.tensor3d([[[1, 0], [4, 5]], [[0, 0], [6, 2]]], undefined, 'int32');

const cases: LayerCase[] = [
  { label: 'table, ids [2, 3]', make: () => new EmbeddingTable({ vocabSize: 7, embeddingDim: 3, seed: 1 }), inputs: () => [ids2()], single: true },
  { label: 'table, ids [2, 2, 2]', make: () => new EmbeddingTable({ vocabSize: 7, embeddingDim: 4, initStd: 0.1, seed: 2 }), inputs: () => [ids3()], single: true },
  { label: 'pooling, rank 3', make: () => new MaskedMeanPooling(), inputs: () => [tf.randomNormal([2, 3, 4], 0, 1, "float32", 7), ids2()] },
  { label: 'pooling, rank 4', make: () => new MaskedMeanPooling(), inputs: () => [tf.randomNormal([2, 2, 2, 3], 0, 1, "float32", 7), ids3()] },
  { label: 'projection, [2, 6] → 4', make: () => new PretrainedProjection({ outputDim: 4, seed: 3 }), inputs: () => [tf.randomNormal([2, 6], 0, 1, "float32", 7)], single: true },
  { label: 'projection, [2, 3, 5] → 2', make: () => new PretrainedProjection({ outputDim: 2 }), inputs: () => [tf.randomNormal([2, 3, 5], 0, 1, "float32", 7)], single: true },
];

beforeAll(useCpu);

describe('embedding layers: layer check', () => {
  it.each(cases)('$label', async (c) => checkLayer(c));
});

describe('EmbeddingTable', () => {
  it('initialises N(0, 1e-4²) with a zero padding row', () => {
    const layer = new EmbeddingTable({ vocabSize: 201, embeddingDim: 16, seed: 5 });
    layer.apply(tf.zeros([1], 'int32')); // builds the table
    const table = arr<number[][]>(layer.getWeights()[0]);
    expect(table[0].every((v) => v === 0)).toBe(true);
    const rest = table.slice(1).flat();
    const mu = rest.reduce((s, v) => s + v, 0) / rest.length;
    const sd = Math.sqrt(rest.reduce((s, v) => s + (v - mu) ** 2, 0) / rest.length);
    expect(Math.abs(mu)).toBeLessThan(1e-5);
    expect(sd).toBeGreaterThan(0.9e-4);
    expect(sd).toBeLessThan(1.1e-4);
    layer.dispose();
  });

  it('looks rows up and gives zeros for id 0 even when row 0 is not zero', () => {
    const layer = new EmbeddingTable({ vocabSize: 4, embeddingDim: 2 });
    layer.apply(tf.zeros([1], 'int32'));
    layer.setWeights([tf.tensor2d([[9, 9], [1, 2], [3, 4], [5, 6]])]);
    const out = layer.apply(tf.tensor2d([[0, 1], [3, 2]], undefined, 'int32')) as tf.Tensor;
    expect(arr(out)).toEqual([[[0, 0], [1, 2]], [[5, 6], [3, 4]]]);
    layer.dispose();
  });

  it('keeps the padding row at zero through training steps, and is shared between fields', () => {
    const layer = new EmbeddingTable({ vocabSize: 5, embeddingDim: 3, initStd: 0.5, seed: 9 });
    const target = tf.tensor1d([2, 0], 'int32'); // item_id of the target
    const history = tf.tensor2d([[1, 2, 0], [0, 0, 4]], undefined, 'int32'); // item_seq
    layer.apply(target);
    const before = arr<number[][]>(layer.getWeights()[0]);
    const optimizer = tf.train.adam(0.1);
    for (let step = 0; step < 3; step++) {
      optimizer.minimize(() => {
        const t = layer.apply(target, { training: true }) as tf.Tensor; // [2, 3]
        const h = layer.apply(history, { training: true }) as tf.Tensor; // [2, 3, 3]
        return tf.add(tf.sum(tf.square(tf.sub(t, 1))), tf.sum(tf.square(tf.sub(h, 1)))) as tf.Scalar;
      });
    }
    expect(layer.weights).toHaveLength(1); // one table serves both fields
    const after = arr<number[][]>(layer.getWeights()[0]);
    expect(after[0].every((v) => v === 0)).toBe(true); // (−0 after Adam's zero update)
    expect(after[3]).toEqual(before[3]); // id 3 never looked up
    for (const row of [1, 2, 4]) expect(after[row]).not.toEqual(before[row]);
    optimizer.dispose();
    layer.dispose();
  });

  it('paddingMask marks id > 0 as valid (1) and padding as 0', () => {
    expect(arr(paddingMask(tf.tensor2d([[0, 5, 1], [0, 0, 0]], undefined, 'int32')))).toEqual([[0, 1, 1], [0, 0, 0]]);
  });
});

describe('MaskedMeanPooling', () => {
  const vectors = [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]];
  const ids = [[4, 0, 2], [0, 0, 0]];

  it('averages the vectors of valid ids; an all-padding row gives zeros', () => {
    const out = new MaskedMeanPooling().apply([tf.tensor3d(vectors), tf.tensor2d(ids, undefined, 'int32')]) as tf.Tensor;
    expectClose(arr(out), [[(1 + 5) / 2, (2 + 6) / 2], [0, 0]]);
  });

  it('ignores what is at padded positions (mask polarity)', () => {
    const changed = vectors.map((row, b) => row.map((v, j) => (ids[b][j] === 0 ? [v[0] * 100 - 7, -v[1]] : v)));
    const pool = new MaskedMeanPooling();
    const idsT = tf.tensor2d(ids, undefined, 'int32');
    const a = arr(pool.apply([tf.tensor3d(vectors), idsT]) as tf.Tensor);
    const b = arr(pool.apply([tf.tensor3d(changed), idsT]) as tf.Tensor);
    expect(b).toEqual(a);
    const validChanged = vectors.map((row) => row.map((v) => [v[0] + 1, v[1]]));
    expect(arr(pool.apply([tf.tensor3d(validChanged), idsT]) as tf.Tensor)).not.toEqual(a);
  });

  it('pools the tags of each history item (rank 4)', () => {
    const v = tf.tensor4d([[[[1, 1], [3, 5]], [[2, 2], [4, 4]]]]); // [1, 2, 2, 2]
    const tagIds = tf.tensor3d([[[7, 8], [0, 0]]], undefined, 'int32'); // [1, 2, 2]
    expectClose(arr(new MaskedMeanPooling().apply([v, tagIds]) as tf.Tensor), [[[2, 3], [0, 0]]]);
  });
});

describe('PretrainedProjection', () => {
  it('is x·W without bias, so a zero vector stays zero', () => {
    const layer = new PretrainedProjection({ outputDim: 3 });
    layer.apply(tf.zeros([1, 2]));
    layer.setWeights([tf.tensor2d([[1, 0, 2], [0, 1, 1]])]);
    expect(arr(layer.apply(tf.tensor2d([[1, 2], [0, 0]])) as tf.Tensor)).toEqual([[1, 2, 4], [0, 0, 0]]);
    expect(layer.weights).toHaveLength(1);
    layer.dispose();
  });

  it('initialises Xavier-normal: std sqrt(2 / (in + out))', () => {
    const layer = new PretrainedProjection({ outputDim: 64, seed: 4 });
    layer.apply(tf.zeros([1, 128]));
    const w = Array.from(layer.getWeights()[0].dataSync());
    const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(Math.abs(sd / Math.sqrt(2 / 192) - 1)).toBeLessThan(0.05);
    layer.dispose();
  });
});
