/** Fusion of content and collaborative vectors: weighted (L2-normalised), concat + PCA, concat; residual source, cluster block. */
import { describe, expect, it } from 'vitest';
import { AUTO_CLUSTER_KS, clusterSplit, fuseVectors, l2NormalizeRows } from '../../src/features/fuse';
import { residualOn } from '../../src/features/residual';
import { rng } from '../../src/util/rng';

function table(rows: number, d: number, seed: number): Float32Array {
  const x = new Float32Array(rows * d);
  rng(seed).fillNormal(x);
  x.fill(0, 0, d); // padding row
  return x;
}

const norm = (x: Float32Array, r: number, d: number) => Math.sqrt(x.subarray(r * d, (r + 1) * d).reduce((s, v) => s + v * v, 0));

describe('fusion', () => {
  const rows = 60;
  const c = table(rows, 8, 1);
  const k = table(rows, 8, 2);

  it('l2-normalises rows and leaves zero rows zero', () => {
    const u = l2NormalizeRows(c, 8);
    for (let r = 1; r < rows; r++) expect(norm(u, r, 8)).toBeCloseTo(1, 6);
    expect(norm(u, 0, 8)).toBe(0);
  });

  it('weighted: w_c·ĉ + w_k·k̂, normalised; an item missing one source keeps the other’s direction', () => {
    const kk = k.slice();
    kk.fill(0, 5 * 8, 6 * 8); // item 5 never seen in item_seq
    const f = fuseVectors(c, 8, kk, 8, { mode: 'weighted', contentWeight: 0.7, collaborativeWeight: 0.3 });
    expect(f.dim).toBe(8);
    expect(f.explained).toBeNull();
    const cu = l2NormalizeRows(c, 8);
    const ku = l2NormalizeRows(kk, 8);
    for (const r of [1, 7, 30]) {
      const want = Array.from({ length: 8 }, (_, j) => 0.7 * cu[r * 8 + j] + 0.3 * ku[r * 8 + j]);
      const n = Math.hypot(...want);
      for (let j = 0; j < 8; j++) expect(f.vectors[r * 8 + j]).toBeCloseTo(want[j] / n, 6);
    }
    for (let j = 0; j < 8; j++) expect(f.vectors[5 * 8 + j]).toBeCloseTo(cu[5 * 8 + j], 6);
    expect(norm(f.vectors, 0, 8)).toBe(0);
    const raw = fuseVectors(c, 8, k, 8, { mode: 'weighted', normalizeOutput: false });
    for (let j = 0; j < 8; j++) expect(raw.vectors[8 + j]).toBeCloseTo(0.5 * cu[8 + j] + 0.5 * l2NormalizeRows(k, 8)[8 + j], 6);
  });

  it('concat-pca: reduces [√w_c·ĉ ‖ √w_k·k̂] to dim, padding row zero, variance reported', () => {
    const f = fuseVectors(c, 8, k, 8, { mode: 'concat-pca', dim: 5, backend: 'typescript' });
    expect(f.dim).toBe(5);
    expect(f.vectors.length).toBe(rows * 5);
    expect(norm(f.vectors, 0, 5)).toBe(0);
    expect(f.explained!.name).toBe('content+collaborative');
    expect(f.explained!.k).toBe(5);
    expect(f.explained!.kept).toBeGreaterThan(5 / 16);
    // Each output coordinate is centred over the items.
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let r = 1; r < rows; r++) s += f.vectors[r * 5 + j];
      expect(Math.abs(s / (rows - 1))).toBeLessThan(1e-5);
    }
  });

  it('concat: each source PCA-reduced to its share, unit rows, weights √w, zero rows kept zero', () => {
    const kk = k.slice();
    kk.fill(0, 5 * 8, 6 * 8); // item 5 never seen in item_seq
    const f = fuseVectors(c, 8, kk, 8, { mode: 'concat', dim: 7, contentDim: 3, contentWeight: 0.64, collaborativeWeight: 0.36, backend: 'typescript' });
    expect(f.dim).toBe(7);
    expect(f.explained).toBeNull();
    expect(norm(f.vectors, 0, 7)).toBe(0);
    const part = (r: number, from: number, to: number) => Math.hypot(...f.vectors.subarray(r * 7 + from, r * 7 + to));
    for (const r of [1, 7, 30]) {
      expect(part(r, 0, 3)).toBeCloseTo(0.8, 5); // √0.64
      expect(part(r, 3, 7)).toBeCloseTo(0.6, 5); // √0.36
    }
    expect(part(5, 3, 7)).toBe(0); // no collaborative vector: that part stays zero
    expect(part(5, 0, 3)).toBeCloseTo(0.8, 5);
    // The content part is the PCA of the unit content rows: its coordinates are centred over the items.
    for (let j = 0; j < 3; j++) {
      let m = 0;
      for (let r = 1; r < rows; r++) m += f.vectors[r * 7 + j] / part(r, 0, 3);
      expect(Math.abs(m / (rows - 1))).toBeLessThan(0.2);
    }
  });

  it('checks widths and weights', () => {
    expect(() => fuseVectors(c, 8, k, 8, { mode: 'concat', dim: 16, contentDim: 9 })).toThrow(/contentDim 9/);
    expect(() => fuseVectors(c, 8, k, 8, { mode: 'concat', dim: 8, contentDim: 8 })).toThrow(/dim − contentDim 0/);
    expect(() => fuseVectors(c, 8, table(rows, 4, 3), 4, { mode: 'weighted' })).toThrow(/same width/);
    expect(() => fuseVectors(c, 8, table(rows - 1, 8, 3), 8)).toThrow(/rows/);
    expect(() => fuseVectors(c, 8, k, 8, { contentWeight: 0, collaborativeWeight: 0 })).toThrow(/both be 0/);
    expect(() => fuseVectors(c, 8, k, 8, { mode: 'concat-pca', dim: 17 })).toThrow(/dim 17/);
    expect(fuseVectors(c, 8, k, 8, { dim: 4, backend: 'typescript' }).explained).not.toBeNull(); // concat-pca by default
    expect(fuseVectors(c, 8, table(rows, 4, 3), 4, { mode: 'concat-pca', dim: 6, backend: 'typescript' }).dim).toBe(6);
  });
});

