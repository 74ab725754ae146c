/**
 * Gradients through the project's kernels on `cpu` and `wasm`: gather (UnsortedSegmentSum) against a dense one-hot
 * formulation, BatchMatMul (wasm wrapper + gradient) against plain-JS products for every flag and broadcast case,
 * Tile against tfjs's own gradient, comparisons, and a small DIN-like model's loss and gradients against tfjs's
 * original kernels on `cpu`.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerProjectKernels, unregisterProjectKernels } from '../../src/engine/kernels';
import { createDinLike, makeDinLikeBatch, type DinLikeShape } from '../../bench/lib/dinLike';

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  expect(worst).toBeLessThanOrEqual(tol);
}

/** op(A) for one [r, c] matrix stored row-major, as a function of (i, j) of the result. */
function at(m: Float32Array, off: number, rows: number, cols: number, t: boolean) {
  return (i: number, j: number) => (t ? m[off + j * cols + i] : m[off + i * cols + j]);
}

/**
 * Plain-JS reference for y = Σ R ⊙ (op(A) @ op(B)) with `a` [batchA…, ra, ca], `b` [batchB…, rb, cb] (batches
 * broadcast, b's batch may be absent): returns dA and dB by the chain rule written out per element.
 */
function matMulGradRef(a: tf.Tensor, b: tf.Tensor, r: tf.Tensor, ta: boolean, tb: boolean) {
  const av = a.dataSync() as Float32Array;
  const bv = b.dataSync() as Float32Array;
  const rv = r.dataSync() as Float32Array;
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const m = ta ? ca : ra;
  const k = ta ? ra : ca;
  const n = tb ? rb : cb;
  const batchA = a.size / (ra * ca);
  const batchB = b.size / (rb * cb);
  const batch = Math.max(batchA, batchB);
  const da = new Float64Array(a.size);
  const db = new Float64Array(b.size);
  for (let s = 0; s < batch; s++) {
    const aOff = (batchA === 1 ? 0 : s) * ra * ca;
    const bOff = (batchB === 1 ? 0 : s) * rb * cb;
    const A = at(av, aOff, ra, ca, ta);
    const B = at(bv, bOff, rb, cb, tb);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const g = rv[s * m * n + i * n + j];
        for (let p = 0; p < k; p++) {
          // d/dA(i,p) += g·B(p,j); d/dB(p,j) += g·A(i,p); mapped back through the transposes.
          da[aOff + (ta ? p * ca + i : i * ca + p)] += g * B(p, j);
          db[bOff + (tb ? j * cb + p : p * cb + j)] += g * A(i, p);
        }
      }
    }
  }
  return { da, db };
}

