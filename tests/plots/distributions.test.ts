/** The data-distribution builders of notebook 01: histogramFigure and rankFrequencyFigure (+ logSpacedRanks). */
import { describe, expect, it } from 'vitest';
import { FigureError, histogramFigure, logSpacedRanks, rankFrequencyFigure } from '../../src/plots/figures';
import { THEME } from '../../src/plots/theme';

describe('histogramFigure', () => {
  const labels = ['0', '1–4', '5–9'];
  it('draws one bar trace per series over the bin labels, in order, with a percent axis', () => {
    const f = histogramFigure(labels, [{ name: 'train', shares: [0.1, 0.5, 0.4] }, { name: 'valid', shares: [0, 0.25, 0.75] }], { xTitle: 'history length' });
    expect(f.data.map((t) => t.name)).toEqual(['train', 'valid']);
    expect(f.data[1].x).toEqual(labels);
    expect(f.data[1].y).toEqual([0, 0.25, 0.75]);
    expect((f.layout.yaxis as Record<string, unknown>).tickformat).toBe('.0%');
    expect(f.layout.width).toBe(THEME.width);
    expect(f.layout.showlegend).toBe(true);
  });
  it('rejects mismatched lengths and shares outside [0, 1]', () => {
    expect(() => histogramFigure(labels, [{ name: 'a', shares: [1] }], { xTitle: 'x' })).toThrow(FigureError);
    expect(() => histogramFigure(labels, [{ name: 'a', shares: [0.5, 0.7, -0.2] }], { xTitle: 'x' })).toThrow(/share -0.2/);
  });
});

describe('logSpacedRanks', () => {
  it('keeps every rank up to maxPoints', () => {
    expect(logSpacedRanks(5, 10)).toEqual([1, 2, 3, 4, 5]);
  });
  it('thins long tails log-evenly, keeping 1 and n, sorted and distinct', () => {
    const r = logSpacedRanks(100_000, 50);
    expect(r[0]).toBe(1);
    expect(r[r.length - 1]).toBe(100_000);
    expect(r.length).toBeLessThanOrEqual(52);
    for (let i = 1; i < r.length; i++) expect(r[i]).toBeGreaterThan(r[i - 1]);
    // About as many points per decade in the tail.
    const decade = (lo: number, hi: number) => r.filter((x) => x >= lo && x < hi).length;
    expect(Math.abs(decade(1000, 10_000) - decade(10_000, 100_000))).toBeLessThanOrEqual(1);
  });
});

describe('rankFrequencyFigure', () => {
  it('sorts counts decreasingly, drops zeros and uses log axes', () => {
    const f = rankFrequencyFigure([{ name: 'items', counts: [3, 0, 10, 1, 7] }]);
    expect(f.data[0].x).toEqual([1, 2, 3, 4]);
    expect(f.data[0].y).toEqual([10, 7, 3, 1]);
    expect((f.layout.xaxis as Record<string, unknown>).type).toBe('log');
    expect((f.layout.yaxis as Record<string, unknown>).type).toBe('log');
  });
  it('rejects a series without positive counts', () => {
    expect(() => rankFrequencyFigure([{ name: 'empty', counts: [0, 0] }])).toThrow(/no positive counts/);
  });
});
