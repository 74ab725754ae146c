/** The pure builders (src/plots/figures.ts), the theme, and the bench-results readers of paperFigures.ts. */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ablationFigure,
  aucBarsFigure,
  calibrationFigure,
  embedding2dFigure,
  explainedVarianceFigure,
  rocFigure,
  throughputFigure,
  trainingCurvesFigure,
  type Figure,
} from '../../src/plots/figures';
import {
  FigureInputs,
  PAPER_FIGURES,
  ablationFromResults,
  aucRowsFromZoo,
  zooRunLabel,
  backendFromNotes,
  numericCell,
  selectFigures,
  throughputFromNative,
  throughputFromTrain,
} from '../../src/plots/paperFigures';
import { THEME, seriesColor, wrapLabel } from '../../src/plots/theme';

const FIXTURE = path.resolve(__dirname, 'fixture');

/** Every figure: the theme's size and font, JSON-clean (what crosses into the page). */
function expectThemed(f: Figure): void {
  expect(f.layout.width).toBe(THEME.width);
  expect(f.layout.height).toBeGreaterThan(100);
  expect((f.layout.font as { family: string }).family).toBe(THEME.fontFamily);
  expect(JSON.parse(JSON.stringify(f))).toEqual(f);
}

describe('theme', () => {
  it('sizes for a 3.5 in column at 144 px/in: 8 pt text is 16 px', () => {
    expect(THEME.width).toBe(504);
    expect(THEME.fontSize).toBe(16);
    expect(THEME.tickFontSize).toBe(14);
    expect(THEME.fontFamily).toMatch(/^DejaVu Sans/);
    expect(seriesColor(0)).toBe(seriesColor(THEME.palette.length));
  });

  it('wraps long labels at spaces', () => {
    expect(wrapLabel('fuse concat-pca: concat-pca + word2vec', 16)).toBe('fuse concat-pca:<br>concat-pca +<br>word2vec');
    expect(wrapLabel('short', 16)).toBe('short');
    expect(wrapLabel('averyveryverylongword x', 5)).toBe('averyveryverylongword<br>x');
  });
});

