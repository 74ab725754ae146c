/**
 * Each project kernel against a reference, on `cpu` and `wasm`: the backend's original kernel (run with the
 * project kernels removed) or, where there is none (wasm UnsortedSegmentSum), a plain-JS implementation and the
 * cpu backend's original results.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProjectKernels, unregisterProjectKernels, installedProjectKernels } from '../../src/engine/kernels';

type Arr = number[] | Uint8Array | Int32Array | Float32Array;

interface Result {
  shape: number[];
  dtype: string;
  values: number[];
}

function read(t: tf.Tensor | tf.Tensor[]): Result[] {
  const list = Array.isArray(t) ? t : [t];
  const out = list.map((x) => ({ shape: x.shape, dtype: x.dtype, values: Array.from(x.dataSync() as Arr) }));
  tf.dispose(list);
  return out;
}

/** Runs `f` with tfjs's own kernels, then with the project's; returns both. */
function both(f: () => tf.Tensor | tf.Tensor[]): { original: Result[]; project: Result[] } {
  unregisterProjectKernels();
  const original = read(tf.tidy(f));
  registerProjectKernels();
  const project = read(tf.tidy(f));
  return { original, project };
}

function expectSame(a: Result[], b: Result[], tol = 0): void {
  expect(b.length).toBe(a.length);
  a.forEach((r, i) => {
    expect(b[i].shape).toEqual(r.shape);
    expect(b[i].dtype).toBe(r.dtype);
    if (tol === 0) {
      expect(b[i].values).toEqual(r.values);
    } else {
      r.values.forEach((v, j) => expect(Math.abs(b[i].values[j] - v)).toBeLessThanOrEqual(tol * (1 + Math.abs(v))));
    }
  });
}

const rand = (shape: number[], seed: number, dtype: 'float32' | 'int32' | 'bool' = 'float32') => {
  const x = tf.randomUniform(shape, -5, 5, 'float32', seed);
  if (dtype === 'float32') return x;
  if (dtype === 'int32') return tf.cast(tf.round(x), 'int32');
  return tf.greater(x, 0);
};
/** Segment ids / indices; typed as Tensor1D because tf.unsortedSegmentSum declares 1-D ids (the kernel takes any prefix). */
const ints = (values: number[], shape?: number[]) => tf.tensor(values, shape ?? [values.length], 'int32') as tf.Tensor as tf.Tensor1D;

/** Plain-JS unsorted segment sum (TensorFlow semantics: ids out of range dropped). */
function segmentSumRef(x: number[], xShape: number[], ids: number[], numSegments: number): number[] {
  const inner = xShape.slice(ids.length === 0 ? 1 : idsRank(xShape, ids)).reduce((p, d) => p * d, 1);
  const out = new Array<number>(numSegments * inner).fill(0);
  ids.forEach((s, i) => {
    if (s < 0 || s >= numSegments) return;
    for (let j = 0; j < inner; j++) out[s * inner + j] += x[i * inner + j];
  });
  return out;
}
/** Rank of the ids prefix: the ids cover the first dims of x whose product is ids.length. */
function idsRank(xShape: number[], ids: number[]): number {
  let n = 1;
  for (let r = 0; r < xShape.length; r++) {
    n *= xShape[r];
    if (n === ids.length) return r + 1;
  }
  return xShape.length;
}

interface SegCase {
  name: string;
  x: () => tf.Tensor;
  ids: number[];
  idsShape?: number[];
  numSegments: number;
}

