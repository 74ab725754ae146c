/**
 * Plain-JS arithmetic for the hand-computed reference cases: nothing here touches tfjs, so a layer is checked
 * against an independent code path.
 */
import type * as tf from '@tensorflow/tfjs';

export type Vec = number[];
export type Mat = number[][];

export const matVec = (x: Vec, w: Mat): Vec => w[0].map((_, j) => x.reduce((s, xi, i) => s + xi * w[i][j], 0)); // x·W, W [in, out]
export const add = (a: Vec, b: Vec): Vec => a.map((v, i) => v + b[i]);
export const sub = (a: Vec, b: Vec): Vec => a.map((v, i) => v - b[i]);
export const mul = (a: Vec, b: Vec): Vec => a.map((v, i) => v * b[i]);
export const scale = (a: Vec, s: number): Vec => a.map((v) => v * s);
export const dot = (a: Vec, b: Vec): number => a.reduce((s, v, i) => s + v * b[i], 0);
export const relu = (a: Vec): Vec => a.map((v) => Math.max(0, v));
export const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
export const tanh = (a: Vec): Vec => a.map(Math.tanh);
export const sum = (a: Vec): number => a.reduce((s, v) => s + v, 0);
export const mean = (a: Vec): number => sum(a) / a.length;
export const transpose = (m: Mat): Mat => m[0].map((_, j) => m.map((row) => row[j]));
export const softmax = (a: Vec): Vec => {
  const m = Math.max(...a);
  const e = a.map((v) => Math.exp(v - m));
  const s = sum(e);
  return e.map((v) => v / s);
};
export const layerNorm = (a: Vec, gamma: Vec, beta: Vec, eps: number): Vec => {
  const mu = mean(a);
  const variance = mean(a.map((v) => (v - mu) ** 2));
  return a.map((v, i) => ((v - mu) / Math.sqrt(variance + eps)) * gamma[i] + beta[i]);
};

/** Nested arrays of a tensor. */
export function arr<T = number[][]>(t: tf.Tensor): T {
  return t.arraySync() as T;
}

/** Asserts two nested number arrays are equal within tol, with a path in the message. */
export function expectClose(actual: unknown, expected: unknown, tol = 1e-5, path = ''): void {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      throw new Error(`shape mismatch at ${path || 'root'}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
    }
    expected.forEach((e, i) => expectClose(actual[i], e, tol, `${path}[${i}]`));
    return;
  }
  const a = actual as number;
  const e = expected as number;
  if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
    throw new Error(`value mismatch at ${path || 'root'}: got ${a}, expected ${e}`);
  }
}
