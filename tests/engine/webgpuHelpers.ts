/** Shared by the webgpu tests: the suite set-up, backend switching and the error measure. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect } from 'vitest';
import { selectBackend } from '../../src/engine/backend';
import { webGpuErrors } from '../../src/engine/webgpu';

/**
 * Inside a `describe`: starts the project's webgpu backend (lavapipe without a GPU) with its uncaptured errors
 * collected, leaves `cpu` active between tests (each test switches with `onBackend`), and checks at the end that
 * no uncaptured WebGPU error happened.
 */
export function useWebGpuSuite(): void {
  beforeAll(async () => {
    await selectBackend({ quiet: true, force: 'webgpu' });
    webGpuErrors(true);
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
    expect(webGpuErrors()).toEqual([]);
  });
}

/**
 * Normwise relative error ‖a − b‖∞ / max(‖b‖∞, floor) (all-zero `b` and floor 0: absolute). Elementwise relative
 * errors blow up on entries that are zero up to rounding (sums that cancel), which says nothing about the kernel.
 */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(b[i]));
  }
  scale = Math.max(scale, floor);
  return scale > 0 ? diff / scale : diff;
}

/** Runs `f` with `backend` active, then switches back. */
export async function onBackend<T>(backend: string, f: () => T | Promise<T>): Promise<T> {
  const before = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await f();
  } finally {
    await tf.setBackend(before);
  }
}