describe('builders', () => {
  const curve = (name: string, auc: number) => ({ name, auc, fpr: [0, 0.2, 1], tpr: [0, 0.6, 1] });

  it('rocFigure: chance diagonal, oracle dashed black, models in palette order with AUC in the legend', () => {
    const f = rocFigure([curve('din', 0.70021), curve('dcn', 0.68)], curve('oracle', 0.869153));
    expectThemed(f);
    expect(f.data.map((t) => t.name)).toEqual(['chance (0.500)', 'oracle (0.869)', 'din (0.700)', 'dcn (0.680)']);
    expect(f.data[1].line).toMatchObject({ color: THEME.referenceColor, dash: 'dash' });
    expect((f.data[2].line as { color: string }).color).toBe(seriesColor(0));
    expect((f.data[3].line as { color: string }).color).toBe(seriesColor(1));
    expect(f.data[2].x).toEqual([0, 0.2, 1]);
    expect((f.layout.yaxis as { range: number[] }).range).toEqual([0, 1]);
    expect(rocFigure([curve('din', 0.7)]).data).toHaveLength(2);
    expect(() => rocFigure([])).toThrow(/nothing to draw/);
    expect(() => rocFigure([{ name: 'x', auc: 0.5, fpr: [0, 1], tpr: [0] }])).toThrow(/fpr has 2 values but tpr has 1/);
  });

  it('trainingCurvesFigure: a loss panel over an AUC panel, one legend entry per run', () => {
    const f = trainingCurvesFigure([
      { name: 'din', epochs: [{ epoch: 2, trainLoss: 0.5, validAuc: 0.7 }, { epoch: 1, trainLoss: 0.55, validAuc: 0.69 }] },
      { name: 'dcn', epochs: [{ epoch: 1, trainLoss: 0.54, validAuc: 0.67 }] },
    ]);
    expectThemed(f);
    expect(f.data).toHaveLength(4);
    const loss = f.data.filter((t) => t.yaxis === 'y2');
    const auc = f.data.filter((t) => t.yaxis === 'y');
    expect(loss.map((t) => t.y)).toEqual([[0.55, 0.5], [0.54]]);
    expect(auc[0].x).toEqual([1, 2]); // sorted by epoch
    expect(auc.every((t) => t.showlegend === false)).toBe(true);
    expect(f.layout.yaxis2).toBeDefined();
    const noLoss = trainingCurvesFigure([{ name: 'din', epochs: [{ epoch: 1, validAuc: 0.7 }] }]);
    expect(noLoss.data).toHaveLength(1);
    expect(noLoss.layout.yaxis2).toBeUndefined();
  });

  it('aucBarsFigure: bars from chance, best on top, oracle line and label', () => {
    const f = aucBarsFigure([{ name: 'a', auc: 0.7 }, { name: 'b', auc: 0.63 }, { name: 'c', auc: 0.68 }], 0.869153);
    expectThemed(f);
    expect(f.data[0].y).toEqual(['b', 'c', 'a']); // plotly draws the first category at the bottom
    expect(f.data[0].base).toBe(0.5);
    expect(f.data[0].x).toEqual([0.13, 0.18, 0.2]);
    expect(f.data[0].text).toEqual(['0.630', '0.680', '0.700']);
    expect((f.layout.shapes as { x0: number }[])[0].x0).toBe(0.86915);
    expect((f.layout.annotations as { text: string }[])[0].text).toBe('oracle 0.869');
    expect(() => aucBarsFigure([{ name: 'a', auc: 0.7 }], 1.5)).toThrow(/oracle AUC 1.5/);
  });

  it('explainedVarianceFigure: cumulative lines against axes kept', () => {
    const f = explainedVarianceFigure([{ name: 'text', ratios: [0.5, 0.25, 0.125] }, { name: 'image', ratios: [0.4] }]);
    expectThemed(f);
    expect(f.data[0]).toMatchObject({ name: 'text (87.5%)', x: [1, 2, 3], y: [0.5, 0.75, 0.875] });
    expect(f.data[1].name).toBe('image (40.0%)');
    expect(() => explainedVarianceFigure([{ name: 'x', ratios: [] }])).toThrow(/explainedVarianceFigure x: nothing to draw/);
  });

  it('embedding2dFigure: one trace per label in natural order; legend only for few labels', () => {
    const pts = [10, 2, 1, 2].map((label, i) => ({ x: i, y: -i, label }));
    const f = embedding2dFigure(pts, 'items');
    expectThemed(f);
    expect(f.data.map((t) => t.name)).toEqual(['1', '2', '10']);
    expect(f.data[1]).toMatchObject({ x: [1, 3], y: [-1, -3] });
    expect(f.layout.showlegend).toBe(true);
    expect((f.layout.title as { text: string }).text).toBe('items');
    const many = embedding2dFigure(Array.from({ length: 24 }, (_, i) => ({ x: i, y: i, label: i })), 't');
    expect(many.layout.showlegend).toBe(false);
    expect((many.data[23].marker as { color: string }).color).not.toBe((many.data[0].marker as { color: string }).color);
  });

  it('calibrationFigure: the diagonal and one line per model, axes just past the data', () => {
    const f = calibrationFigure([{ name: 'din', bins: [{ meanPred: 0.1, fracPos: 0.12, count: 5 }, { meanPred: 0.45, fracPos: 0.5, count: 3 }] }]);
    expectThemed(f);
    expect(f.data.map((t) => t.name)).toEqual(['perfectly calibrated', 'din']);
    expect((f.layout.xaxis as { range: number[] }).range).toEqual([0, 0.6]);
    expect(f.data[1]).toMatchObject({ x: [0.1, 0.45], y: [0.12, 0.5] });
  });

  it('throughputFigure: one bar colour per backend, log axis over wide ranges', () => {
    const rows = [
      { model: 'small', backend: 'wasm', samplesPerSec: 661 },
      { model: 'small', backend: 'cpu', samplesPerSec: 3 },
      { model: 'baseline', backend: 'wasm', samplesPerSec: 94 },
    ];
    const f = throughputFigure(rows);
    expectThemed(f);
    expect(f.data.map((t) => t.name).sort()).toEqual(['cpu', 'wasm']);
    expect((f.layout.xaxis as { type: string }).type).toBe('log');
    expect((f.layout.yaxis as { categoryarray: string[] }).categoryarray).toEqual(['baseline', 'small']); // first model on top
    expect(f.data.find((t) => t.name === 'wasm')?.text).toEqual(['661', '94']);
    expect((throughputFigure(rows.slice(0, 1)).layout.xaxis as { type: string }).type).toBe('linear');
    expect(() => throughputFigure([{ model: 'm', backend: 'b', samplesPerSec: 0 }])).toThrow(/m on b: samples\/s 0/);
  });

  it('ablationFigure: AUC bars, plus a retrieval panel when p@10 is given', () => {
    const f = ablationFigure([
      { name: 'concat-pca', validAuc: 0.7, topicP10: 0.89, communityP10: 0.04 },
      { name: 'word2vec', validAuc: 0.77, topicP10: 0.52, communityP10: 0.6 },
    ]);
    expectThemed(f);
    expect(f.data).toHaveLength(3);
    expect(f.data[0]).toMatchObject({ name: 'valid AUC', base: 0.5, x: [0.2, 0.27], y: ['concat-pca', 'word2vec'] });
    expect(f.data.find((t) => t.name === 'topic p@10')).toMatchObject({ xaxis: 'x2', x: [0.89, 0.52] });
    expect(f.layout.xaxis2).toBeDefined();
    const only = ablationFigure([{ name: 'a', validAuc: 0.7 }]);
    expect(only.data).toHaveLength(1);
    expect(only.layout.xaxis2).toBeUndefined();
  });
});

