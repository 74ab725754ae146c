import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, defaultAdamMode, type AdamMode } from '../../src/train/adam';
import { useCpu } from './setup';
import { nativeAdamOps, nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native';

beforeAll(useCpu);

/**
 * torch: loss.backward() with the L2 term in the loss, clip_grad_norm_(params, maxNorm), optim.Adam.step(), in
 * float64, for several parameter vectors.
 */
function torchReference(p0: number[][], grads: number[][][], lr: number, l2: number[], maxNorm: number, b1 = 0.9, b2 = 0.999, eps = 1e-8) {
  const p = p0.map((x) => [...x]);
  const m = p0.map((x) => x.map(() => 0));
  const v = p0.map((x) => x.map(() => 0));
  const norms: number[] = [];
  grads.forEach((gs, k) => {
    const t = k + 1;
    const full = gs.map((g, i) => g.map((x, j) => x + l2[i] * p[i][j]));
    const norm = Math.sqrt(full.flat().reduce((s, x) => s + x * x, 0));
    norms.push(norm);
    const scale = Math.min(1, maxNorm / (norm + 1e-6));
    full.forEach((g, i) =>
      g.forEach((x0, j) => {
        const x = x0 * scale;
        m[i][j] = b1 * m[i][j] + (1 - b1) * x;
        v[i][j] = b2 * v[i][j] + (1 - b2) * x * x;
        p[i][j] -= (lr / (1 - b1 ** t)) * (m[i][j] / (Math.sqrt(v[i][j]) / Math.sqrt(1 - b2 ** t) + eps));
      }),
    );
  });
  return { p, norms };
}

const p0 = [[0.5, -1, 2, 0], [3, -0.25]];
const grads = [
  [[0.1, -0.2, 3, 0], [1, 2]],
  [[0.05, 0.4, -1, 1e-3], [-4, 0.5]],
  [[-0.3, 0.1, 0.5, 0], [0.2, 0.2]],
];
const args = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

function makeVars() {
  return p0.map((x) => tf.tidy(() => tf.variable(tf.tensor1d(x))));
}

describe.each<AdamMode>(['typed', 'tensor'])('Adam (%s)', (mode) => {
  it('matches torch: L2 gradient λ·W, global-norm clipping, Adam with bias correction', async () => {
    for (const [l2, maxNorm] of [[[0, 0], 10], [[0.5, 0.1], 10], [[0.5, 0.1], 1]] as [number[], number][]) {
      const vars = makeVars();
      const adam = new Adam(vars, ['a', 'b'], args, mode);
      const seen: number[] = [];
      for (const gs of grads) {
        const gt = gs.map((g) => tf.tensor1d(g));
        seen.push(await adam.apply(gt, { learningRate: 0.01, l2, maxGradNorm: maxNorm }));
        tf.dispose(gt);
      }
      const ref = torchReference(p0, grads, 0.01, l2, maxNorm);
      vars.forEach((x, i) => Array.from(x.dataSync()).forEach((y, j) => expect(y).toBeCloseTo(ref.p[i][j], 6)));
      seen.forEach((n, k) => expect(n).toBeCloseTo(ref.norms[k], 4));
      expect(adam.step).toBe(3);
      adam.dispose();
      tf.dispose(vars);
    }
  });

  it('a veto in check() leaves weights, moments and step untouched', async () => {
    const vars = makeVars();
    const adam = new Adam(vars, ['a', 'b'], args, mode);
    const before = vars.map((x) => Array.from(x.dataSync()));
    const gt = grads[0].map((g) => tf.tensor1d(g));
    await expect(adam.apply(gt, { learningRate: 0.01, l2: [0, 0], maxGradNorm: 10, check: () => { throw new Error('veto'); } })).rejects.toThrow('veto');
    expect(vars.map((x) => Array.from(x.dataSync()))).toEqual(before);
    expect(adam.step).toBe(0);
    expect([...(await adam.state()).values()].every((t) => t.data.every((x) => x === 0))).toBe(true);
    tf.dispose([...gt, ...vars]);
    adam.dispose();
  });

  it('state → restore continues exactly as without the interruption', async () => {
    const run = async (cut: boolean) => {
      const vars = makeVars();
      let adam = new Adam(vars, ['a', 'b'], args, mode);
      const step = async (gs: number[][]) => {
        const gt = gs.map((g) => tf.tensor1d(g));
        await adam.apply(gt, { learningRate: 0.01, l2: [0.1, 0], maxGradNorm: 2 });
        tf.dispose(gt);
      };
      await step(grads[0]);
      if (cut) {
        const state = await adam.state();
        const n = adam.step;
        adam.dispose();
        adam = new Adam(vars, ['a', 'b'], args, mode);
        adam.restore(state, n, 'test');
      }
      for (const gs of grads.slice(1)) await step(gs);
      const out = vars.map((x) => Array.from(x.dataSync()));
      adam.dispose();
      tf.dispose(vars);
      return out;
    };
    expect(await run(true)).toEqual(await run(false));
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const vars = makeVars();
    const adam = new Adam(vars, ['a', 'b'], args, mode);
    const gt = grads[0].map((g) => tf.tensor1d(g));
    await adam.apply(gt, { learningRate: 0.01, l2: [0.1, 0], maxGradNorm: 1 });
    tf.dispose([...gt, ...vars]);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('defaultAdamMode', () => {
  it('typed on the CPU backends, tensor elsewhere', () => {
    expect(defaultAdamMode('cpu')).toBe('typed');
    expect(defaultAdamMode('wasm')).toBe('typed');
    expect(defaultAdamMode('tensorflow')).toBe('tensor');
    expect(defaultAdamMode('webgpu')).toBe('tensor');
  });
});

const native = nativeStatus();
describe.skipIf(!native.available)(`Adam typed, native passes${native.available ? '' : ` — SKIPPED: ${native.reason}`}`, () => {
  /** Three steps over a 300,001-element table (threaded) and a small vector; weights, moments and norms. */
  async function run(withNative: boolean, l2: number[], maxGradNorm: number) {
    await tf.setBackend('wasm');
    if (withNative) registerNativeKernels('wasm');
    try {
      expect(nativeAdamOps() !== undefined).toBe(withNative);
      const n = 300_001;
      const r = (seed: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * scale);
      const vars = [tf.variable(tf.tensor1d(r(1, 0.1))), tf.variable(tf.tensor1d([0.5, -1, 2]))];
      const adam = new Adam(vars, ['table', 'w'], args, 'typed');
      const norms: number[] = [];
      for (let k = 0; k < 3; k++) {
        const gt = [tf.tensor1d(r(k + 2, 0.01)), tf.tensor1d([0.3 * k, -0.2, 1e-3])];
        norms.push(await adam.apply(gt, { learningRate: 0.01, l2, maxGradNorm }));
        tf.dispose(gt);
      }
      const weights = vars.map((x) => Float32Array.from(x.dataSync()));
      const state = [...(await adam.state()).values()].map((t) => t.data);
      adam.dispose();
      tf.dispose(vars);
      return { norms, weights, state };
    } finally {
      if (withNative) unregisterNativeKernels('wasm');
      await tf.setBackend('cpu');
    }
  }

  it('gives the JS loops\' weights, moments and norms bit for bit (with L2, with and without clipping)', async () => {
    for (const [l2, maxNorm] of [[[1e-3, 0], 10], [[0.5, 0.1], 0.5]] as [number[], number][]) {
      const js = await run(false, l2, maxNorm);
      const nat = await run(true, l2, maxNorm);
      expect(nat.norms).toEqual(js.norms);
      if (maxNorm < 1) expect(js.norms[0]).toBeGreaterThan(maxNorm); // clipping active
      const same = (a: Float32Array | Int32Array, b: Float32Array | Int32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
      nat.weights.forEach((w, i) => expect(same(w, js.weights[i]), `weights ${i}`).toBe(true));
      nat.state.forEach((m, i) => expect(same(m, js.state[i]), `moment ${i}`).toBe(true));
    }
  });
});
