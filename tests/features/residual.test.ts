/** Least-squares residual of one table on another (with intercept). */
import { describe, expect, it } from 'vitest';
import { residualOn } from '../../src/features/residual';
import { rng } from '../../src/util/rng';

describe('residualOn', () => {
  const n = 200;
  const dx = 6;
  const dy = 4;
  const g = rng(9);
  const x = new Float32Array(n * dx);
  g.fillNormal(x, 1, 2);
  const noise = new Float32Array(n * dy);
  g.fillNormal(noise, 0, 0.3);
  // y = 3 + x·A + noise, row 0 and row 7 with no collaborative vector.
  const y = new Float32Array(n * dy);
  for (let r = 1; r < n; r++) {
    if (r === 7) continue;
    for (let j = 0; j < dy; j++) {
      let s = 3 + noise[r * dy + j];
      for (let i = 0; i < dx; i++) s += x[r * dx + i] * ((i + 1) * (j - 1.5));
      y[r * dy + j] = s;
    }
  }
  const res = residualOn(y, dy, x, dx);
  const fitted = Array.from({ length: n }, (_, r) => r).filter((r) => r !== 0 && r !== 7);

  it('is orthogonal to the intercept and to every content column over the fitted rows', () => {
    for (let j = 0; j < dy; j++) {
      let s = 0;
      for (const r of fitted) s += res[r * dy + j];
      expect(Math.abs(s)).toBeLessThan(1e-3);
      for (let i = 0; i < dx; i++) {
        let d = 0;
        for (const r of fitted) d += res[r * dy + j] * x[r * dx + i];
        expect(Math.abs(d)).toBeLessThan(1e-2);
      }
    }
  });

  it('leaves the noise: a planted linear part is removed', () => {
    let ss = 0;
    let sn = 0;
    for (const r of fitted) for (let j = 0; j < dy; j++) {
      ss += res[r * dy + j] ** 2;
      sn += noise[r * dy + j] ** 2;
    }
    expect(ss).toBeLessThanOrEqual(sn * 1.0001);
    expect(ss).toBeGreaterThan(sn * 0.9);
  });

  it('keeps rows without a collaborative vector zero; handles collinear columns', () => {
    for (const r of [0, 7]) for (let j = 0; j < dy; j++) expect(res[r * dy + j]).toBe(0);
    // A duplicated column: the pseudo-inverse still gives the least-squares residual.
    const x2 = new Float32Array(n * (dx + 1));
    for (let r = 0; r < n; r++) {
      x2.set(x.subarray(r * dx, (r + 1) * dx), r * (dx + 1));
      x2[r * (dx + 1) + dx] = x[r * dx];
    }
    const res2 = residualOn(y, dy, x2, dx + 1);
    for (let i = 0; i < res.length; i++) expect(res2[i]).toBeCloseTo(res[i], 2);
    expect(() => residualOn(y, dy, x, 7)).toThrow(/rows/);
  });
});
