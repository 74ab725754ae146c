/** Fusion of content and collaborative vectors: weighted (L2-normalised) and concat + PCA. */
import { describe, expect, it } from 'vitest';
import { fuseVectors, l2NormalizeRows } from '../../src/features/fuse';
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
