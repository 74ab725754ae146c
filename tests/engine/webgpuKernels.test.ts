/**
 * The project's webgpu kernels (src/engine/kernels/webgpu) against `cpu`, their dispatch counts, and the failures
 * they fix (each case failed with tfjs's own kernel: wrong values from an invalidated command buffer). Skipped only
 * when no WebGPU adapter exists.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { probeWebGpu } from '../../src/engine/webgpu';
import { countWebGpu } from '../../src/engine/webgpuCounters';
import { maxRelError, onBackend, useWebGpuSuite } from './webgpuHelpers';

const probe = await probeWebGpu();
if (!probe.adapter) console.warn(`[webgpu kernel tests skipped] no WebGPU adapter: ${probe.reason}`);

/** `f` on cpu and on webgpu from the same host data; returns both results' values. */
async function both(f: () => tf.Tensor): Promise<[Float32Array | Int32Array, Float32Array | Int32Array]> {
  const run = async () => {
    const t = tf.tidy(f);
    const v = (await t.data()) as Float32Array | Int32Array;
    t.dispose();
    return v;
  };
  return [await onBackend('webgpu', run), await onBackend('cpu', run)];
}

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));

describe.skipIf(!probe.adapter)('webgpu kernels', () => {
  useWebGpuSuite();

  it('UnsortedSegmentSum: repeated and out-of-range ids, inner dims, int32; 2 dispatches', async () => {
    const ids = [3, 0, 3, 7, -1, 3, 9, 0];
    for (const [shape, dtype] of [
      [[8, 5], 'float32'],
      [[8, 2, 3], 'float32'],
      [[8], 'float32'],
      [[8, 4], 'int32'],
    ] as const) {
      const size = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const data = dtype === 'int32' ? Int32Array.from(values(size, 1), (v) => Math.round(v * 10)) : values(size, 1);
      const [gpu, cpu] = await both(() => tf.unsortedSegmentSum(tf.tensor(data, [...shape], dtype), tf.tensor1d(ids, 'int32'), 9));
      expect(maxRelError(gpu, cpu), `shape [${shape}] ${dtype}`).toBeLessThanOrEqual(1e-6);
    }
    const counts = await onBackend('webgpu', () =>
      countWebGpu(async () => {
        const y = tf.unsortedSegmentSum(tf.tensor2d(values(40, 2), [8, 5]), tf.tensor1d(ids, 'int32'), 9);
        await y.data();
        y.dispose();
      }),
    );
    expect(counts.counts.byKernel.UnsortedSegmentSum).toBe(2);
  });

  it('the gradient of gather (an embedding table) matches cpu', async () => {
    const [gpu, cpu] = await both(() => {
      const table = tf.tensor2d(values(50 * 6, 3), [50, 6]);
      const idx = tf.tensor2d([1, 4, 4, 0, 49, 4, 7, 1], [2, 4], 'int32');
      const w = tf.tensor3d(values(48, 4), [2, 4, 6]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), w)))(table);
    });
    expect(maxRelError(gpu, cpu)).toBeLessThanOrEqual(1e-6);
  });

  it('Cast int32/bool → float32, then a rank-3 transpose (tfjs shares the int buffer and the program fails)', async () => {
    // Over 1,000 elements, so that tfjs runs the ops on the GPU rather than on the host copies.
    const [gpu, cpu] = await both(() => {
      const ids = tf.tensor3d(Int32Array.from({ length: 1280 }, (_, i) => (i * 5) % 7), [4, 16, 20], 'int32');
      const mask = tf.cast(tf.greater(ids, 2), 'float32');
      return tf.add(tf.transpose(tf.cast(tf.add(ids, 1), 'float32'), [0, 2, 1]), tf.transpose(mask, [0, 2, 1]));
    });
    expect(Array.from(gpu)).toEqual(Array.from(cpu));
  });

  it('Transpose that moves no data shares the buffer (no dispatch) and keeps values', async () => {
    const [gpu, cpu] = await both(() => tf.transpose(tf.tensor3d(values(12, 5), [3, 1, 4]), [1, 0, 2]));
    expect(Array.from(gpu)).toEqual(Array.from(cpu));
    const { counts } = await onBackend('webgpu', () =>
      countWebGpu(async () => {
        const x = tf.add(tf.tensor3d(values(12, 5), [3, 1, 4]), 1); // on the GPU
        const y = tf.transpose(x, [1, 0, 2]);
        await y.data();
        tf.dispose([x, y]);
      }),
    );
    expect(counts.byKernel.Transpose ?? 0).toBe(0);
  });

  it('AddN of 20 tensors (more storage buffers than a stage may bind) matches cpu', async () => {
    const [gpu, cpu] = await both(() => tf.addN(Array.from({ length: 20 }, (_, i) => tf.tensor1d(values(33, i)))));
    expect(maxRelError(gpu, cpu)).toBeLessThanOrEqual(1e-6);
  });

  it('the gradient of mean matches cpu on every axis choice', async () => {
    for (const axis of [undefined, 0, 1, [0, 2], -1]) {
      const [gpu, cpu] = await both(() => {
        const x = tf.tensor3d(values(60, 6), [3, 4, 5]);
        const w = tf.tensor3d(values(60, 7), [3, 4, 5]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(tf.mul(t, w), axis, true), tf.mean(t, axis, true))))(x);
      });
      expect(maxRelError(gpu, cpu), `axis ${JSON.stringify(axis)}`).toBeLessThanOrEqual(1e-5);
    }
  });

  it('host uploads (float32, int32, bool) go into pooled buffers: right values, no new buffer once warm', async () => {
    await onBackend('webgpu', async () => {
      const upload = async (k: number) => {
        const f = tf.tensor1d(values(300, k));
        const i = tf.tensor1d(Int32Array.from({ length: 300 }, (_, j) => j * k - 7), 'int32');
        const b = tf.tensor1d(Array.from({ length: 300 }, (_, j) => (j + k) % 3 === 0), 'bool');
        const sum = tf.tidy(() => tf.add(tf.add(f, tf.cast(i, 'float32')), tf.cast(b, 'float32'))); // forces all three up
        const got = (await sum.data()) as Float32Array;
        tf.dispose([f, i, b, sum]);
        return got;
      };
      const want = (k: number) => Float32Array.from({ length: 300 }, (_, j) => Math.fround(Math.fround(values(300, k)[j] + (j * k - 7)) + ((j + k) % 3 === 0 ? 1 : 0)));
      expect(maxRelError(await upload(2), want(2))).toBeLessThanOrEqual(1e-6);
      await upload(4); // the pool holds every size by now
      const { result, counts } = await countWebGpu(() => upload(3));
      expect(maxRelError(result, want(3))).toBeLessThanOrEqual(1e-6);
      expect(counts.buffersCreated).toBe(0);
    });
  });
});
