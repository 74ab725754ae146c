/**
 * The fused Adam on webgpu (src/engine/kernels/webgpu/adam.ts, through `Adam.apply` in `tensor` mode) against the
 * tfjs-ops Adam on cpu: variables, moments and global norms over several steps, with and without L2 and clipping,
 * more variables than one dispatch binds; its dispatch and copy counts; a variable assigned and moments restored
 * between steps (a checkpoint resume); and in-place updates that leave tensors sharing a variable's buffer alone. Tiny shapes (lavapipe). Skipped only when no WebGPU adapter exists.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { Adam } from '../../src/train/adam';
import type { TensorMap } from '../../src/train/checkpoint';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu fused Adam tests skipped] no WebGPU adapter: ${probe.reason}`);

const TOL = 1e-4;
const values = (n: number, seed: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(seed * 7.1 + i * 1.3));

/** 9 variables of assorted shapes (one larger than a norm workgroup's slice), λ on every other one. */
const SHAPES = [[3000, 4], [7], [5, 3], [1], [33, 2], [4, 4, 2], [64], [2, 9], [11]];
const L2 = SHAPES.map((_, i) => (i % 2 === 0 ? 0.01 * (i + 1) : 0));

interface Run {
  norms: number[];
  vars: Float32Array[];
  moments: TensorMap;
}

/** `steps` Adam updates with fixed gradients (scaled per step), on the active backend. */
async function run(steps: number, maxGradNorm: number): Promise<Run> {
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), i + 1), s), true, `w${i}_${Math.random()}`));
  const adam = new Adam(vars, vars.map((_, i) => `w${i}`), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, 'tensor');
  const norms: number[] = [];
  for (let t = 0; t < steps; t++) {
    const grads = SHAPES.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), 100 + i + t, 1 + t), s));
    norms.push(await adam.apply(grads, { learningRate: 0.01, l2: L2, maxGradNorm }));
    tf.dispose(grads);
  }
  const out: Run = { norms, vars: [], moments: await adam.state() };
  for (const v of vars) out.vars.push((await v.data()) as Float32Array);
  adam.dispose();
  tf.dispose(vars);
  return out;
}

describe.skipIf(!probe.adapter)('fused Adam on webgpu', () => {
  useWebGpuSuite();

  it.each([
    ['clipping active', 1],
    ['no clipping', 1e6],
  ])('matches the tfjs-ops Adam on cpu (%s; rel. error ≤ 1e-4)', async (_label, maxGradNorm) => {
    const want = await onBackend('cpu', () => run(3, maxGradNorm));
    const got = await onBackend('webgpu', () => run(3, maxGradNorm));
    for (let t = 0; t < 3; t++) expect(Math.abs(got.norms[t] - want.norms[t]) / want.norms[t]).toBeLessThanOrEqual(TOL);
    if (maxGradNorm === 1) expect(want.norms[0]).toBeGreaterThan(1); // the clip did apply
    for (let i = 0; i < SHAPES.length; i++) expect(maxRelError(got.vars[i], want.vars[i]), `w${i}`).toBeLessThanOrEqual(TOL);
    expect([...got.moments.keys()]).toEqual([...want.moments.keys()]);
    for (const [k, m] of want.moments) expect(maxRelError(got.moments.get(k)!.data, m.data), k).toBeLessThanOrEqual(TOL);
  });

  it('takes 2 dispatches (norm, update) at any variable count, and copies each gradient in and each parameter out', async () => {
    await onBackend('webgpu', async () => {
      const vars = SHAPES.map((s) => tf.variable(tf.ones(s)));
      const adam = new Adam(vars, vars.map((_, i) => `w${i}`), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, 'tensor');
      const grads = SHAPES.map((s) => tf.ones(s));
      await adam.apply(grads, { learningRate: 0.01, l2: L2, maxGradNorm: 1 }); // first step: arenas made, parameters read in
      const { counts } = await countWebGpu(() => adam.apply(grads, { learningRate: 0.01, l2: L2, maxGradNorm: 1 }));
      expect(counts.byProgram).toEqual({ mmctrAdamArenaNorm: 1, mmctrAdamArenaUpdate: 1 });
      expect(counts.copies).toBe(2 * SHAPES.length);
      tf.dispose([...grads, ...vars]);
      adam.dispose();
    });
  });

  it('re-reads a variable assigned between steps and restored moments (a checkpoint resume), as cpu does', async () => {
    const resume = async () => {
      const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), i + 1), s), true, `r${i}_${Math.random()}`));
      const adam = new Adam(vars, vars.map((_, i) => `w${i}`), { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, 'tensor');
      const grads = (t: number) => SHAPES.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), 100 + i + t, 1 + t), s));
      const step = async (t: number) => {
        const g = grads(t);
        await adam.apply(g, { learningRate: 0.01, l2: L2, maxGradNorm: 1 });
        tf.dispose(g);
      };
      await step(0);
      const saved = await adam.state(); // moments after step 1 (read out of the arenas)
      await step(1);
      tf.tidy(() => vars[0].assign(tf.tensor(values(vars[0].size, 42), vars[0].shape))); // as a checkpoint load does
      adam.restore(saved, 1, 'test'); // back to the moments after step 1
      await step(2);
      const out = { vars: await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array)), moments: await adam.state() };
      adam.dispose();
      tf.dispose(vars);
      return out;
    };
    const want = await onBackend('cpu', resume);
    const got = await onBackend('webgpu', resume);
    for (let i = 0; i < SHAPES.length; i++) expect(maxRelError(got.vars[i], want.vars[i]), `w${i}`).toBeLessThanOrEqual(TOL);
    for (const [k, m] of want.moments) expect(maxRelError(got.moments.get(k)!.data, m.data), k).toBeLessThanOrEqual(TOL);
  });

  it('updates in place without touching a tensor that shared the variable buffer', async () => {
    await onBackend('webgpu', async () => {
      const init = tf.tensor1d([1, 2, 3, 4]);
      const v = tf.variable(init); // shares init's buffer
      const adam = new Adam([v], ['v'], { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, 'tensor');
      const g = tf.tensor1d([1, -1, 1, -1]);
      await adam.apply([g], { learningRate: 0.1, l2: [0], maxGradNorm: 100 });
      expect(Array.from(await init.data())).toEqual([1, 2, 3, 4]);
      const after = Array.from(await v.data());
      // First Adam step moves every entry by ≈ lr against the sign of its gradient.
      after.forEach((x, i) => expect(x).toBeCloseTo([0.9, 2.1, 2.9, 4.1][i], 4));
      // A second step after a read: the host copy of the first read must not be served again.
      await adam.apply([g], { learningRate: 0.1, l2: [0], maxGradNorm: 100 });
      const again = Array.from(await v.data());
      again.forEach((x, i) => expect(x).toBeCloseTo([0.8, 2.2, 2.8, 4.2][i], 3));
      tf.dispose([init, v, g]);
      adam.dispose();
    });
  });
});
