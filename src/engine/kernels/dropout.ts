/**
 * Seeded inverted dropout as one kernel, `MmctrDropout` (x → x / keep where kept, 0 elsewhere; keep = 1 − rate),
 * whose keep decision for element i is a hash of (seed, i): a counter-based generator, so the mask is a pure
 * function of the seed and the element's index — on any number of threads, and recomputed (not stored) by the
 * gradient, which is the same kernel applied to dy with the same attributes.
 *
 * Why: `tf.dropout` draws its uniform numbers one by one in JS (seedrandom's alea) and then runs four full-size
 * kernels (add, floor, div, mul). In the baseline DIN's training step that was ~50M JS draws per step (the
 * attention MLP's [65,536 × 512] and [65,536 × 256] activations), the largest cost after the matrix products.
 * Here: one pass, no random tensor; natively (src/engine/nativeKernels.ts) on every core.
 *
 * Hash (32-bit, exact in JS and C++): k1 = fmix32(seed ^ 0x9e3779b9), k2 = fmix32(k1 ^ 0x85ebca6b),
 * h(i) = fmix32(fmix32((i·0x9e3779b1 + k1) mod 2³²) ^ k2) (murmur3's finaliser); element i is kept when
 * h(i) < ⌊keep·2³²⌋. The outer round makes two seeds whose inner sequences overlap (shifted) still differ.
 * The JS kernel (`cpu`, `wasm`) and the native one give the same masks and values (tested).
 *
 * Semantics against `tf.dropout`: the same distribution and scaling (x / keep in float32), other random draws;
 * a dropped NaN gives 0 (tf.dropout gives NaN).
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { MmctrError } from '../../errors';
import { storeFor, type CpuBackendName, type KernelArgs } from './storage';

/** The kernel's name in the tfjs registry. */
export const DROPOUT_KERNEL = 'MmctrDropout';

/** murmur3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The two keys of a seed (any integer; taken mod 2³²). */
export function dropoutKeys(seed: number): [number, number] {
  const k1 = fmix32((seed ^ 0x9e3779b9) >>> 0);
  return [k1, fmix32((k1 ^ 0x85ebca6b) >>> 0)];
}

/** ⌊keep·2³²⌋: element i is kept when its hash is below this. */
export function keepThreshold(rate: number): number {
  return Math.floor((1 - rate) * 4294967296);
}

/** The hash of element i (see the file comment). */
export function dropoutHash(i: number, k1: number, k2: number): number {
  return fmix32((fmix32((Math.imul(i, 0x9e3779b1) + k1) >>> 0) ^ k2) >>> 0);
}

/** out[i] = x[i] / keep where element i is kept, else 0 (JS; the native kernel does the same on every core). */
export function dropoutInto(x: ArrayLike<number>, out: Float32Array, rate: number, seed: number): void {
  const [k1, k2] = dropoutKeys(seed);
  const threshold = keepThreshold(rate);
  const keep = Math.fround(1 - rate);
  for (let i = 0; i < out.length; i++) {
    out[i] = dropoutHash(i, k1, k2) < threshold ? x[i] / keep : 0;
  }
}

export interface DropoutAttrs {
  /** Fraction dropped, in [0, 1). */
  rate: number;
  /** Any integer; the mask is a function of it. */
  seed: number;
}

export function checkDropoutAttrs(attrs: NamedAttrMap): DropoutAttrs {
  const rate = Number(attrs.rate);
  const seed = Number(attrs.seed);
  if (!(rate >= 0 && rate < 1)) throw new MmctrError(`${DROPOUT_KERNEL}: rate must be in [0, 1), got ${attrs.rate}`);
  if (!Number.isInteger(seed)) throw new MmctrError(`${DROPOUT_KERNEL}: seed must be an integer, got ${attrs.seed}`);
  return { rate, seed };
}

/** The JS kernel for `cpu` or `wasm` (float32 only; anything else is cast first). */
export function makeDropoutKernel(backendName: CpuBackendName): KernelConfig {
  const kernelFunc = (args: KernelArgs): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const { rate, seed } = checkDropoutAttrs(args.attrs);
    if (x.dtype !== 'float32') throw new MmctrError(`${DROPOUT_KERNEL}: x must be float32, got ${x.dtype}`);
    const store = storeFor(backendName, args.backend);
    const out = store.alloc(x.shape, 'float32');
    dropoutInto(store.values(x), store.values(out) as Float32Array, rate, seed);
    return out;
  };
  return { kernelName: DROPOUT_KERNEL, backendName, kernelFunc: kernelFunc as unknown as KernelConfig['kernelFunc'] };
}

/** d/dx of the dropout is the same dropout applied to dy (the mask is recomputed from the seed). */
export const dropoutGradConfig: GradConfig = {
  kernelName: DROPOUT_KERNEL,
  gradFunc: (dy, _saved, attrs) => ({
    x: () => tf.engine().runKernel(DROPOUT_KERNEL, { x: dy as tf.Tensor }, attrs as NamedAttrMap) as tf.Tensor,
  }),
};

/** Whether the active backend (or `backendName`) has the kernel. */
export function hasSeededDropout(backendName = tf.getBackend()): boolean {
  return tf.getKernel(DROPOUT_KERNEL, backendName) !== undefined && tf.getGradient(DROPOUT_KERNEL) !== undefined;
}

/** Inverted dropout of a float32 tensor with a hashed mask (see the file comment); needs `hasSeededDropout()`. */
export function seededDropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  const xf = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  return tf.engine().runKernel(DROPOUT_KERNEL, { x: xf }, { rate, seed: seed | 0 }) as T;
}