describe('fusion: residual collaborative source and the cluster block', () => {
  // 121 rows (row 0 padding): content random; collaborative = a content-predictable part + one of 4 planted
  // orthogonal directions (item r in cluster (r − 1) mod 4) + noise.
  const rows = 121;
  const g = rng(21);
  const c = table(rows, 8, 3);
  const k = new Float32Array(rows * 6);
  for (let r = 1; r < rows; r++) {
    for (let j = 0; j < 6; j++) k[r * 6 + j] = (j === (r - 1) % 4 ? 3 : 0) + 0.3 * g.normal() + 0.2 * c[r * 8 + (j % 8)];
  }

  it('residual: the fused collaborative part comes from the residual on content', () => {
    const viaOption = fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, collaborative: 'residual', backend: 'typescript' });
    const byHand = fuseVectors(c, 8, residualOn(k, 6, c, 8), 6, { mode: 'concat', dim: 10, contentDim: 5, backend: 'typescript' });
    expect(Array.from(viaOption.vectors)).toEqual(Array.from(byHand.vectors));
    const raw = fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, backend: 'typescript' });
    expect(Array.from(raw.vectors)).not.toEqual(Array.from(viaOption.vectors));
  });

  it('clusters: one-hot block of value weight in the last k columns, the rest split as contentDim : dim − contentDim', () => {
    const f = fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 12, contentDim: 6, clusters: { k: 4, weight: 0.7 }, backend: 'typescript' });
    expect(f.dim).toBe(12);
    const cl = f.clusters!;
    expect(cl).toMatchObject({ k: 4, weight: 0.7, col0: 8, contentDim: 4, collaborativeDim: 4 });
    expect(cl.sizes).toEqual([30, 30, 30, 30]);
    for (let r = 0; r < rows; r++) {
      const block = Array.from(f.vectors.subarray(r * 12 + 8, (r + 1) * 12));
      if (r === 0) {
        expect(Array.from(f.vectors.subarray(0, 12)).every((v) => v === 0)).toBe(true);
        continue;
      }
      expect(block.filter((v) => v !== 0)).toEqual([0.7].map(Math.fround));
      expect(block.indexOf(Math.fround(0.7))).toBe(cl.labels[r]);
      // The fused part keeps the concat layout: unit row (√0.5² + √0.5²).
      expect(Math.hypot(...f.vectors.subarray(r * 12, r * 12 + 8))).toBeCloseTo(1, 5);
    }
    // Planted clusters recovered: rows r and r + 4 share a cluster, r and r + 1 do not.
    for (let r = 1; r + 4 < rows; r++) {
      expect(cl.labels[r + 4]).toBe(cl.labels[r]);
      if ((r - 1) % 4 !== 3) expect(cl.labels[r + 1]).not.toBe(cl.labels[r]);
    }
    expect(clusterSplit({ dim: 128, contentDim: 64 }, 32)).toEqual({ contentDim: 48, collaborativeDim: 48 });
  });

  it('clusters: auto tries the candidates that fit and keeps the best silhouette; bad options throw', () => {
    const c16 = table(rows, 16, 5);
    const k16 = new Float32Array(rows * 16);
    for (let r = 1; r < rows; r++) for (let j = 0; j < 16; j++) k16[r * 16 + j] = (j === (r - 1) % 4 ? 3 : 0) + 0.3 * g.normal();
    const f = fuseVectors(c16, 16, k16, 16, { mode: 'concat', dim: 40, contentDim: 20, clusters: { k: 'auto', weight: 1 }, backend: 'typescript' });
    // AUTO_CLUSTER_KS are 16, 24, 32, 48, 64; at dim 40 only those leaving ≥ 1 column per source fit.
    expect(AUTO_CLUSTER_KS).toEqual([16, 24, 32, 48, 64]);
    expect(f.clusters!.scores.map((s) => s.k)).toEqual([16, 24, 32]);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 64, contentDim: 32, clusters: { k: 'auto', weight: 1 } })).toThrow(/no k of 16, 24, 32, 48, 64 fits 120 items/);
    expect(f.clusters!.silhouette).toBe(Math.max(...f.clusters!.scores.map((s) => s.silhouette)));
    expect(f.clusters!.k).toBe(f.clusters!.scores.find((s) => s.silhouette === f.clusters!.silhouette)!.k);
    expect(f.clusters!.col0 + f.clusters!.k).toBe(40);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat-pca', dim: 10, clusters: { k: 4, weight: 1 } })).toThrow(/need mode 'concat'/);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, clusters: { k: 9, weight: 1 } })).toThrow(/k = 9 leaves 1 of 10 columns/);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, clusters: { k: 1, weight: 1 } })).toThrow(/integer ≥ 2/);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, clusters: { k: 4, weight: 0 } })).toThrow(/weight = 0/);
    expect(() => fuseVectors(c, 8, k, 6, { mode: 'concat', dim: 10, contentDim: 5, collaborative: 'pca' as never })).toThrow(/unknown collaborative source/);
  });
});
