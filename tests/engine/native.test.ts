/**
 * The native kernels (src/engine/native.ts) against tfjs's own `cpu` kernels, on both hosts (`wasm` heap and JS
 * `cpu` arrays): forward values and gradients through `tf.variableGrads`, rel. error ≤ 1e-5. Each case also checks
 * that the native path ran (call counts), so a silent fallback fails the test. Skipped only when the addon is not
 * built (`node native/build.mjs`).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadNative,
  nativeBackends,
  nativeCallCounts,
  nativeStatus,
  registerNativeKernels,
  unregisterNativeKernels,
} from '../../src/engine/native';

const status = nativeStatus();
/** tfjs's own Relu gradient, before anything is registered. */
const TFJS_RELU_GRAD = tf.getGradient('Relu');
const NOT_BUILT = !status.available;
const SKIP_REASON = NOT_BUILT ? ` — SKIPPED: native addon unavailable (${status.reason})` : '';

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Spec {
  shape: number[];
  dtype?: 'float32' | 'int32';
  /** Values in [lo, hi) (floats) or integers in [lo, hi). Default [-2, 2). */
  range?: [number, number];
}

function makeData(specs: Spec[], seed: number): (Float32Array | Int32Array)[] {
  const r = rng(seed);
  return specs.map(({ shape, dtype = 'float32', range = [-2, 2] }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (dtype === 'int32') return Int32Array.from({ length: n }, () => range[0] + Math.floor(r() * (range[1] - range[0])));
    return Float32Array.from({ length: n }, () => range[0] + r() * (range[1] - range[0]));
  });
}

type Mode = 'reference' | 'native-wasm' | 'native-cpu';

/** Switches backend and kernels for one mode; reference = tfjs `cpu` with its own kernels. */
async function enter(mode: Mode): Promise<void> {
  unregisterNativeKernels('cpu');
  unregisterNativeKernels('wasm');
  if (mode === 'reference') {
    await tf.setBackend('cpu');
  } else if (mode === 'native-wasm') {
    await tf.setBackend('wasm');
    registerNativeKernels('wasm', { minSize: 0 });
  } else {
    await tf.setBackend('cpu');
    registerNativeKernels('cpu', { minSize: 0 });
  }
}

