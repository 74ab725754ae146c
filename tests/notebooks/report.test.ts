import { describe, expect, it } from 'vitest';
import {
  bucketCounts,
  evaluateValid,
  fixed,
  formatAucTable,
  formatColumnKind,
  formatTable,
  historyLengths,
  impressionsPerItem,
  prefixSvgIds,
  rateByLevel,
  tagFrequencies,
  topShare,
} from '../../src/notebooks/report';
import { notebookContext, parseNotebookScale } from '../../src/notebooks/context';
import type { InteractionSplit, ItemInfo } from '../../src/data/schema';

describe('tables', () => {
  it('formatTable aligns the first column left and the others right', () => {
    expect(formatTable(['model', 'AUC'], [['din', '0.7000'], ['historyBlind', '0.6'], ])).toBe(
      ['model            AUC', '------------  ------', 'din           0.7000', 'historyBlind     0.6', ''].join('\n'),
    );
  });

  it('formatAucTable prints model, valid AUC, logloss, gAUC, oracle AUC and the gap with 4 decimals', () => {
    const t = formatAucTable([
      { model: 'dcnDin', auc: 0.71234, logloss: 0.5, gauc: null, oracleAuc: 0.86916 },
      { model: 'x', auc: 0.6, logloss: 0.55, gauc: 0.61, oracleAuc: null },
    ]);
    const lines = t.trimEnd().split('\n');
    expect(lines[0]).toBe('model   valid AUC  logloss    gAUC  oracle AUC     gap');
    expect(lines[2]).toBe('dcnDin     0.7123   0.5000       -      0.8692  0.1568');
    expect(lines[3]).toBe('x          0.6000   0.5500  0.6100           -       -');
    expect(fixed(NaN)).toBe('-');
  });
});

describe('statistics', () => {
  const split = {
    split: 'train',
    rows: 4,
    userId: Int32Array.from([1, 1, 2, 3]),
    itemId: Int32Array.from([5, 5, 5, 7]),
    likesLevel: Int32Array.from([0, 0, 1, 9]),
    viewsLevel: Int32Array.from([0, 1, 1, 9]),
    itemSeq: { rows: 4, cols: 3, data: Int32Array.from([0, 0, 0, 0, 0, 4, 0, 4, 5, 1, 2, 3]) },
    label: Uint8Array.from([0, 1, 1, 0]),
    id: null,
  } as unknown as InteractionSplit;

  it('historyLengths counts non-zero positions; bucketCounts buckets them', () => {
    expect([...historyLengths(split)]).toEqual([0, 1, 2, 3]);
    expect(bucketCounts(historyLengths(split), [0, 1, 2])).toEqual([
      { label: '0', count: 1 },
      { label: '1', count: 1 },
      { label: '≥ 2', count: 2 },
    ]);
  });

  it('rateByLevel gives the positive rate per level, levels sorted', () => {
    expect(rateByLevel(split.viewsLevel, split.label!)).toEqual([
      { level: 0, rows: 1, positives: 0, rate: 0 },
      { level: 1, rows: 2, positives: 2, rate: 1 },
      { level: 9, rows: 1, positives: 0, rate: 0 },
    ]);
  });

  it('impressionsPerItem and topShare measure popularity concentration', () => {
    const imp = impressionsPerItem(split);
    expect(imp).toEqual([3, 1]);
    expect(topShare(imp, 0.5)).toBe(0.75);
  });

  it('tagFrequencies counts tags over items, padding row and zeros excluded, most frequent first', () => {
    const info = { rows: 3, itemTags: { rows: 3, cols: 2, data: Int32Array.from([9, 9, 0, 4, 4, 7]) } } as unknown as ItemInfo;
    expect(tagFrequencies(info)).toEqual([
      { tag: 4, items: 2 },
      { tag: 7, items: 1 },
    ]);
  });

  it('prefixSvgIds renames the ids and their references', () => {
    expect(prefixSvgIds('<clipPath id="mmctr-1"/><g clip-path="url(#mmctr-1)"/><use href="#mmctr-12"/>', 'fig')).toBe(
      '<clipPath id="fig-1"/><g clip-path="url(#fig-1)"/><use href="#fig-12"/>',
    );
  });
});

describe('notebook context', () => {
  it('follows MMCTR_SCALE, small by default', () => {
    expect(notebookContext({}).dataRoot).toBe('data/small');
    const tiny = notebookContext({ MMCTR_SCALE: 'tiny' });
    expect(tiny).toMatchObject({ scale: 'tiny', dataRoot: 'data/tiny', runsRoot: 'runs/notebooks/tiny' });
    expect(tiny.training.epochs).toBe(1);
    expect(() => parseNotebookScale('huge')).toThrow(/MMCTR_SCALE=huge: expected one of tiny, small/);
  });
});

describe('formatColumnKind', () => {
  it.each([
    [{ kind: 'int' as const }, 'int'],
    [{ kind: 'int' as const, min: 1, max: 400 }, 'int 1..400'],
    [{ kind: 'label' as const }, 'label 0/1'],
    [{ kind: 'intList' as const, length: 100, min: 0, max: 400 }, 'list<int>[100] 0..400'],
    [{ kind: 'floatList' as const, length: 128 }, 'list<float>[128]'],
  ])('%j → %s', (k, want) => {
    expect(formatColumnKind(k)).toBe(want);
  });
});

describe('evaluateValid', () => {
  it('gives gAUC where a user holds both labels, null where none does', () => {
    const labels = Uint8Array.from([0, 1, 0, 1]);
    const scores = Float32Array.from([0.1, 0.9, 0.2, 0.8]);
    expect(evaluateValid(labels, scores, Int32Array.from([1, 1, 2, 2]))).toMatchObject({ auc: 1, gauc: 1 });
    expect(evaluateValid(labels, scores, Int32Array.from([1, 2, 3, 4])).gauc).toBeNull();
  });
});
