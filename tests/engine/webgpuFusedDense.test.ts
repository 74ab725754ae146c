/**
 * The fused layer tail on webgpu (src/engine/kernels/webgpu/densePost.ts, used by `DenseUnit` in training) and the
 * webgpu `MmctrDropout` kernel against the unfused layers on cpu: outputs, the gradients of every weight and of the
 * input, and the running batch-norm statistics, relative error ≤ 1e-4; with and without batch norm, bias, relu,
 * dropout (the same seeded masks as on cpu); dispatch counts. Tiny shapes (lavapipe).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { seededDropout } from '../../src/engine/kernels/dropout';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { DinAttention, MlpBlock } from '../../src/models/layers';
import { seedRandomOps } from '../../src/util/opSeeds';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused dense tests skipped] no WebGPU adapter: ${probe.reason}`);

const TOL = 1e-4;
const values = (n: number, seed: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 7.1 + i * 1.3 + 0.2 * i * i));

/** A weight's name without the layer instance's unique prefix (`mlp_block_3/dense_0/kernel` → `dense_0/kernel`). */
const local = (name: string, _i: number) => name.split('/').slice(1).join('/');

interface Out {
  y: Float32Array;
  grads: Map<string, Float32Array>;
  weights: Map<string, Float32Array>;
}

/** The layer built on the active backend with weights from `from`, applied in training with a seeded op stream. */
async function runLayer(make: () => tf.layers.Layer, inputs: () => tf.Tensor[], from?: Map<string, Float32Array>): Promise<Out> {
  const layer = make();
  const xs0 = inputs();
  layer.apply(xs0, { training: false }); // builds the weights
  if (from) layer.weights.forEach((w, i) => w.write(tf.tensor(from.get(local(w.originalName, i))!, w.shape as number[])));
  const xs = inputs();
  const trainable = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = layer.trainableWeights.map((w) => local(w.originalName, -1));
  seedRandomOps('fused-dense-test');
  let yOut: tf.Tensor | undefined;
  const { grads } = tf.variableGrads(() => {
    const y = layer.apply(xs, { training: true }) as tf.Tensor;
    yOut = tf.keep(y.clone());
    const r = tf.tensor(values(y.size, 42), y.shape);
    return tf.sum(tf.mul(y, r)) as tf.Scalar;
  }, trainable);
  seedRandomOps(null);
  // The gradients of the float inputs but a mask too (a second pass with the same seeds: the same masks).
  const nIn = Math.min(xs.length, 2);
  seedRandomOps('fused-dense-test');
  const dxs = tf.grads((...ins: tf.Tensor[]) => {
    const y = layer.apply([...ins, ...xs.slice(nIn)], { training: true }) as tf.Tensor;
    return tf.sum(tf.mul(y, tf.tensor(values(y.size, 42), y.shape)));
  })(xs.slice(0, nIn));
  seedRandomOps(null);
  const out: Out = { y: (await yOut!.data()) as Float32Array, grads: new Map(), weights: new Map() };
  for (let i = 0; i < trainable.length; i++) out.grads.set(names[i], (await grads[trainable[i].name].data()) as Float32Array);
  for (let i = 0; i < nIn; i++) out.grads.set(`input ${i}`, (await dxs[i].data()) as Float32Array);
  for (const [i, w] of layer.weights.entries()) out.weights.set(local(w.originalName, i), (await w.read().data()) as Float32Array);
  tf.dispose([yOut!, ...dxs, ...Object.values(grads), ...xs, ...xs0]);
  layer.dispose();
  return out;
}