/** Runs `f` on fresh tensors in a mode; returns the outputs' values. */
async function runIn(
  mode: Mode,
  specs: Spec[],
  data: (Float32Array | Int32Array)[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await enter(mode);
  return tf.tidy(() => {
    const xs = specs.map((s, i) => tf.tensor(data[i], s.shape, s.dtype ?? 'float32'));
    const out = f(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
  });
}

/** max |a − b| / max |b|: error relative to the reference's scale. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) {
      if (!Number.isNaN(a[i])) return Infinity;
      continue;
    }
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/**
 * Checks `f` on both native hosts against the reference, and that `kernel` ran natively on each host at least
 * `minNative` times (set 0 for cases that must fall back correctly).
 */
async function check(
  specs: Spec[],
  f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
  kernel: string | null,
  {
    tol = 1e-5,
    seed = 1,
    hosts = ['native-wasm', 'native-cpu'] as Mode[],
    reference = f,
  }: { tol?: number; seed?: number; hosts?: Mode[]; reference?: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[] } = {},
): Promise<void> {
  const data = makeData(specs, seed);
  const ref = await runIn('reference', specs, data, reference);
  for (const mode of hosts) {
    nativeCallCounts(true);
    const got = await runIn(mode, specs, data, f);
    const counts = nativeCallCounts(true);
    expect(got.length, mode).toBe(ref.length);
    got.forEach((g, i) => expect(relErr(g, ref[i]), `${mode} output ${i}`).toBeLessThanOrEqual(tol));
    if (kernel) expect(counts.native[kernel] ?? 0, `${mode}: ${kernel} ran natively`).toBeGreaterThan(0);
  }
}

/** Value and gradients of sum(f(vars) ⊙ R) w.r.t. every float input, via tf.variableGrads. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, seed = 5): (...xs: tf.Tensor[]) => tf.Tensor[] {
  return (...xs) => {
    const vars = xs.map((x, i) => (x.dtype === 'float32' ? tf.variable(x, true, `v${seed}_${i}_${Math.random()}`) : x));
    const probe = tf.tidy(() => f(...vars));
    const r = tf.tensor(makeData([{ shape: probe.shape }], seed)[0], probe.shape);
    probe.dispose();
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(...vars), r)) as tf.Scalar);
    // Variables the function does not use (e.g. PReLU weights under another activation) have no gradient.
    const used = vars.filter((v): v is tf.Variable => v instanceof tf.Variable && grads[v.name] !== undefined);
    const out = [value, ...used.map((v) => grads[v.name])];
    vars.forEach((v) => v instanceof tf.Variable && v.dispose());
    return out;
  };
}

describe.skipIf(NOT_BUILT)(`native kernels vs tfjs cpu${SKIP_REASON}`, () => {
  beforeAll(async () => {
    await tf.setBackend('wasm'); // starts the wasm backend once
  });
  afterAll(async () => {
    unregisterNativeKernels('cpu');
    unregisterNativeKernels('wasm');
    await tf.setBackend('cpu');
  });

  it('reports OpenBLAS and its threads', () => {
    expect(status.info?.blasConfig).toMatch(/OpenBLAS/);
    expect(status.info?.threads).toBeGreaterThanOrEqual(1);
  });

  const flags: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  const [m, k, n] = [7, 5, 9];
  const aShape = (ta: boolean, batch: number[] = []) => [...batch, ...(ta ? [k, m] : [m, k])];
  const bShape = (tb: boolean, batch: number[] = []) => [...batch, ...(tb ? [n, k] : [k, n])];

  it.each(flags)('matMul 2-D, transposeA=%s transposeB=%s, with gradients', async (ta, tb) => {
    await check([{ shape: aShape(ta) }, { shape: bShape(tb) }], withGrads((a, b) => tf.matMul(a, b, ta, tb)), 'BatchMatMul');
  });

  it.each(flags)('batched matMul [3,…], transposeA=%s transposeB=%s, with gradients', async (ta, tb) => {
    await check(
      [{ shape: aShape(ta, [3]) }, { shape: bShape(tb, [3]) }],
      withGrads((a, b) => tf.matMul(a, b, ta, tb)),
      'BatchMatMul',
    );
  });

  it.each([
    [[2, 3], [], false, false], // folded into one product of 6·m rows
    [[4], [], true, false], // transposed a: not folded
    [[], [4], false, true],
    [[2, 3], [1, 1], true, true],
    [[1], [5], false, false],
  ] as [number[], number[], boolean, boolean][])('matMul broadcasting batch %j × %j (tA %s, tB %s)', async (ba, bb, ta, tb) => {
    await check([{ shape: aShape(ta, ba) }, { shape: bShape(tb, bb) }], (a, b) => tf.matMul(a, b, ta, tb), 'BatchMatMul');
  });

  it('matMul broadcasting both sides ([2,1,2] × [3,1]) equals tiling first', async () => {
    // tfjs's own kernels flatten batch dims and index them modulo, which is only right when one side has batch 1
    // or both are equal; the native kernel broadcasts per axis, so the reference tiles explicitly.
    const [ta, tb] = [true, false];
    await check(
      [{ shape: aShape(ta, [2, 1, 2]) }, { shape: bShape(tb, [3, 1]) }],
      (a, b) => tf.matMul(a, b, ta, tb),
      'BatchMatMul',
      {
        reference: (a, b) =>
          tf.matMul(tf.tile(a, [1, 3, 1, 1, 1]), tf.tile(tf.reshape(b, [1, 3, 1, k, n]), [2, 1, 2, 1, 1]), ta, tb),
      },
    );
  });

  it('many small products split over threads equal the reference', async () => {
    // 256 products of 2×16×24: the addon runs them on its own threads, one OpenBLAS call each.
    await check([{ shape: [256, 2, 16] }, { shape: [256, 16, 24] }], withGrads((a, b) => tf.matMul(a, b)), 'BatchMatMul');
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid', 'prelu'] as const;
  it.each(activations)('fused matMul + bias + %s (all transpose flags, gradients)', async (activation) => {
    for (const [ta, tb] of flags) {
      await check(
        [{ shape: aShape(ta) }, { shape: bShape(tb) }, { shape: [n] }, { shape: [n], range: [0.05, 0.5] }],
        withGrads((a, b, bias, w) =>
          tf.fused.matMul({
            a, b, bias, transposeA: ta, transposeB: tb, activation,
            preluActivationWeights: activation === 'prelu' ? w : undefined,
            leakyreluAlpha: 0.3,
          }),
        ),
        '_FusedMatMul',
        { tol: 2e-5 }, // elu/sigmoid: float32 exp vs JS double
      );
    }
  });

  it.each([
    [[1], [4, m, k]],
    [[m, n], [m, k]],
    [[4, m, n], [4, m, k]],
    [[4, 1, n], [4, m, k]],
  ])('fused matMul bias of shape %j over a %j', async (biasShape, a) => {
    await check(
      [{ shape: a }, { shape: [k, n] }, { shape: biasShape }],
      (x, w, bias) => tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' }),
      null, // some of these fall back (per-matrix bias of a folded product): values must still match
    );
  });

  it('gather rows (float32 and int32 tables, 1-D and 2-D ids) and its gradient (scatter-add)', async () => {
    await check(
      [{ shape: [50, 6] }, { shape: [4, 5], dtype: 'int32', range: [0, 50] }],
      withGrads((t, ids) => tf.gather(t, ids)),
      'GatherV2',
    );
    await check(
      [{ shape: [50, 6] }, { shape: [30], dtype: 'int32', range: [0, 50] }],
      withGrads((t, ids) => tf.gather(t, ids)),
      'UnsortedSegmentSum',
    );
    await check(
      [{ shape: [40, 3], dtype: 'int32', range: [-9, 9] }, { shape: [17], dtype: 'int32', range: [0, 40] }],
      (t, ids) => tf.gather(t, ids),
      'GatherV2',
    );
    await check([{ shape: [1, 30, 4] }, { shape: [9], dtype: 'int32', range: [0, 30] }], (t, ids) => tf.gather(t, ids, 1), 'GatherV2');
  });

  it('gather with an index out of range raises tfjs error on both hosts', async () => {
    for (const mode of ['native-wasm', 'native-cpu'] as Mode[]) {
      await enter(mode);
      const t = tf.ones([10, 4]);
      const ids = tf.tensor1d([1, 10], 'int32');
      expect(() => tf.gather(t, ids).dataSync(), mode).toThrow(/index/);
      tf.dispose([t, ids]);
    }
  });

  it('unsortedSegmentSum over inner dims and over scalars', async () => {
    await check(
      [{ shape: [12, 3, 2] }, { shape: [12], dtype: 'int32', range: [0, 5] }],
      (x, ids) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 5),
      'UnsortedSegmentSum',
    );
    await check(
      [{ shape: [40] }, { shape: [40], dtype: 'int32', range: [0, 7] }],
      (x, ids) => tf.unsortedSegmentSum(x, ids as tf.Tensor1D, 9),
      'UnsortedSegmentSum',
    );
  });

  const binaryOps: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, string][] = [
    ['add', tf.add, 'Add'],
    ['sub', tf.sub, 'Sub'],
    ['mul', tf.mul, 'Multiply'],
    ['div', tf.div, 'RealDiv'],
    ['maximum', tf.maximum, 'Maximum'],
    ['minimum', tf.minimum, 'Minimum'],
    ['squaredDifference', tf.squaredDifference, 'SquaredDifference'],
  ];
  const pairs: [number[], number[]][] = [
    [[6, 7], [6, 7]],
    [[6, 7], [7]],
    [[6, 1], [6, 7]],
    [[6, 7], []],
    [[3, 1, 5], [3, 4, 5]],
    [[4, 1], [1, 5]],
    [[2, 3, 4, 5], [3, 1, 5]],
  ];
  it.each(binaryOps)('%s with broadcasting', async (_, op, kernel) => {
    for (const [sa, sb] of pairs) {
      await check([{ shape: sa }, { shape: sb, range: [0.5, 2] }], (a, b) => op(a, b), kernel);
    }
  });

  it('element-wise gradients (add/mul/div broadcasting, relu) match', async () => {
    await check(
      [{ shape: [3, 4, 5] }, { shape: [3, 1, 5], range: [0.5, 2] }, { shape: [5], range: [0.5, 2] }],
      withGrads((a, b, c) => tf.relu(tf.div(tf.mul(tf.add(a, b), c), b))),
      'Multiply',
    );
  });

  const unaryOps: [string, (x: tf.Tensor) => tf.Tensor, string, [number, number]][] = [
    ['relu', tf.relu, 'Relu', [-2, 2]],
    ['step', (x) => tf.step(x, 0.2), 'Step', [-2, 2]],
    ['sigmoid', tf.sigmoid, 'Sigmoid', [-8, 8]],
    ['exp', tf.exp, 'Exp', [-5, 5]],
    ['log', tf.log, 'Log', [0.01, 5]],
    ['neg', tf.neg, 'Neg', [-2, 2]],
    ['sqrt', tf.sqrt, 'Sqrt', [0, 5]],
    ['rsqrt', tf.rsqrt, 'Rsqrt', [0.1, 5]],
    ['square', tf.square, 'Square', [-2, 2]],
    ['abs', tf.abs, 'Abs', [-2, 2]],
    ['tanh', tf.tanh, 'Tanh', [-4, 4]],
    ['relu6', tf.relu6, 'Relu6', [-10, 10]],
    ['log1p', tf.log1p, 'Log1p', [0, 5]],
    ['reciprocal', tf.reciprocal, 'Reciprocal', [0.5, 5]],
  ];
  it.each(unaryOps)('%s', async (_, op, kernel, range) => {
    await check([{ shape: [5, 13], range }], (x) => op(x), kernel, { tol: 2e-6 });
  });

  it('cast to the same dtype shares the data', async () => {
    await check([{ shape: [6, 7] }], (x) => tf.add(tf.cast(x, 'float32'), 1), 'Cast');
    await check([{ shape: [6, 7], dtype: 'int32' }], (x) => tf.cast(tf.cast(x, 'int32'), 'float32'), 'Cast');
  });

  it('relu gradient runs as one native pass on wasm, NaN and zeros as in tfjs', async () => {
    const specs = [{ shape: [2, 5] }, { shape: [2, 5] }];
    const data = [Float32Array.of(NaN, -1, 0, 2, -0.5, 3, 1e-30, -1e-30, 7, -7), Float32Array.of(1, 2, 3, 4, 5, NaN, 7, 8, 9, Infinity)];
    const f = (x: tf.Tensor, dy: tf.Tensor) => tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy);
    const [ref] = await runIn('reference', specs, data, f);
    nativeCallCounts(true);
    const [got] = await runIn('native-wasm', specs, data, f);
    expect(nativeCallCounts(true).native.MmctrReluGrad).toBe(1);
    expect(Array.from(got)).toEqual(Array.from(ref));
    expect(tf.getGradient('Relu')).not.toBe(TFJS_RELU_GRAD);
    unregisterNativeKernels('wasm');
    expect(tf.getGradient('Relu')).toBe(TFJS_RELU_GRAD); // tfjs's own is back
  });

  it.each([
    [0, false],
    [1, false],
    [2, true],
    [-1, false],
    [[0, 1], false],
    [[1, 2], true],
    [[0, 1, 2], false],
    [[0, 2], false], // not contiguous: falls back
  ] as [number | number[], boolean][])('sum and mean over axis %j (keepDims %s), with gradients', async (axis, keepDims) => {
    const native = Array.isArray(axis) && axis.length === 2 && axis[0] === 0 && axis[1] === 2 ? null : 'Sum';
    await check([{ shape: [4, 5, 6] }], withGrads((x) => tf.sum(x, axis, keepDims)), native);
    await check([{ shape: [4, 5, 6] }], (x) => tf.mean(x, axis, keepDims), native && 'Mean');
  });

  it('long sums stay within float32 rounding (double accumulation)', async () => {
    await check([{ shape: [70_000, 3], range: [0, 1] }], (x) => tf.sum(x, 0), 'Sum', { tol: 1e-6 });
    await check([{ shape: [3, 70_000], range: [0, 1] }], (x) => tf.sum(x, 1), 'Sum', { tol: 1e-6 });
  });

  it('concat (float32 on each axis, int32) with gradients; bool falls back', async () => {
    for (const axis of [0, 1, 2]) {
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, i) => s.map((d, j) => (j === axis ? d + i : d)));
      await check(shapes.map((shape) => ({ shape })), withGrads((...xs) => tf.concat(xs, axis)), 'Concat');
    }
    await check(
      [{ shape: [3, 4], dtype: 'int32' }, { shape: [3, 2], dtype: 'int32' }],
      (a, b) => tf.concat([a, b], 1),
      'Concat',
    );
    await check([{ shape: [3, 4] }, { shape: [3, 4] }], (a, b) => tf.concat([tf.greater(a, 0), tf.greater(b, 0)], 0), null);
  });

  it('split (sizes with -1, equal parts)', async () => {
    await check([{ shape: [4, 10, 3] }], (x) => tf.split(x, [2, -1, 5], 1), 'SplitV');
    await check([{ shape: [4, 10, 3] }], (x) => tf.split(x, 2, 0), 'SplitV');
  });

  it.each([
    [[5, 7], [1, 0]],
    [[3, 5, 7], [0, 2, 1]],
    [[3, 5, 7], [2, 0, 1]],
    [[3, 5, 7], [1, 2, 0]],
    [[3, 1, 7], [2, 1, 0]],
    [[3, 5, 7], [1, 0, 2]], // not a block swap: falls back
  ])('transpose %j by %j', async (shape, perm) => {
    const native = perm.join() === '1,0,2' ? null : 'Transpose';
    await check([{ shape }], (x) => tf.transpose(x, perm), native);
    await check([{ shape, dtype: 'int32', range: [-50, 50] }], (x) => tf.transpose(x, perm), native);
  });

  it('a DIN-like block: gathers, masked mean, split first layer, batched pooling — value and gradients', async () => {
    const [B, L, D, V] = [4, 6, 8, 30];
    await check(
      [
        { shape: [V, D] },
        { shape: [B, L], dtype: 'int32', range: [0, V] },
        { shape: [B], dtype: 'int32', range: [0, V] },
        { shape: [D, 12] },
        { shape: [D, 12] },
        { shape: [D, 12] },
        { shape: [12] },
        { shape: [12, 1] },
      ],
      withGrads((emb, hist, target, wt, wh, wp, b1, w2) => {
        const t = tf.gather(emb, target); // [B, D]
        const h = tf.gather(emb, hist); // [B, L, D]
        const h2 = tf.reshape(h, [B * L, D]);
        const th = tf.reshape(tf.mul(tf.expandDims(t, 1), h), [B * L, D]);
        const z = tf.add(tf.matMul(h2, wh), tf.matMul(th, wp)); // [B·L, 12]
        const q = tf.expandDims(tf.add(tf.matMul(t, wt), b1), 1); // [B, 1, 12]
        const a = tf.relu(tf.add(tf.reshape(z, [B, L, 12]), q));
        const s = tf.matMul(tf.reshape(a, [B * L, 12]), w2); // [B·L, 1]
        const mask = tf.cast(tf.greater(hist, 3), 'float32');
        const pooled = tf.matMul(tf.reshape(tf.mul(tf.reshape(s, [B, L]), mask), [B, 1, L]), h); // [B, 1, D]
        return tf.concat([tf.reshape(pooled, [B, D]), t], 1);
      }, 9),
      'UnsortedSegmentSum',
    );
  });

  it('stays correct when an output allocation grows the wasm heap (views taken after allocating)', async () => {
    await enter('native-wasm');
    const backend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
    const heap = backend.wasm.HEAPU8.length;
    const n = Math.ceil(heap / 4 / 3); // 4 copies in the output: > heap bytes
    const x = tf.range(0, n, 1, 'float32');
    const y = tf.concat([x, x, x, x]);
    expect(backend.wasm.HEAPU8.length).toBeGreaterThan(heap);
    const v = y.dataSync();
    expect([v[0], v[n - 1], v[n], v[4 * n - 1], v[2 * n + 12345]]).toEqual([0, n - 1, 0, n - 1, 12345]);
    tf.dispose([x, y]);
  });

  it('large inputs (threaded paths): scatter-add and gather against plain loops, copies against the reference', async () => {
    const [rows, inner, numIds] = [3000, 32, 4000];
    const [x, ids] = makeData([{ shape: [numIds, inner] }, { shape: [numIds], dtype: 'int32', range: [-5, rows + 5] }], 4);
    const expected = new Float32Array(rows * inner);
    for (let i = 0; i < numIds; i++) {
      if (ids[i] < 0 || ids[i] >= rows) continue; // dropped, as tfjs does
      for (let j = 0; j < inner; j++) expected[ids[i] * inner + j] += x[i * inner + j];
    }
    for (const mode of ['native-wasm', 'native-cpu'] as Mode[]) {
      nativeCallCounts(true);
      const [got] = await runIn(mode, [{ shape: [numIds, inner] }, { shape: [numIds], dtype: 'int32' }], [x, ids], (a, s) =>
        tf.unsortedSegmentSum(a, s as tf.Tensor1D, rows),
      );
      expect(relErr(got, expected), mode).toBeLessThanOrEqual(1e-6);
      const table = x.subarray(0, rows * inner);
      const valid = Int32Array.from(ids, (v) => Math.min(rows - 1, Math.max(0, v)));
      const [g] = await runIn(mode, [{ shape: [rows, inner] }, { shape: [numIds], dtype: 'int32' }], [table, valid], (t, s) =>
        tf.gather(t, s),
      );
      for (const i of [0, 1, numIds >> 1, numIds - 1]) {
        expect(Array.from(g.subarray(i * inner, (i + 1) * inner)), mode).toEqual(Array.from(table.subarray(valid[i] * inner, (valid[i] + 1) * inner)));
      }
      const counts = nativeCallCounts(true);
      expect(counts.native.UnsortedSegmentSum, mode).toBe(1);
      expect(counts.native.GatherV2, mode).toBe(1);
    }
    await check([{ shape: [300, 500] }], (t) => tf.transpose(t), 'Transpose');
    await check([{ shape: [300, 1] }, { shape: [300, 200] }], (a, b) => [tf.mul(a, b), tf.concat([b, b], 1), tf.sum(b, 0)], 'Concat');
  });

  it('results do not depend on the thread count', async () => {
    const addon = loadNative()!;
    const threads = addon.info().threads;
    const specs = [{ shape: [300, 200] }, { shape: [200, 100] }];
    const data = makeData(specs, 3);
    const f = (a: tf.Tensor, b: tf.Tensor) => [tf.matMul(a, b), tf.sum(tf.relu(a), 0), tf.mul(a, tf.sum(a, 1, true))];
    const many = await runIn('native-wasm', specs, data, f);
    addon.setNumThreads(1);
    try {
      const one = await runIn('native-wasm', specs, data, f);
      one.forEach((o, i) => expect(relErr(o, many[i])).toBeLessThanOrEqual(1e-6));
    } finally {
      addon.setNumThreads(threads);
    }
  });

  it('unregistering puts the previous kernels back', async () => {
    await tf.setBackend('wasm');
    unregisterNativeKernels('wasm');
    const before = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
    expect(registerNativeKernels('wasm')).toContain('BatchMatMul');
    expect(nativeBackends()).toContain('wasm');
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).not.toBe(before);
    unregisterNativeKernels('wasm');
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(before);
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeUndefined(); // tfjs-wasm has none of its own
  });
});