describe('bench results readers', () => {
  const inputs = new FigureInputs({ resultsDir: path.join(FIXTURE, 'results'), dataDir: path.join(FIXTURE, 'data') });

  it('read numeric cells, and skip "-"', () => {
    expect(numericCell('0.70021')).toBe(0.70021);
    expect(numericCell(3101)).toBe(3101);
    expect(numericCell('-')).toBeNull();
    expect(numericCell('512 (1024: out of memory)')).toBeNull();
    expect(numericCell(Number.NaN)).toBeNull();
  });

  it('zoo.json → AUC rows and the oracle AUC (AUC + gap)', () => {
    const { rows, oracleAuc } = aucRowsFromZoo(inputs.bench('zoo'));
    expect(rows).toEqual([
      { name: 'din', auc: 0.70021 },
      { name: 'historyBlind', auc: 0.63432 },
    ]);
    expect(oracleAuc).toBeCloseTo(0.86915, 10);
  });

  it('labels zoo runs of other presets or data roots so they are not taken for the standard model', () => {
    expect(zooRunLabel({ model: 'din', preset: 'dinSmall', settings: 'b512 lr0.002' })).toBe('din');
    expect(zooRunLabel({ model: 'din', preset: 'dinMatchSmall', settings: 'b512' })).toBe('din · dinMatchSmall');
    expect(zooRunLabel({ model: 'din', preset: 'dinSmall', settings: 'b512 p1 L64 data /work/main/runs/acc/data-fuse' })).toBe('din · data-fuse');
  });

  it('native.json and train.json → throughput rows with the PyTorch references', () => {
    const native = throughputFromNative(inputs.bench('native'));
    expect(native).toContainEqual({ model: 'DIN-like small', backend: 'native-wasm', samplesPerSec: 2429 });
    expect(native).toContainEqual({ model: 'DIN-like small', backend: 'PyTorch 1.13 CPU', samplesPerSec: 973 });
    const train = throughputFromTrain(inputs.bench('train'));
    expect(train).toEqual([
      { model: 'dinBaseline', backend: 'native-wasm', samplesPerSec: 211 },
      { model: 'dcnSmall', backend: 'native-wasm', samplesPerSec: 5689 },
      { model: 'dinBaseline', backend: 'PyTorch 1.13 CPU', samplesPerSec: 318 },
    ]);
    expect(backendFromNotes(['Backend: wasm. samples/s = …'])).toBe('wasm');
    expect(backendFromNotes(['nothing'])).toBeNull();
  });

  it('embedAblation.json → ablation rows', () => {
    expect(ablationFromResults(inputs.bench('embedAblation'))).toEqual([
      { name: 'concat-pca', validAuc: 0.7002, topicP10: 0.8866, communityP10: 0.0442 },
      { name: 'word2vec', validAuc: 0.7713, topicP10: 0.517, communityP10: 0.599 },
    ]);
  });

  it('every paper figure builds from the fixture; unknown names are refused', () => {
    for (const f of PAPER_FIGURES) expectThemed(f.build(inputs));
    expect(selectFigures(['roc', 'calibration']).map((f) => f.name)).toEqual(['roc', 'calibration']);
    expect(() => selectFigures(['nope'])).toThrow(/unknown figure nope/);
    const missing = new FigureInputs({ resultsDir: path.join(FIXTURE, 'nowhere'), dataDir: FIXTURE });
    expect(() => missing.bench('zoo')).toThrow(/nowhere\/zoo.json does not exist/);
    expect(() => missing.data('roc')).toThrow(/roc.json does not exist/);
  });
});