const SEG_CASES: SegCase[] = [
  { name: '1-D float, duplicates', x: () => tf.tensor1d([1, 2, 3, 4, 5]), ids: [1, 1, 0, 3, 1], numSegments: 4 },
  { name: '2-D rows (embedding gradient)', x: () => rand([6, 3], 1), ids: [2, 0, 2, 5, 2, 1], numSegments: 7 },
  { name: 'int32 data', x: () => rand([5, 2], 2, 'int32'), ids: [0, 4, 4, 1, 0], numSegments: 5 },
  { name: 'multi-dim segment rows', x: () => rand([4, 2, 3], 3), ids: [1, 0, 1, 1], numSegments: 2 },
  { name: 'negative and out-of-range ids are dropped', x: () => rand([5, 2], 4), ids: [-1, 0, 3, 9, 2], numSegments: 3 },
  { name: 'more segments than ids', x: () => rand([2, 4], 5), ids: [9, 0], numSegments: 12 },
];

describe.each(['cpu', 'wasm'] as const)('project kernels on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    registerProjectKernels();
  });
  afterAll(() => registerProjectKernels());

  describe('UnsortedSegmentSum', () => {
    // The cpu backend's original kernel, run once on cpu before ours replaces it, is the second reference.
    const cpuOriginal = new Map<string, Result>();
    beforeAll(async () => {
      unregisterProjectKernels();
      await tf.setBackend('cpu');
      for (const c of SEG_CASES) {
        cpuOriginal.set(c.name, read(tf.tidy(() => tf.unsortedSegmentSum(c.x(), ints(c.ids, c.idsShape), c.numSegments)))[0]);
      }
      registerProjectKernels();
      await tf.setBackend(backend);
    });

    it.each(SEG_CASES)('$name', (c) => {
      const x = c.x();
      const [got] = read(tf.unsortedSegmentSum(x, ints(c.ids, c.idsShape), c.numSegments));
      const ref = segmentSumRef(Array.from(x.dataSync()), x.shape, c.ids, c.numSegments);
      expect(got.shape).toEqual([c.numSegments, ...x.shape.slice(1)]);
      got.values.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 4));
      // Same values as tfjs's cpu kernel; its dtype is float32 even for int32 data, ours keeps int32 (TensorFlow).
      const orig = cpuOriginal.get(c.name)!;
      expect(got.shape).toEqual(orig.shape);
      got.values.forEach((v, i) => expect(v).toBeCloseTo(orig.values[i], 4));
      expect(got.dtype).toBe(x.dtype);
      x.dispose();
    });

    it('ids of rank 2 address the first two dims of x (TensorFlow semantics)', () => {
      const x = rand([2, 3, 4], 6);
      const ids = [0, 2, 2, 1, 0, 2];
      const [got] = read(tf.unsortedSegmentSum(x, ints(ids, [2, 3]), 3));
      expect(got.shape).toEqual([3, 4]);
      const ref = segmentSumRef(Array.from(x.dataSync()), x.shape, ids, 3);
      got.values.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 4));
      x.dispose();
    });

    it('rejects ids whose shape is not a prefix of x', () => {
      expect(() => tf.unsortedSegmentSum(rand([4, 2], 7), ints([0, 1, 2]), 3)).toThrow(/prefix/);
    });
  });

  describe('GatherV2', () => {
    const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
      ['2-D table, 2-D ids with duplicates', () => tf.gather(rand([10, 4], 11), ints([1, 3, 3, 9, 0, 1], [2, 3]))],
      ['axis 1', () => tf.gather(rand([3, 5, 2], 12), ints([4, 0, 4]), 1)],
      ['last axis', () => tf.gather(rand([3, 5], 13), ints([1, 1, 2, 0]), 1)],
      ['batchDims 1', () => tf.gather(rand([2, 5, 3], 14), ints([0, 4, 2, 2], [2, 2]), 1, 1)],
      ['int32 table', () => tf.gather(rand([6, 2], 15, 'int32'), ints([5, 0, 5]))],
      ['bool table', () => tf.gather(rand([6, 3], 16, 'bool'), ints([2, 2, 1]))],
      ['1-D x, scalar index', () => tf.gather(rand([7], 17), tf.scalar(3, 'int32'))],
      ['empty indices', () => tf.gather(rand([4, 3], 18), tf.tensor1d([], 'int32'))],
    ];
    it.each(cases)('%s matches the original', (_n, f) => {
      const { original, project } = both(f);
      expectSame(original, project);
    });
    it('an index out of range throws as tfjs does', () => {
      expect(() => tf.gather(rand([4, 2], 19), ints([0, 4]))).toThrow(/index value 4 is not in \[0, 3\]/);
      expect(() => tf.gather(rand([4, 2], 19), ints([-1]))).toThrow(/not in \[0, 3\]/);
    });
  });

  describe('Tile', () => {
    const cases: [string, () => tf.Tensor][] = [
      ['target over history [b,1,e] x [1,h,1]', () => tf.tile(rand([3, 1, 4], 21), [1, 5, 1])],
      ['2-D both axes', () => tf.tile(rand([2, 3], 22), [3, 2])],
      ['1-D', () => tf.tile(rand([4], 23), [3])],
      ['4-D mixed', () => tf.tile(rand([2, 1, 3, 2], 24), [2, 3, 1, 2])],
      ['int32', () => tf.tile(rand([2, 2], 25, 'int32'), [2, 3])],
      ['bool', () => tf.tile(rand([3, 1], 26, 'bool'), [1, 4])],
      ['reps all 1', () => tf.tile(rand([2, 3], 27), [1, 1])],
    ];
    it.each(cases)('%s matches the original', (_n, f) => {
      const { original, project } = both(f);
      expectSame(original, project);
    });
  });

  describe('Slice and SplitV', () => {
    const x3 = () => rand([4, 5, 6], 31);
    const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
      ['inner block', () => tf.slice(x3(), [1, 2, 3], [2, 2, 3])],
      ['whole inner axes (one run)', () => tf.slice(x3(), [1, 0, 0], [2, -1, -1])],
      ['middle axis whole', () => tf.slice(x3(), [0, 0, 2], [-1, -1, 2])],
      ['1-D', () => tf.slice(rand([9], 32), [2], [5])],
      ['5-D', () => tf.slice(rand([2, 3, 2, 3, 4], 33), [1, 1, 0, 1, 1], [1, 2, 2, 2, 2])],
      ['int32', () => tf.slice(rand([4, 6], 34, 'int32'), [1, 2], [3, 3])],
      ['bool', () => tf.slice(rand([4, 6], 35, 'bool'), [0, 1], [2, 4])],
      ['empty', () => tf.slice(x3(), [1, 1, 1], [0, 2, 2])],
      ['split last axis in 4 (concat gradient)', () => tf.split(rand([3, 2, 8], 36), 4, 2)],
      ['split sizes with -1', () => tf.split(rand([7, 3], 37), [1, 2, -1], 0)],
      ['split middle axis', () => tf.split(rand([2, 6, 3], 38), [2, 4], 1)],
      ['split int32', () => tf.split(rand([4, 4], 39, 'int32'), 2, 1)],
    ];
    it.each(cases)('%s matches the original', (_n, f) => {
      const { original, project } = both(f);
      expectSame(original, project);
    });
  });

  describe('Transpose', () => {
    const perms3 = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    const cases: [string, () => tf.Tensor][] = [
      ['2-D', () => tf.transpose(rand([37, 45], 41))],
      ...perms3.map((p): [string, () => tf.Tensor] => [`3-D perm ${p}`, () => tf.transpose(rand([3, 4, 5], 42), p)]),
      ['4-D', () => tf.transpose(rand([2, 3, 4, 5], 43), [3, 1, 0, 2])],
      ['size-1 axes only move (shared data)', () => tf.transpose(rand([3, 1, 4], 44), [1, 0, 2])],
      ['int32', () => tf.transpose(rand([3, 5], 45, 'int32'))],
      ['bool', () => tf.transpose(rand([2, 3, 2], 46, 'bool'), [2, 0, 1])],
    ];
    it.each(cases)('%s matches the original', (_n, f) => {
      const { original, project } = both(f);
      expectSame(original, project);
    });
  });

  describe('Sum', () => {
    const cases: [string, () => tf.Tensor][] = [
      ['axis 0 of 2-D (bias gradient)', () => tf.sum(rand([50, 7], 51), 0)],
      ['middle axis of 3-D (pooling)', () => tf.sum(rand([4, 6, 5], 52), 1)],
      ['leading axes 0,1 of 3-D', () => tf.sum(rand([4, 6, 5], 53), [0, 1])],
      ['keepDims', () => tf.sum(rand([4, 6, 5], 54), 1, true)],
      ['last axis (original path)', () => tf.sum(rand([4, 6], 55), -1)],
      ['non-contiguous axes (original path)', () => tf.sum(rand([3, 4, 5], 56), [0, 2])],
      ['non-contiguous leading axes (original path)', () => tf.sum(rand([2, 3, 4, 5], 59), [0, 2])],
      ['int32', () => tf.sum(rand([5, 4], 57, 'int32'), 0)],
      ['bool', () => tf.sum(rand([5, 4], 58, 'bool'), 0)],
    ];
    it.each(cases)('%s matches the original', (_n, f) => {
      const { original, project } = both(f);
      expectSame(original, project, 1e-5);
    });
  });

  it('shared outputs (Identity, Transpose without data movement) outlive their input', () => {
    const a = tf.tensor2d([[1, 2, 3]]);
    const b = tf.clone(a);
    const c = tf.transpose(a);
    a.dispose();
    expect(b.shape).toEqual([1, 3]);
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    expect(c.shape).toEqual([3, 1]);
    tf.dispose([b, c]);
  });

  it('a [k,1] weight and its transpose give right products in turn (wasm caches packed weights by tensor id)', () => {
    const w = tf.tensor2d([[1], [2], [3]]); // [3, 1]
    const x = tf.tensor2d([[1, 1, 1]]); // [1, 3]
    const y = tf.tensor2d([[2], [5]]); // [2, 1]
    expect(Array.from(tf.matMul(x, w).dataSync())).toEqual([6]);
    expect(Array.from(tf.matMul(y, tf.transpose(w)).dataSync())).toEqual([2, 4, 6, 5, 10, 15]);
    expect(Array.from(tf.matMul(y, w, false, true).dataSync())).toEqual([2, 4, 6, 5, 10, 15]);
    tf.dispose([w, x, y]);
  });

  it('kernels leak no backend memory', () => {
    const x = rand([8, 6], 61);
    const ids = ints([1, 7, 7, 0]);
    const run = () =>
      tf.tidy(() => {
        const g = tf.gather(x, ids);
        const parts = tf.split(tf.tile(g, [1, 2]), 3, 1);
        return tf.sum(tf.transpose(tf.unsortedSegmentSum(parts[0], ids, 8)), 0);
      });
    run().dispose();
    const before = tf.engine().backend.numDataIds();
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run().dispose();
    expect(tf.engine().backend.numDataIds()).toBe(before);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([x, ids]);
  });
});

describe('registration', () => {
  it('is idempotent and reversible', () => {
    registerProjectKernels();
    const installed = installedProjectKernels();
    expect(installed).toContain('wasm/UnsortedSegmentSum');
    expect(installed).toContain('cpu/UnsortedSegmentSum');
    expect(installed).toContain('wasm/BatchMatMul');
    expect(installed).toContain('grad/BatchMatMul');
    const kernel = tf.getKernel('BatchMatMul', 'wasm');
    registerProjectKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(kernel);
    expect(installedProjectKernels()).toEqual(installed);
    unregisterProjectKernels();
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined();
    expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(kernel);
    expect(installedProjectKernels()).toEqual([]);
    registerProjectKernels();
    expect(installedProjectKernels()).toEqual(installed);
  });
});