describe.each(['cpu', 'wasm'] as const)('gradients on %s', (backend) => {
  beforeAll(async () => {
    registerProjectKernels();
    await tf.setBackend(backend);
  });

  it('gather gradient (embedding lookup) equals the dense one-hot formulation', () => {
    const table = tf.variable(rand([20, 3], 1));
    const ids = tf.tensor2d([[3, 3, 7], [0, 19, 3]], [2, 3], 'int32'); // duplicates accumulate
    const weights = rand([2, 3, 3], 2);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), weights)) as tf.Scalar, [table]);
    // d/dT Σ W ⊙ T[ids] = onehot(ids)ᵀ · W
    const dense = tf.matMul(tf.oneHot(tf.reshape(ids, [-1]), 20), tf.reshape(weights, [6, 3]), true, false);
    expectClose(grads[table.name].dataSync(), dense.dataSync(), 1e-6);
    tf.dispose([table, ids, weights, dense, grads[table.name]]);
  });

  const mmCases: { name: string; a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      mmCases.push({ name: `2-D ta=${ta} tb=${tb}`, a: ta ? [7, 5] : [5, 7], b: tb ? [4, 7] : [7, 4], ta, tb });
      mmCases.push({ name: `batched ta=${ta} tb=${tb}`, a: ta ? [3, 7, 5] : [3, 5, 7], b: tb ? [3, 4, 7] : [3, 7, 4], ta, tb });
    }
    mmCases.push({ name: `3-D @ 2-D (broadcast b) tb=${ta}`, a: [3, 5, 7], b: ta ? [4, 7] : [7, 4], ta: false, tb: ta });
  }
  mmCases.push({ name: '4-D @ [1,k,n]', a: [2, 3, 5, 7], b: [1, 7, 4], ta: false, tb: false });
  mmCases.push({ name: 'ta with broadcast b', a: [3, 7, 5], b: [7, 4], ta: true, tb: false });
  mmCases.push({ name: 'batch of 1, both flags', a: [1, 7, 5], b: [1, 4, 7], ta: true, tb: true });
  mmCases.push({ name: 'flags, tall operand (other form chosen)', a: [40, 3], b: [40, 2], ta: true, tb: false });
  mmCases.push({ name: 'both flags, wide result', a: [3, 40], b: [30, 3], ta: true, tb: true });

  it.each(mmCases)('matMul forward and gradients: $name', ({ a: aShape, b: bShape, ta, tb }) => {
    const a = tf.variable(rand(aShape, 3));
    const b = tf.variable(rand(bShape, 4));
    const y = tf.matMul(a, b, ta, tb);
    const r = rand(y.shape, 5);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.matMul(a, b, ta, tb), r)) as tf.Scalar, [a, b]);
    const ref = matMulGradRef(a, b, r, ta, tb);
    expect(grads[a.name].shape).toEqual(aShape);
    expect(grads[b.name].shape).toEqual(bShape);
    expectClose(grads[a.name].dataSync(), ref.da, 1e-5);
    expectClose(grads[b.name].dataSync(), ref.db, 1e-5);
    // forward: the same products on tfjs's original kernels
    unregisterProjectKernels();
    const yOriginal = tf.matMul(a, b, ta, tb);
    registerProjectKernels();
    expect(y.shape).toEqual(yOriginal.shape);
    expectClose(y.dataSync(), yOriginal.dataSync(), 1e-5);
    tf.dispose([a, b, y, r, yOriginal, grads[a.name], grads[b.name]]);
  });

  it('tile gradient equals tfjs original gradient', () => {
    const x = tf.variable(rand([3, 1, 4], 6));
    const w = rand([6, 5, 8], 7);
    const f = () => tf.sum(tf.mul(tf.tile(x, [2, 5, 2]), w)) as tf.Scalar;
    const ours = tf.variableGrads(f, [x]).grads[x.name];
    unregisterProjectKernels();
    const original = tf.variableGrads(f, [x]).grads[x.name];
    registerProjectKernels();
    expectClose(ours.dataSync(), original.dataSync(), 1e-5);
    tf.dispose([x, w, ours, original]);
  });

  it('a mask computed from a trained tensor backpropagates (comparison ops have zero gradient)', () => {
    const x = tf.variable(tf.tensor1d([-2, -0.5, 0.5, 3]));
    // leaky ReLU by hand: d/dx = 1 where x > 0, 0.1 elsewhere
    const f = () => tf.sum(tf.where(tf.greater(x, 0), x, tf.mul(x, 0.1))) as tf.Scalar;
    const g = tf.variableGrads(f, [x]).grads[x.name];
    expectClose(g.dataSync(), [0.1, 0.1, 1, 1], 1e-6);
    unregisterProjectKernels();
    expect(() => tf.variableGrads(f, [x])).toThrow(/gradient function not found for Greater/);
    registerProjectKernels();
    tf.dispose([x, g]);
  });
});

describe('DIN-like forward + backward', () => {
  const shape: DinLikeShape = {
    batch: 8,
    hist: 5,
    emb: 4,
    items: 30,
    attention: [6, 3],
    dnn: [7, 5],
    softmax: true,
    maxPool: true,
  };

  async function lossAndGrads(backend: 'cpu' | 'wasm', project: boolean) {
    if (project) registerProjectKernels();
    else unregisterProjectKernels();
    await tf.setBackend(backend);
    const model = createDinLike(shape, 3);
    const batch = makeDinLikeBatch(shape, 4);
    const { value, grads } = tf.variableGrads(() => model.loss(batch), model.variables);
    const out = {
      loss: value.dataSync()[0],
      grads: model.variables.map((v) => Array.from(grads[v.name].dataSync())),
    };
    tf.dispose([value, ...Object.values(grads), batch.itemIds, batch.histIds, batch.labels]);
    model.dispose();
    registerProjectKernels();
    return out;
  }

  it('runs on wasm only with the project kernels (wasm has no UnsortedSegmentSum)', async () => {
    await expect(lossAndGrads('wasm', false)).rejects.toThrow(/UnsortedSegmentSum/);
  });

  it.each(['cpu', 'wasm'] as const)('loss and every gradient on %s equal tfjs original kernels on cpu', async (backend) => {
    const reference = await lossAndGrads('cpu', false);
    const ours = await lossAndGrads(backend, true);
    expect(ours.loss).toBeCloseTo(reference.loss, 5);
    ours.grads.forEach((g, i) => expectClose(g, reference.grads[i], 1e-4));
    // the gradient reaches the table rows that were looked up, and only them
    expect(ours.grads[0].some((v) => v !== 0)).toBe(true);
  });

  it('training steps leak no tensors on wasm', async () => {
    registerProjectKernels();
    await tf.setBackend('wasm');
    const model = createDinLike(shape, 5);
    const batch = makeDinLikeBatch(shape, 6);
    const opt = tf.train.adam(1e-2);
    const step = () => tf.tidy(() => opt.minimize(() => model.loss(batch), true, model.variables)!.dataSync()[0]);
    const first = step();
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    let last = first;
    for (let i = 0; i < 5; i++) last = step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    expect(last).toBeLessThan(first);
    opt.dispose();
    model.dispose();
  });
});
