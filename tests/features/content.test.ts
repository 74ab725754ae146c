/** Content strategies as linear maps of the [text ‖ image] table, all from one covariance. */
import { describe, expect, it } from 'vitest';
import { fitContentModel, perModalitySplit, signalDimension, type ModalityBlock } from '../../src/features/content';
import { covariance, covarianceBlock, pcaFromCovarianceStats } from '../../src/features/pca';
import { mappedCovariance } from '../../src/features/whiten';
import { rng } from '../../src/util/rng';

/** Two modalities sharing 2 of 4 latent coordinates: a (10 cols) sees z0..z2, b (14 cols) sees z1..z3. */
function twoModalities(n: number) {
  const r = rng(9);
  const da = 10;
  const db = 14;
  const ma = new Float64Array(da * 3);
  const mb = new Float64Array(db * 3);
  r.fillNormal(ma);
  r.fillNormal(mb);
  const x = new Float32Array(n * (da + db));
  for (let i = 0; i < n; i++) {
    const z = [r.normal(), r.normal(), r.normal(), r.normal()].map((v, j) => v * (3 - 0.5 * j));
    for (let c = 0; c < da; c++) x[i * 24 + c] = 1 + ma[c * 3] * z[0] + ma[c * 3 + 1] * z[1] + ma[c * 3 + 2] * z[2] + 0.3 * r.normal();
    for (let c = 0; c < db; c++) x[i * 24 + da + c] = -2 + 0.5 * (mb[c * 3] * z[1] + mb[c * 3 + 1] * z[2] + mb[c * 3 + 2] * z[3]) + 0.2 * r.normal();
  }
  const blocks: ModalityBlock[] = [
    { name: 'text', col0: 0, dim: da },
    { name: 'image', col0: da, dim: db },
  ];
  return { x: { data: x, rows: n, cols: da + db }, blocks };
}