async function compare(make: () => tf.layers.Layer, inputs: () => tf.Tensor[]): Promise<void> {
  const init = await onBackend('cpu', async () => {
    const l = make();
    const xs = inputs();
    l.apply(xs, { training: false });
    const m = new Map<string, Float32Array>();
    for (const [i, w] of l.weights.entries()) m.set(local(w.originalName, i), (await w.read().data()) as Float32Array);
    tf.dispose(xs);
    l.dispose();
    return m;
  });
  const wantFromInit = await onBackend('cpu', () => runLayer(make, inputs, init));
  const got = await onBackend('webgpu', () => runLayer(make, inputs, init));
  expect(maxRelError(got.y, wantFromInit.y), 'output').toBeLessThanOrEqual(TOL);
  const floor = 1e-3 * Math.max(...[...wantFromInit.grads.values()].map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  for (const [k, g] of wantFromInit.grads) expect(maxRelError(got.grads.get(k)!, g, floor), `gradient ${k}`).toBeLessThanOrEqual(TOL);
  // Running means that are zero up to rounding (a layer after a linear batch-normed one): floored at 1e-3.
  for (const [k, w] of wantFromInit.weights) expect(maxRelError(got.weights.get(k)!, w, 1e-3), `weight ${k} after the step`).toBeLessThanOrEqual(TOL);
}

const ROWS = 37;
const mlpInput = () => [tf.tensor2d(values(ROWS * 9, 3, 2), [ROWS, 9])];

describe.skipIf(!probe.adapter)('fused dense layers on webgpu', () => {
  useWebGpuSuite();

  it('MmctrDropout: the same masks and values as cpu, 1 dispatch', async () => {
    const run = async () => {
      const x = tf.tensor1d(values(1000, 5));
      const y = seededDropout(x, 0.3, 12345);
      const v = (await y.data()) as Float32Array;
      tf.dispose([x, y]);
      return v;
    };
    const cpu = await onBackend('cpu', run);
    const gpu = await onBackend('webgpu', run);
    expect(maxRelError(gpu, cpu)).toBeLessThanOrEqual(1e-6);
    const zeros = cpu.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(200);
    expect(zeros).toBeLessThan(400);
    const { counts } = await onBackend('webgpu', () => countWebGpu(run));
    expect(counts.dispatches).toBe(1);
  });

  it.each([
    ['BN, relu, dropout', { batchNorm: true, activation: 'relu', dropoutRate: 0.3 }],
    ['BN, linear', { batchNorm: true, activation: 'linear', dropoutRate: 0 }],
    ['relu, dropout', { batchNorm: false, activation: 'relu', dropoutRate: 0.25 }],
    ['relu', { batchNorm: false, activation: 'relu', dropoutRate: 0 }],
  ] as const)('MlpBlock (%s): outputs, gradients, running stats match cpu', async (_label, opts) => {
    await compare(() => new MlpBlock({ hiddenUnits: [70, 5], ...opts, seed: 7 }), mlpInput);
  });

  it('DinAttention in training (fused first Linear, tails, output and pooling; dropout): matches cpu', async () => {
    const b = 5;
    const len = 4;
    const d = 6;
    const mask = Float32Array.from({ length: b * len }, (_, i) => (i % 3 === 1 ? 0 : 1));
    // The cpu path would run the MLP on the valid positions only, where the dropout masks index other rows.
    DinAttention.compactPadding = false;
    await compare(
      () => new DinAttention({ attentionUnits: [8, 4], dropoutRate: 0.2, seed: 11 }),
      () => [tf.tensor2d(values(b * d, 1), [b, d]), tf.tensor3d(values(b * len * d, 2), [b, len, d]), tf.tensor2d(mask, [b, len])],
    ).finally(() => {
      DinAttention.compactPadding = true;
    });
  });

  it('DinAttention in inference (fused first Linear and pooling, unfused tail): matches cpu', async () => {
    const make = () => new DinAttention({ attentionUnits: [8, 4], dropoutRate: 0.2, seed: 11 });
    const inputs = () => [
      tf.tensor2d(values(5 * 6, 1), [5, 6]),
      tf.tensor3d(values(5 * 4 * 6, 2), [5, 4, 6]),
      tf.tensor2d(Float32Array.from({ length: 20 }, (_, i) => (i % 3 === 1 ? 0 : 1)), [5, 4]),
    ];
    const run = async () => {
      const layer = make();
      const xs = inputs();
      const y = layer.apply(xs, { training: false }) as tf.Tensor;
      const v = (await y.data()) as Float32Array;
      tf.dispose([y, ...xs]);
      layer.dispose();
      return v;
    };
    const want = await onBackend('cpu', run);
    const got = await onBackend('webgpu', run);
    expect(maxRelError(got, want)).toBeLessThanOrEqual(TOL);
  });

  it('a BN layer is its matMul + 2 dispatches forward', async () => {
    await onBackend('webgpu', async () => {
      const layer = new MlpBlock({ hiddenUnits: [8], batchNorm: true, dropoutRate: 0.1, seed: 1 });
      const x = mlpInput()[0];
      layer.apply(x, { training: false });
      const { counts } = await countWebGpu(async () => {
        const y = layer.apply(x, { training: true }) as tf.Tensor;
        await y.data();
        y.dispose();
      });
      expect(counts.byKernel['BatchMatMul']).toBe(1);
      expect(counts.dispatches).toBe(3);
      x.dispose();
      layer.dispose();
    });
  });
});
