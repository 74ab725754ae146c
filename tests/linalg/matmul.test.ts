import { describe, expect, it } from 'vitest';
import { colBlock, columnMeans, gram, matmul, transpose } from '../../src/linalg';
import { rng } from '../../src/util/rng';

function randomMatrix(rows: number, cols: number, seed: number, f32 = false): Float32Array | Float64Array {
  const a = f32 ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
  rng(seed).fillNormal(a);
  return a;
}

function naive(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    c[i * n + j] = s;
  }
  return c;
}

const maxAbsDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
};

describe('matmul', () => {
  it.each([
    [1, 1, 1],
    [3, 5, 2],
    [4, 4, 4],
    [130, 67, 9],
    [257, 33, 600],
  ])('matches the naive product for %i×%i · %i×…', (m, k, n) => {
    const a = randomMatrix(m, k, 1);
    const b = randomMatrix(k, n, 2, true);
    const c = matmul({ data: a, rows: m, cols: k }, { data: b, rows: k, cols: n });
    expect(maxAbsDiff(c, naive(a, b, m, k, n))).toBeLessThan(1e-9);
  });

  it('reads strided column blocks and accumulates', () => {
    const wide = randomMatrix(50, 20, 3, true);
    const x = { data: wide, rows: 50, cols: 20 };
    const blk = colBlock(x, 7, 6);
    const dense = new Float64Array(50 * 6);
    for (let r = 0; r < 50; r++) for (let c = 0; c < 6; c++) dense[r * 6 + c] = wide[r * 20 + 7 + c];
    const b = randomMatrix(6, 11, 4);
    const c = matmul(blk, { data: b, rows: 6, cols: 11 });
    expect(maxAbsDiff(c, naive(dense, b, 50, 6, 11))).toBeLessThan(1e-9);
    const twice = matmul(blk, { data: b, rows: 6, cols: 11 }, Float64Array.from(c), true);
    expect(maxAbsDiff(twice, c.map((v) => 2 * v))).toBeLessThan(1e-9);
    expect(() => matmul(blk, { data: b, rows: 5, cols: 11 })).toThrow(/A is 50×6 but B is 5×11/);
    expect(() => colBlock(x, 18, 4)).toThrow();
  });

  it('gram equals XᵀX for all panel and tile remainders', () => {
    for (const [n, d] of [[1, 1], [7, 5], [131, 10], [300, 37]]) {
      const x = randomMatrix(n, d, n + d, true);
      const g = gram({ data: x, rows: n, cols: d });
      const xt = transpose(Float64Array.from(x), n, d);
      expect(maxAbsDiff(g, naive(xt, x, d, n, d))).toBeLessThan(1e-9);
    }
  });

  it('columnMeans of a view', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    expect(Array.from(columnMeans({ data: x, rows: 2, cols: 2, stride: 3, offset: 1 }))).toEqual([3.5, 4.5]);
  });
});