describe('content strategies', () => {
  const { x, blocks } = twoModalities(1500);
  const st = covariance(x, { backend: 'typescript' });

  it('concat-pca is the PCA of the whole table', () => {
    const m = fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 4 });
    const pca = pcaFromCovarianceStats(st, 4);
    for (let i = 0; i < 24 * 4; i++) expect(m.map.weights[i]).toBeCloseTo(pca.components[(i % 4) * 24 + Math.floor(i / 4)], 12);
    expect(m.explained).toHaveLength(1);
    expect(m.explained[0].name).toBe('text+image');
    expect(m.description).toBe('concat-pca(text+image → 4)');
  });

  it('balance divides each modality by the root of its mean per-coordinate variance before the PCA', () => {
    const m = fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 4, balance: true });
    const s = blocks.map((b) => {
      let v = 0;
      for (let i = 0; i < b.dim; i++) v += st.cov[(b.col0 + i) * 24 + b.col0 + i];
      return Math.sqrt(v / b.dim);
    });
    // The reference: PCA of the covariance of the scaled columns, its axes mapped back through the same factors.
    const f = Array.from({ length: 24 }, (_, i) => 1 / s[i < 10 ? 0 : 1]);
    const cov = Float64Array.from(st.cov, (v, k) => v * f[Math.floor(k / 24)] * f[k % 24]);
    const pca = pcaFromCovarianceStats({ ...st, cov, mean: Float64Array.from(st.mean, (v, i) => v * f[i]) }, 4);
    for (let i = 0; i < 24; i++) for (let j = 0; j < 4; j++) expect(m.map.weights[i * 4 + j]).toBeCloseTo(f[i] * pca.components[j * 24 + i], 12);
    expect(m.description).toBe(`concat-pca(text+image balanced: text ÷ ${s[0].toPrecision(3)}, image ÷ ${s[1].toPrecision(3)} → 4)`);
    // The image block is at half the text's scale: unbalanced, the first axis leans on text; balanced, less so.
    const imageShare = (w: Float64Array) => {
      let a = 0;
      let t = 0;
      for (let i = 0; i < 24; i++) (i < 10 ? (t += w[i * 4] ** 2) : (a += w[i * 4] ** 2));
      return a / (a + t);
    };
    expect(imageShare(m.map.weights)).toBeGreaterThan(imageShare(fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 4 }).map.weights));
    expect(() => fitContentModel(st, blocks, { reduction: 'per-modality-pca', dim: 4, balance: true })).toThrow(/balance applies to concat-pca/);
  });

  it("whiten 'signal' keeps and whitens the directions above the largest eigengap and zeroes the rest", () => {
    // 4 latent coordinates, noise 0.2–0.3: the eigengap after the 4th direction.
    const m = fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 8, whiten: 'signal' });
    expect(m.whitenings).toHaveLength(1);
    expect(m.whitenings[0]).toMatchObject({ name: 'signal text+image', k: 4 });
    expect(m.description).toMatch(/^concat-pca\(text\+image → 8\) \+ whiten signal: the first 4 directions whitened, the rest zeroed \(eigengap \d+\.\d\d\)$/);
    const cov = mappedCovariance(m.map, st.cov);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(cov[i * 8 + j]).toBeCloseTo(i === j && i < 4 ? 1 : 0, 8);
    const given = fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 8, whiten: 'signal', signalDim: 2 });
    expect(given.whitenings[0].k).toBe(2);
    expect(given.description).toMatch(/first 2 directions whitened, the rest zeroed \(given\)$/);
    expect(() => fitContentModel(st, blocks, { reduction: 'per-modality-pca', dim: 8, whiten: 'signal' })).toThrow(/whiten 'signal' applies to the reduction concat-pca/);
    expect(() => signalDimension([3, 2, 1], 4)).toThrow(/signalDim 4 must be an integer in \[1, 3\]/);
    expect(signalDimension([9, 8, 7, 6, 5, 1, 0.9, 0.8], 'auto')).toEqual({ r: 5, ratio: 5 });
  });

  it('per-modality-pca places each modality’s own PCA in its block, zeros elsewhere', () => {
    const m = fitContentModel(st, blocks, { reduction: 'per-modality-pca', dim: 5 });
    expect(perModalitySplit(blocks, 5)).toEqual([3, 2]);
    const ta = pcaFromCovarianceStats(covarianceBlock(st, 0, 10), 3);
    const ib = pcaFromCovarianceStats(covarianceBlock(st, 10, 14), 2);
    for (let r = 0; r < 24; r++) {
      for (let j = 0; j < 5; j++) {
        const w = m.map.weights[r * 5 + j];
        if (r < 10 && j < 3) expect(w).toBeCloseTo(ta.components[j * 10 + r], 12);
        else if (r >= 10 && j >= 3) expect(w).toBeCloseTo(ib.components[(j - 3) * 14 + (r - 10)], 12);
        else expect(w).toBe(0);
      }
    }
    expect(m.explained.map((e) => e.name)).toEqual(['text', 'image']);
    expect(fitContentModel(st, blocks, { reduction: 'per-modality-pca', dim: 5, perModalityDims: [1, 4] }).description).toBe(
      'per-modality-pca(text 1, image 4)',
    );
  });

  it('whiten after: the output covariance is the identity; whiten before: each modality is whitened first', () => {
    for (const reduction of ['concat-pca', 'per-modality-pca'] as const) {
      const m = fitContentModel(st, blocks, { reduction, dim: 4, whiten: 'after', whitenEpsilon: 0 });
      const c = mappedCovariance(m.map, st.cov);
      for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) expect(c[p * 4 + q]).toBeCloseTo(p === q ? 1 : 0, 7);
      expect(m.description).toMatch(/\+ whiten after$/);
    }
    // Before, per modality: each block's output is white (the cross-modal block is not).
    const pm = fitContentModel(st, blocks, { reduction: 'per-modality-pca', dim: 4, whiten: 'before', whitenEpsilon: 0 });
    const c = mappedCovariance(pm.map, st.cov);
    for (const [a, b] of [[0, 2], [2, 4]]) for (let p = a; p < b; p++) for (let q = a; q < b; q++) expect(c[p * 4 + q]).toBeCloseTo(p === q ? 1 : 0, 7);
    expect(Math.abs(c[0 * 4 + 2]) + Math.abs(c[1 * 4 + 3]) + Math.abs(c[0 * 4 + 3]) + Math.abs(c[1 * 4 + 2])).toBeGreaterThan(0.1);
    // Before, concat: PCA of the whitened blocks finds the shared latent first (largest cross-modal correlation).
    const cc = fitContentModel(st, blocks, { reduction: 'concat-pca', dim: 2, whiten: 'before', whitenDim: 3 });
    expect(cc.whitenings.map((w) => [w.name, w.k])).toEqual([['text', 3], ['image', 3]]);
    expect(cc.explained[0].name).toBe('whitened text+image');
    // Whitened blocks have variance 1 each (6 directions); shared directions add up to ≈ 2 on the first axes.
    expect(cc.explained[0].variance[0]).toBeGreaterThan(1.8);
    expect(cc.explained[0].totalVariance).toBeCloseTo(6, 4);
  });

  it('a single modality, and the errors', () => {
    const m = fitContentModel(st, [blocks[1]], { reduction: 'concat-pca', dim: 3 });
    for (let r = 0; r < 10; r++) for (let j = 0; j < 3; j++) expect(m.map.weights[r * 3 + j]).toBe(0);
    expect(() => fitContentModel(st, blocks, { dim: 25 })).toThrow(/dim 25/);
    expect(() => fitContentModel(st, [], {})).toThrow(/no modality/);
    expect(() => perModalitySplit(blocks, 5, [2, 2])).toThrow(/sum to 5/);
    expect(() => perModalitySplit(blocks, 5, [5])).toThrow(/1 entries for 2 modalities/);
    expect(() => fitContentModel(st, blocks, { reduction: 'svd' as never })).toThrow(/reduction 'svd'/);
  });
});
