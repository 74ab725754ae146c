/** Shared by the webgpu tests: backend switching and the error measure. */
import * as tf from '@tensorflow/tfjs';

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
