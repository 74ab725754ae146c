/** Cosine top-k neighbours and label precision. */
import { describe, expect, it } from 'vitest';
import { chanceLabelPrecision, labelPrecision, topNeighbours } from '../../src/features/retrieval';

describe('nearest neighbours', () => {
  // Rows 1..6 in two directions; row 0 padding; row 7 zero (no vector).
  const v = Float32Array.from([0, 0, 1, 0, 0.9, 0.1, 2, 0.1, 0, 1, 0.1, 0.9, 0.2, 3, 0, 0]);
  const label = Int32Array.of(-1, 0, 0, 0, 1, 1, 1, -1);

  it('ranks by cosine, excludes the query, padding and zero rows', () => {
    const nb = topNeighbours(v, 2, Int32Array.of(1, 4, 7), { k: 3 });
    expect(Array.from(nb.subarray(0, 3))).toEqual([3, 2, 5]);
    expect(Array.from(nb.subarray(3, 6))).toEqual([6, 5, 2]);
    expect(Array.from(nb.subarray(6, 9))).toEqual([-1, -1, -1]);
    expect(labelPrecision(nb, Int32Array.of(1, 4, 7), 3, label)).toBeCloseTo(4 / 9, 12);
    const ex = topNeighbours(v, 2, Int32Array.of(1), { k: 2, exclude: (_q, c) => c === 3 });
    expect(Array.from(ex)).toEqual([2, 5]);
  });

  it('chance precision is the share of other candidates with the query’s label', () => {
    const cands = Int32Array.of(1, 2, 3, 4, 5, 6);
    expect(chanceLabelPrecision(Int32Array.of(1, 4), label, cands)).toBeCloseTo(2 / 5, 12);
  });
});
