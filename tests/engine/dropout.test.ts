/**
 * The hashed-mask dropout kernel (src/engine/kernels/dropout.ts): values, keep rate, independence of seeds,
 * determinism, the gradient, and bit-identical masks on every implementation (JS on `cpu` and `wasm`, native on
 * both hosts, one thread or all).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DROPOUT_KERNEL,
  hasSeededDropout,
  registerProjectKernels,
  seededDropout,
  unregisterProjectKernels,
} from '../../src/engine/kernels';
import { dropoutHash, dropoutKeys, fmix32, keepThreshold } from '../../src/engine/kernels/dropout';
import { loadNative, nativeCallCounts, nativeStatus, registerNativeKernels, unregisterNativeKernels } from '../../src/engine/native';
import { dropoutIf } from '../../src/models/layers/common';
import { seedRandomOps } from '../../src/util/opSeeds';

const N = 200_003; // above the native threads' grain, odd
const X = Float32Array.from({ length: N }, (_, i) => 1 + (i % 97) / 7);

/** Index of the first element where a and b differ (bit for bit, NaN-aware), or -1. */
function firstDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function run(rate: number, seed: number, x: Float32Array = X): Float32Array {
  return tf.tidy(() => Float32Array.from(seededDropout(tf.tensor1d(x), rate, seed).dataSync()));
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
  registerProjectKernels();
});

afterAll(async () => {
  unregisterNativeKernels('cpu');
  unregisterNativeKernels('wasm');
  await tf.setBackend('cpu');
});

describe('seeded dropout (JS kernel)', () => {
  it('gives x / keep or 0, keeps about 1 − rate, and is a function of the seed', () => {
    for (const rate of [0.1, 0.5]) {
      const keep = Math.fround(1 - rate);
      const y = run(rate, 42);
      let kept = 0;
      let wrong = 0;
      for (let i = 0; i < N; i++) {
        if (y[i] !== 0) {
          kept++;
          if (y[i] !== Math.fround(X[i] / keep)) wrong++;
        }
      }
      expect(wrong).toBe(0);
      const sd = Math.sqrt(N * rate * (1 - rate));
      expect(Math.abs(kept - N * (1 - rate))).toBeLessThan(5 * sd);
      expect(firstDiff(run(rate, 42), y)).toBe(-1);
      expect(firstDiff(run(rate, 43), y)).not.toBe(-1);
    }
  });

  it('two seeds give independent masks (both kept ≈ keep²), also for neighbouring seeds', () => {
    for (const [s1, s2] of [[1, 2], [7, 123456789], [0, -1]]) {
      const a = run(0.5, s1);
      const b = run(0.5, s2);
      let both = 0;
      for (let i = 0; i < N; i++) if (a[i] !== 0 && b[i] !== 0) both++;
      const sd = Math.sqrt(N * 0.25 * 0.75);
      expect(Math.abs(both - N * 0.25), `seeds ${s1}, ${s2}`).toBeLessThan(5 * sd);
    }
  });

  it('the hash is as documented (murmur3 finaliser, two rounds)', () => {
    expect(fmix32(0)).toBe(0);
    expect(fmix32(1)).toBe(0x514e28b7);
    const [k1, k2] = dropoutKeys(5);
    expect(dropoutHash(3, k1, k2)).toBe(fmix32((fmix32((Math.imul(3, 0x9e3779b1) + k1) >>> 0) ^ k2) >>> 0));
    expect(keepThreshold(0.5)).toBe(2 ** 31);
  });

  it('its gradient is the same mask over dy, scaled by 1 / keep', () => {
    const x = tf.variable(tf.tensor1d(X.subarray(0, 1000)));
    const { grads } = tf.variableGrads(() => tf.sum(seededDropout(x, 0.3, 9)) as tf.Scalar, [x]);
    const g = grads[x.name].dataSync();
    const y = run(0.3, 9, X.subarray(0, 1000));
    const keep = Math.fround(0.7);
    for (let i = 0; i < 1000; i++) expect(g[i]).toBe(y[i] === 0 ? 0 : Math.fround(1 / keep));
    tf.dispose([x, grads[x.name]]);
  });

  it('dropoutIf: the kernel where registered (seeded by the op stream), tf.dropout elsewhere, identity at inference', () => {
    const x = tf.ones([5000]);
    seedRandomOps('test/0');
    const a = dropoutIf(x, 0.5, true).dataSync();
    seedRandomOps('test/0');
    const b = dropoutIf(x, 0.5, true).dataSync();
    seedRandomOps(null);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(dropoutIf(x, 0.5, false)).toBe(x);
    expect(hasSeededDropout('cpu')).toBe(true);
    unregisterProjectKernels();
    try {
      expect(hasSeededDropout('cpu')).toBe(false);
      const c = dropoutIf(x, 0.5, true).dataSync(); // tf.dropout: values 0 or 2 as well
      expect(new Set(Array.from(c))).toEqual(new Set([0, 2]));
    } finally {
      registerProjectKernels();
    }
    x.dispose();
  });

  it('wasm gives the same values as cpu, bit for bit', async () => {
    const ref = run(0.1, 77);
    await tf.setBackend('wasm');
    try {
      expect(tf.getKernel(DROPOUT_KERNEL, 'wasm')).toBeDefined();
      expect(firstDiff(run(0.1, 77), ref)).toBe(-1);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});

const status = nativeStatus();
describe.skipIf(!status.available)(`seeded dropout (native)${status.available ? '' : ` — SKIPPED: ${status.reason}`}`, () => {
  it('the same masks and values as the JS kernel on both hosts, on one thread or all', async () => {
    const ref = run(0.1, 1234);
    const addon = loadNative()!;
    const threads = addon.info().threads;
    for (const host of ['wasm', 'cpu'] as const) {
      await tf.setBackend(host);
      registerNativeKernels(host);
      try {
        for (const t of [threads, 1]) {
          addon.setNumThreads(t);
          nativeCallCounts(true);
          expect(firstDiff(run(0.1, 1234), ref), `${host}, ${t} threads`).toBe(-1);
          expect(nativeCallCounts(true).native[DROPOUT_KERNEL], host).toBe(1);
        }
      } finally {
        addon.setNumThreads(threads);
        unregisterNativeKernels(host);
      }
    }
    await tf.setBackend('cpu');
  });
});
