import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import {
  colBlock,
  fitPca,
  fitPcaDual,
  gramStats,
  gramStatsBlock,
  pcaFromStats,
  pcaTransform,
  pcaTransformMany,
  type MatView,
  type PcaModel,
} from '../../src/linalg';
import { rng } from '../../src/util/rng';

/** n rows of a low-rank signal (decaying scales) plus noise, with a non-zero mean. */
function data(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  const rank = Math.min(8, d);
  const basis = new Float64Array(rank * d);
  r.fillNormal(basis);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = 0.3 * r.normal() + 0.1 * j;
    for (let t = 0; t < rank; t++) {
      const z = r.normal() * (rank - t);
      for (let j = 0; j < d; j++) x[i * d + j] += z * basis[t * d + j];
    }
  }
  return x;
}

/** Reference PCA: covariance by definition, eigen-decomposition by ml-matrix. */
function reference(x: MatView, k: number, scale?: Float64Array) {
  const { rows: n, cols: d } = x;
  const s = x.stride ?? d;
  const o = x.offset ?? 0;
  const val = (i: number, j: number) => x.data[o + i * s + j] * (scale ? scale[j] : 1);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += val(i, j) / n;
  const cov = Matrix.zeros(d, d);
  for (let i = 0; i < n; i++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) {
    cov.set(p, q, cov.get(p, q) + ((val(i, p) - mean[p]) * (val(i, q) - mean[q])) / (n - 1));
  }
  const e = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const order = e.realEigenvalues.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, k);
  const V = order.map(([, i]) => e.eigenvectorMatrix.getColumn(i));
  const proj = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) {
    let t = 0;
    for (let c = 0; c < d; c++) t += (val(i, c) - mean[c]) * V[j][c];
    proj[i * k + j] = t;
  }
  return { values: order.map(([v]) => v), proj };
}

/** Projections equal up to the sign of each component. */
function expectSameProjection(got: Float32Array, want: Float64Array, n: number, k: number, tol: number) {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let j = 0; j < k; j++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += got[i * k + j] * want[i * k + j];
    const sign = dot >= 0 ? 1 : -1;
    for (let i = 0; i < n; i++) expect(Math.abs(got[i * k + j] - sign * want[i * k + j]) / scale).toBeLessThan(tol);
  }
}

describe('PCA', () => {
  it('matches a direct eigen-decomposition of the covariance (rows > columns)', () => {
    const n = 300;
    const d = 24;
    const k = 6;
    const x: MatView = { data: data(n, d, 1), rows: n, cols: d };
    const model = fitPca(x, { k });
    const ref = reference(x, k);
    for (let j = 0; j < k; j++) expect(model.explainedVariance[j]).toBeCloseTo(ref.values[j], 6);
    expectSameProjection(pcaTransform(x, model), ref.proj, n, k, 1e-5);
    // Unit, orthogonal axes and the sign convention.
    for (let j = 0; j < k; j++) {
      const v = model.components.subarray(j * d, (j + 1) * d);
      expect(v.reduce((s, t) => s + t * t, 0)).toBeCloseTo(1, 10);
      const big = v.reduce((b, t) => (Math.abs(t) > Math.abs(b) ? t : b), 0);
      expect(big).toBeGreaterThan(0);
    }
  });

  it('the dual form (rows < columns) gives the same model as the Gram form', () => {
    const n = 40;
    const d = 90;
    const k = 10;
    const x: MatView = { data: data(n, d, 2), rows: n, cols: d };
    const dual = fitPcaDual(x, { k });
    const primal = pcaFromStats(gramStats(x), { k });
    for (let j = 0; j < k; j++) expect(dual.explainedVariance[j]).toBeCloseTo(primal.explainedVariance[j], 6);
    expect(dual.totalVariance).toBeCloseTo(primal.totalVariance, 6);
    expectSameProjection(pcaTransform(x, dual), Float64Array.from(pcaTransform(x, primal)), n, k, 1e-5);
    expectSameProjection(pcaTransform(x, dual), reference(x, k).proj, n, k, 1e-5);
  });

  it('column blocks of one Gram and per-column scaling equal PCAs of the block and of the scaled data', () => {
    const n = 200;
    const d = 30;
    const k = 5;
    const x: MatView = { data: data(n, d, 3), rows: n, cols: d };
    const st = gramStats(x);
    const blk = colBlock(x, 10, 12);
    const fromBlock = pcaFromStats(gramStatsBlock(st, 10, 12), { k });
    expectSameProjection(pcaTransform(blk, fromBlock), reference(blk, k).proj, n, k, 1e-5);
    const scale = Float64Array.from({ length: d }, (_, j) => (j < 15 ? 2 : 0.5));
    const scaled = pcaFromStats(st, { k, scale });
    expectSameProjection(pcaTransform(x, scaled), reference(x, k, scale).proj, n, k, 1e-5);
    const dualScaled = fitPcaDual({ data: x.data, rows: 25, cols: d }, { k, scale });
    expectSameProjection(pcaTransform({ data: x.data, rows: 25, cols: d }, dualScaled), reference({ data: x.data, rows: 25, cols: d }, k, scale).proj, 25, k, 1e-5);
  });

  it('transforms with several models at once like one at a time', () => {
    const n = 120;
    const d = 16;
    const x: MatView = { data: data(n, d, 4), rows: n, cols: d };
    const a: PcaModel = fitPca(x, { k: 3 });
    const b: PcaModel = fitPca(x, { k: 5, scale: new Float64Array(d).fill(3) });
    const [pa, pb] = pcaTransformMany(x, [a, b], { chunkRows: 7 });
    expect(Array.from(pa)).toEqual(Array.from(pcaTransform(x, a)));
    expect(pb.length).toBe(n * 5);
    expectSameProjection(pb, Float64Array.from(pcaTransform(x, b)), n, 5, 1e-6);
    expect(() => pcaTransform(colBlock(x, 0, 8), a)).toThrow(/expects 16 columns/);
    expect(() => fitPca(x, { k: 17 })).toThrow();
  });
});
