/**
 * The scalable PCA (covariance by blocked products + symmetric eigendecomposition) against ml-pca's method done the
 * slow, obvious way: covariance by definition, ml-matrix's EigenvalueDecomposition (what ml-pca's covariance method
 * runs). Components must agree up to sign, explained variance to 1e-6 relative, on every product engine.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/engine/backend';
import { loadNative } from '../../src/engine/native';
import {
  FeatureError,
  covariance,
  covarianceBlock,
  explainedVariance,
  fitPcaFast,
  formatExplainedVariance,
  pcaAsLinearMap,
  pcaFromCovarianceStats,
  projectRows,
  resolveProductBackend,
  type ProductBackend,
} from '../../src/features/pca';
import type { MatView } from '../../src/linalg';
import { rng } from '../../src/util/rng';

/** n rows: a rank-6 signal with decaying scales (distinct eigenvalues) + noise, around a far-from-zero mean. */
function table(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  const basis = new Float64Array(6 * d);
  r.fillNormal(basis);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = 3 + 0.05 * j + 0.2 * r.normal();
    for (let t = 0; t < 6; t++) {
      const z = r.normal() * (6 - t) * 1.3;
      for (let j = 0; j < d; j++) x[i * d + j] += z * basis[t * d + j];
    }
  }
  return x;
}

/** ml-pca's covariance method: centre, XᵀX / (n − 1), eigendecomposition, decreasing order. */
function reference(x: MatView, k: number) {
  const { rows: n, cols: d } = x;
  const m = new Matrix(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m.set(i, j, x.data[i * d + j]);
  const mean = m.mean('column');
  m.subRowVector(mean);
  const cov = m.transpose().mmul(m).div(n - 1);
  const e = new EigenvalueDecomposition(cov, { assumeSymmetric: true });
  const order = e.realEigenvalues.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
  const total = e.realEigenvalues.reduce((s, v) => s + v, 0);
  return {
    values: order.slice(0, k).map(([v]) => v),
    ratios: order.slice(0, k).map(([v]) => v / total),
    vectors: order.slice(0, k).map(([, i]) => e.eigenvectorMatrix.getColumn(i)),
    centred: m,
  };
}

const engines: ProductBackend[] = ['typescript', 'tfjs', ...(loadNative() ? (['native'] as const) : [])];

beforeAll(async () => {
  await selectBackend({ force: 'wasm', quiet: true });
});

describe('scalable PCA', () => {
  const n = 700;
  const d = 40;
  const k = 6;
  const x: MatView = { data: table(n, d, 3), rows: n, cols: d };
  const ref = reference(x, k);

  it.each(engines)('agrees with ml-pca (covariance method) on the %s engine: components up to sign, variance to 1e-6', (engine) => {
    const fit = fitPcaFast(x, { k, backend: engine, chunkRows: 128 });
    expect(fit.backend).toBe(engine);
    const ev = explainedVariance('x', fit.model);
    for (let j = 0; j < k; j++) {
      expect(Math.abs(fit.model.explainedVariance[j] / ref.values[j] - 1)).toBeLessThan(1e-6);
      expect(Math.abs(ev.ratio[j] / ref.ratios[j] - 1)).toBeLessThan(1e-6);
      let dot = 0;
      for (let i = 0; i < d; i++) dot += fit.model.components[j * d + i] * ref.vectors[j][i];
      expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-6);
    }
    // Projections = centred rows · axes (up to each axis' sign).
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += fit.model.components[j * d + i] * ref.vectors[j][i];
      const sign = Math.sign(dot);
      let err = 0;
      let scale = 0;
      for (let r = 0; r < n; r++) {
        let want = 0;
        for (let i = 0; i < d; i++) want += ref.centred.get(r, i) * ref.vectors[j][i];
        err = Math.max(err, Math.abs(fit.projections[r * k + j] - sign * want));
        scale = Math.max(scale, Math.abs(want));
      }
      expect(err / scale).toBeLessThan(1e-5);
    }
  });

  it('the float32 engines reach the float64 covariance to ~1e-6 with centred chunks', () => {
    const st64 = covariance(x, { backend: 'typescript' });
    for (const engine of engines.filter((e) => e !== 'typescript')) {
      const st = covariance(x, { backend: engine, chunkRows: 100 });
      let err = 0;
      let big = 0;
      for (let i = 0; i < d * d; i++) {
        err = Math.max(err, Math.abs(st.cov[i] - st64.cov[i]));
        big = Math.max(big, Math.abs(st64.cov[i]));
        expect(st.cov[i]).toBe(st.cov[(i % d) * d + Math.floor(i / d)]);
      }
      expect(err / big).toBeLessThan(1e-6);
      for (let c = 0; c < d; c++) expect(st.mean[c]).toBeCloseTo(st64.mean[c], 10);
    }
  });

  it('a column block of the statistics is the statistics of that block (per-modality PCA from one pass)', () => {
    const st = covariance(x, { backend: 'typescript' });
    const block = covarianceBlock(st, 10, 20);
    const direct = covariance({ data: x.data, rows: n, cols: 20, stride: d, offset: 10 }, { backend: 'typescript' });
    for (let i = 0; i < 400; i++) expect(block.cov[i]).toBeCloseTo(direct.cov[i], 9);
    const a = pcaFromCovarianceStats(block, 3);
    const b = pcaFromCovarianceStats(direct, 3);
    for (let j = 0; j < 3; j++) expect(a.explainedVariance[j]).toBeCloseTo(b.explainedVariance[j], 9);
  });

  it('projects with several maps in one pass, on strided views', () => {
    const st = covariance(x, { backend: 'typescript' });
    const m1 = pcaAsLinearMap(pcaFromCovarianceStats(st, 2));
    const m2 = pcaAsLinearMap(pcaFromCovarianceStats(st, 5));
    const [y1, y2] = projectRows(x, st.mean, [m1, m2], { backend: 'typescript', chunkRows: 33 });
    expect(y1.length).toBe(n * 2);
    expect(y2.length).toBe(n * 5);
    for (let r = 0; r < n; r += 50) for (let j = 0; j < 2; j++) expect(y1[r * 2 + j]).toBeCloseTo(y2[r * 5 + j], 4);
    // Column means of projections are 0 (centred input).
    let s = 0;
    for (let r = 0; r < n; r++) s += y2[r * 5 + 4];
    expect(Math.abs(s / n)).toBeLessThan(1e-4);
  });

  it('prints the explained variance and rejects what it cannot do', () => {
    const ev = explainedVariance('text+image', fitPcaFast(x, { k: 3, backend: 'typescript' }).model);
    expect(formatExplainedVariance(ev)).toMatch(/^text\+image 40 → 3: keeps \d+\.\d% of the variance \(first axes/);
    expect(ev.kept).toBeCloseTo(ev.ratio.reduce((a, b) => a + b, 0), 12);
    expect(() => covariance({ data: new Float32Array(3), rows: 1, cols: 3 })).toThrow(FeatureError);
    expect(() => pcaFromCovarianceStats(covariance(x, { backend: 'typescript' }), d + 1)).toThrow(/k = 41/);
    expect(() => resolveProductBackend('gpu' as never)).toThrow(/unknown product backend 'gpu'/);
    expect(['native', 'tfjs', 'typescript']).toContain(resolveProductBackend('auto'));
  });
});
