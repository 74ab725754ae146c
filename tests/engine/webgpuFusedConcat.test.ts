/**
 * The one-dispatch `Concat` gradient on webgpu (src/engine/kernels/webgpu/concatGrad.ts) against tfjs's on cpu:
 * the gradient of every input for concatenations along the last and a middle axis (rel. error ≤ 1e-4); one
 * dispatch for all the slices. Tiny shapes (lavapipe).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu concat gradient tests skipped] no WebGPU adapter: ${probe.reason}`);

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 3.3 + i * 0.9));
const SHAPES: Record<string, number[][]> = { last: [[4, 3, 2], [4, 3, 5], [4, 3, 1]], middle: [[4, 2, 3], [4, 1, 3], [4, 4, 3]] };

async function grads(axis: number, shapes: number[][]): Promise<Float32Array[]> {
  const xs = shapes.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), i + 1), s));
  const gs = tf.grads((...ins: tf.Tensor[]) => {
    const c = tf.concat(ins, axis);
    return tf.sum(tf.mul(c, tf.tensor(values(c.size, 9), c.shape)));
  })(xs);
  const out: Float32Array[] = [];
  for (const g of gs) out.push((await g.data()) as Float32Array);
  tf.dispose([...xs, ...gs]);
  return out;
}

describe.skipIf(!probe.adapter)('Concat gradient on webgpu', () => {
  useWebGpuSuite();

  it.each([
    ['last', -1],
    ['middle', 1],
  ] as const)('axis %s: the gradients of every input match cpu', async (which, axis) => {
    const want = await onBackend('cpu', () => grads(axis, SHAPES[which]));
    const got = await onBackend('webgpu', () => grads(axis, SHAPES[which]));
    expect(got.length).toBe(3);
    for (let i = 0; i < 3; i++) expect(maxRelError(got[i], want[i]), `input ${i}`).toBeLessThanOrEqual(1e-6);
  });

  it('one dispatch for all slices', async () => {
    await onBackend('webgpu', async () => {
      const xs = SHAPES.last.map((s) => tf.ones(s));
      const dy = tf.ones([4, 3, 8]);
      const { counts } = await countWebGpu(() => tf.grads((...ins: tf.Tensor[]) => tf.concat(ins, -1))(xs, dy));
      expect(counts.byKernel['SplitV'] ?? 0).toBe(0);
      expect(counts.byProgram['mmctrConcatGrad_3']).toBe(1);
      tf.dispose([...xs, dy]);
    });
  });
});
