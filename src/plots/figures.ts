/**
 * Pure builders of the paper's figures: plain data in, a plotly `Figure` ({data, layout}) out, in the theme of
 * theme.ts. No I/O; the same input gives the same figure. Series keep the order they are given in (and the
 * palette colour of that position), so callers that pass models in one order get one colour per model everywhere.
 */
import { MmctrError } from '../errors';
import { cumulative, type CalibrationBin } from './curves';
import { THEME, axis, baseLayout, categoryColor, roundTo, seriesColor, wrapLabel } from './theme';
import type { Figure, Trace } from './types';

export type { Figure, Layout, Trace } from './types';

export class FigureError extends MmctrError {}

/** Coordinates as drawn: 5 decimals keep sub-pixel precision and the SVG small. */
const r5 = (v: number) => roundTo(v, 5);

function requireNonEmpty(what: string, items: readonly unknown[]): void {
  if (items.length === 0) throw new FigureError(`${what}: nothing to draw (empty input)`);
}

function requireSameLength(what: string, a: readonly unknown[], b: readonly unknown[], names: [string, string]): void {
  if (a.length !== b.length) throw new FigureError(`${what}: ${names[0]} has ${a.length} values but ${names[1]} has ${b.length}`);
}

/** A diagonal reference line from (0, 0) to (1, 1). */
function diagonal(name: string, color: string, dash: string, showlegend: boolean): Trace {
  return {
    type: 'scatter',
    mode: 'lines',
    name,
    x: [0, 1],
    y: [0, 1],
    line: { color, width: THEME.referenceWidth, dash },
    showlegend,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// ROC
// ---------------------------------------------------------------------------------------------------------------

export interface RocSeries {
  name: string;
  fpr: number[];
  tpr: number[];
  /** Shown in the legend, 3 decimals. */
  auc: number;
}

/** ROC curves of the models (palette colours) and of the oracle (black, dashed), with the chance diagonal. */
export function rocFigure(curves: RocSeries[], oracle?: RocSeries): Figure {
  requireNonEmpty('rocFigure', curves);
  const line = (c: RocSeries, color: string, dash: string): Trace => {
    requireSameLength(`rocFigure ${c.name}`, c.fpr, c.tpr, ['fpr', 'tpr']);
    return {
      type: 'scatter',
      mode: 'lines',
      name: `${c.name} (${c.auc.toFixed(3)})`,
      x: c.fpr.map(r5),
      y: c.tpr.map(r5),
      line: { color, width: THEME.lineWidth, dash, shape: 'linear' },
    };
  };
  const data: Trace[] = [diagonal('chance (0.500)', THEME.chanceColor, 'dot', false)];
  if (oracle) data.push(line(oracle, THEME.referenceColor, 'dash'));
  curves.forEach((c, i) => data.push(line(c, seriesColor(i), 'solid')));
  const layout = baseLayout({ height: THEME.width, legend: 'inside-bottom-right' });
  layout.xaxis = { ...axis({ title: 'false positive rate', range: [0, 1], dtick: 0.2 }), constrain: 'domain' };
  layout.yaxis = { ...axis({ title: 'true positive rate', range: [0, 1], dtick: 0.2 }), scaleanchor: 'x', scaleratio: 1, constrain: 'domain' };
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// Training curves
// ---------------------------------------------------------------------------------------------------------------

export interface EpochPoint {
  epoch: number;
  /** Mean train BCE over the epoch. */
  trainLoss?: number;
  validAuc: number;
  validLogloss?: number;
}

export interface TrainingRun {
  name: string;
  epochs: EpochPoint[];
}

/**
 * Two stacked panels sharing the epoch axis: train loss (top; skipped when no run has one) and valid AUC
 * (bottom). One colour per run, one legend entry per run.
 */
export function trainingCurvesFigure(runs: TrainingRun[]): Figure {
  requireNonEmpty('trainingCurvesFigure', runs);
  const withLoss = runs.some((r) => r.epochs.some((e) => e.trainLoss !== undefined));
  const data: Trace[] = [];
  let maxEpoch = 1;
  runs.forEach((run, i) => {
    const color = seriesColor(i);
    const epochs = [...run.epochs].sort((a, b) => a.epoch - b.epoch);
    for (const e of epochs) maxEpoch = Math.max(maxEpoch, e.epoch);
    const style = { mode: 'lines+markers', line: { color, width: THEME.lineWidth }, marker: { color, size: THEME.markerSize }, legendgroup: run.name };
    const auc: Trace = { type: 'scatter', name: run.name, x: epochs.map((e) => e.epoch), y: epochs.map((e) => r5(e.validAuc)), xaxis: 'x', yaxis: 'y', ...style };
    if (withLoss) {
      const pts = epochs.filter((e) => e.trainLoss !== undefined);
      data.push({ type: 'scatter', name: run.name, x: pts.map((e) => e.epoch), y: pts.map((e) => r5(e.trainLoss as number)), xaxis: 'x', yaxis: 'y2', ...style });
      auc.showlegend = false;
    }
    data.push(auc);
  });
  const layout = baseLayout({ height: withLoss ? THEME.width + 60 : THEME.height, legend: 'above' });
  const xTicks = { dtick: 1, range: [0.7, maxEpoch + 0.3] as [number, number] };
  layout.xaxis = { ...axis({ title: 'epoch', ...xTicks }), anchor: 'y' };
  layout.yaxis = { ...axis({ title: 'valid AUC', tickformat: '.3f' }), domain: withLoss ? [0, 0.45] : [0, 1] };
  if (withLoss) {
    layout.xaxis2 = { ...axis(xTicks), anchor: 'y2', matches: 'x', showticklabels: false };
    layout.yaxis2 = { ...axis({ title: 'train loss', tickformat: '.2f' }), domain: [0.55, 1], anchor: 'x' };
    // The top panel's traces sit on the shared x axis; its domain is set by y2.
    for (const t of data) if (t.yaxis === 'y2') t.xaxis = 'x';
  }
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// AUC vs oracle
// ---------------------------------------------------------------------------------------------------------------

export interface AucRow {
  name: string;
  auc: number;
}

/**
 * Horizontal bars of valid AUC per model (best at the top, value printed), the axis starting at chance (0.5), and
 * the oracle AUC as a dashed vertical line.
 */
export function aucBarsFigure(rows: AucRow[], oracleAuc: number): Figure {
  requireNonEmpty('aucBarsFigure', rows);
  if (!(oracleAuc > 0 && oracleAuc <= 1)) throw new FigureError(`aucBarsFigure: oracle AUC ${oracleAuc}: expected a value in (0, 1]`);
  const sorted = [...rows].sort((a, b) => a.auc - b.auc); // plotly draws the first category at the bottom
  const data: Trace[] = [
    {
      type: 'bar',
      orientation: 'h',
      name: 'valid AUC',
      x: sorted.map((r) => r5(r.auc)),
      y: sorted.map((r) => r.name),
      marker: { color: seriesColor(0) },
      text: sorted.map((r) => r.auc.toFixed(3)),
      textposition: 'inside',
      insidetextanchor: 'end',
      textfont: { size: THEME.tickFontSize, color: '#ffffff' },
      cliponaxis: false,
      base: 0.5,
    },
  ];
  // Bars are drawn from the chance level: x holds AUC − 0.5.
  data[0].x = sorted.map((r) => r5(r.auc - 0.5));
  const hi = Math.max(oracleAuc, ...sorted.map((r) => r.auc));
  const layout = baseLayout({ height: Math.max(220, 90 + 34 * sorted.length), margin: { t: 28 } });
  layout.xaxis = axis({ title: 'valid AUC', range: [0.5, Math.min(1, hi + 0.03)], tickformat: '.2f' });
  layout.yaxis = { ...axis({ type: 'category', grid: false }), ticks: '' };
  layout.bargap = 0.3;
  layout.shapes = [
    {
      type: 'line',
      xref: 'x',
      yref: 'paper',
      x0: r5(oracleAuc),
      x1: r5(oracleAuc),
      y0: 0,
      y1: 1,
      line: { color: THEME.referenceColor, width: THEME.referenceWidth, dash: 'dash' },
    },
  ];
  layout.annotations = [
    {
      xref: 'x',
      yref: 'paper',
      x: r5(oracleAuc),
      y: 1,
      yanchor: 'bottom',
      xanchor: 'right',
      showarrow: false,
      text: `oracle ${oracleAuc.toFixed(3)}`,
      font: { size: THEME.tickFontSize },
    },
  ];
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// PCA explained variance
// ---------------------------------------------------------------------------------------------------------------

export interface ModalityVariance {
  name: string;
  /** Explained-variance ratio of each principal axis, decreasing (not cumulative). */
  ratios: number[];
}

/** Cumulative explained variance against the number of principal axes kept, one line per modality. */
export function explainedVarianceFigure(perModality: ModalityVariance[]): Figure {
  requireNonEmpty('explainedVarianceFigure', perModality);
  let kMax = 1;
  const data: Trace[] = perModality.map((m, i) => {
    requireNonEmpty(`explainedVarianceFigure ${m.name}`, m.ratios);
    kMax = Math.max(kMax, m.ratios.length);
    const cum = cumulative(m.ratios);
    return {
      type: 'scatter',
      mode: 'lines',
      name: `${m.name} (${(100 * cum[cum.length - 1]).toFixed(1)}%)`,
      x: cum.map((_, k) => k + 1),
      y: cum.map(r5),
      line: { color: seriesColor(i), width: THEME.lineWidth },
    };
  });
  const layout = baseLayout({ legend: 'inside-bottom-right' });
  layout.xaxis = axis({ title: 'principal axes kept', range: [0, kMax + 1] });
  layout.yaxis = axis({ title: 'cumulative explained variance', range: [0, 1], tickformat: '.0%', dtick: 0.2 });
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// 2-D embedding projection
// ---------------------------------------------------------------------------------------------------------------

export interface LabelledPoint {
  x: number;
  y: number;
  /** Category the point is coloured by (e.g. its synthetic topic). */
  label: string | number;
}

/**
 * A scatter of 2-D points, one colour per label (labels in natural order: numbers numerically). The legend is
 * shown only up to 12 labels; beyond that colours alone separate them.
 */
export function embedding2dFigure(points: LabelledPoint[], title: string): Figure {
  requireNonEmpty('embedding2dFigure', points);
  const groups = new Map<string | number, LabelledPoint[]>();
  for (const p of points) {
    const g = groups.get(p.label);
    if (g) g.push(p);
    else groups.set(p.label, [p]);
  }
  const labels = [...groups.keys()].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), 'en', { numeric: true }),
  );
  const showLegend = labels.length <= 12;
  const data: Trace[] = labels.map((label, i) => {
    const g = groups.get(label) as LabelledPoint[];
    return {
      type: 'scatter',
      mode: 'markers',
      name: String(label),
      x: g.map((p) => r5(p.x)),
      y: g.map((p) => r5(p.y)),
      marker: { color: categoryColor(i), size: 0.6 * THEME.markerSize + 1, opacity: 0.75, line: { width: 0 } },
    };
  });
  const layout = baseLayout({ title, height: THEME.width, legend: showLegend ? 'inside-top-right' : 'none' });
  layout.xaxis = { ...axis({ title: 'PC 1' }), constrain: 'domain' };
  layout.yaxis = { ...axis({ title: 'PC 2' }), scaleanchor: 'x', scaleratio: 1, constrain: 'domain' };
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// Calibration
// ---------------------------------------------------------------------------------------------------------------

export interface CalibrationSeries {
  name: string;
  bins: CalibrationBin[];
}

/**
 * Reliability diagram: fraction of positives against mean prediction per bin, one line per model, the
 * perfectly calibrated diagonal dashed. Axes end just past the largest prediction (CTRs rarely reach 1).
 */
export function calibrationFigure(curves: CalibrationSeries[]): Figure {
  requireNonEmpty('calibrationFigure', curves);
  let hi = 0;
  for (const c of curves) for (const b of c.bins) hi = Math.max(hi, b.meanPred, b.fracPos);
  const top = Math.min(1, Math.ceil((hi + 0.02) * 10) / 10);
  const data: Trace[] = [
    { ...diagonal('perfectly calibrated', THEME.referenceColor, 'dash', true), x: [0, top], y: [0, top] },
  ];
  curves.forEach((c, i) => {
    requireNonEmpty(`calibrationFigure ${c.name}`, c.bins);
    const color = seriesColor(i);
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: c.name,
      x: c.bins.map((b) => r5(b.meanPred)),
      y: c.bins.map((b) => r5(b.fracPos)),
      line: { color, width: THEME.lineWidth },
      marker: { color, size: THEME.markerSize },
    });
  });
  const layout = baseLayout({ height: THEME.width, legend: 'inside-top-left' });
  layout.xaxis = { ...axis({ title: 'mean predicted probability', range: [0, top], tickformat: '.1f' }), constrain: 'domain' };
  layout.yaxis = { ...axis({ title: 'fraction of clicks', range: [0, top], tickformat: '.1f' }), scaleanchor: 'x', scaleratio: 1, constrain: 'domain' };
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------------------------

export interface ThroughputRow {
  model: string;
  backend: string;
  samplesPerSec: number;
}

export interface ThroughputOptions {
  /** Axis title. Default 'train samples / s'. */
  valueTitle?: string;
  /** Log axis (backends spanning orders of magnitude). Default: log when max/min > 30. */
  log?: boolean;
}

/**
 * Grouped horizontal bars: one group per model (in first-appearance order, top to bottom), one bar colour per
 * backend (first-appearance order), the value printed at the bar's end.
 */
export function throughputFigure(rows: ThroughputRow[], options: ThroughputOptions = {}): Figure {
  requireNonEmpty('throughputFigure', rows);
  for (const r of rows) {
    if (!(r.samplesPerSec > 0)) throw new FigureError(`throughputFigure: ${r.model} on ${r.backend}: samples/s ${r.samplesPerSec} is not positive`);
  }
  const models = [...new Set(rows.map((r) => r.model))];
  const backends = [...new Set(rows.map((r) => r.backend))];
  const lo = Math.min(...rows.map((r) => r.samplesPerSec));
  const hi = Math.max(...rows.map((r) => r.samplesPerSec));
  const log = options.log ?? hi / lo > 30;
  const yOrder = [...models].reverse(); // first model at the top
  // Reversed too, so the first backend's bar sits on top within each group (plotly stacks groups bottom-up).
  const data: Trace[] = backends.map((backend, i) => {
    const own = rows.filter((r) => r.backend === backend);
    return {
      type: 'bar',
      orientation: 'h',
      name: backend,
      x: own.map((r) => r5(r.samplesPerSec)),
      y: own.map((r) => wrapLabel(r.model, 16)),
      marker: { color: seriesColor(i) },
      text: own.map((r) => formatRate(r.samplesPerSec)),
      textposition: 'outside',
      textfont: { size: THEME.tickFontSize - 2 },
      cliponaxis: false,
    };
  });
  data.reverse();
  const bars = models.length * backends.length;
  const layout = baseLayout({ height: Math.max(240, 110 + 15 * bars + 12 * models.length), legend: 'above', margin: { r: 40 } });
  const range: [number, number] | undefined = log ? [Math.floor(Math.log10(lo)), Math.log10(hi) + 0.35] : [0, hi * 1.18];
  layout.xaxis = axis({ title: options.valueTitle ?? 'train samples / s', type: log ? 'log' : 'linear', range });
  layout.yaxis = { ...axis({ type: 'category', grid: false }), ticks: '', categoryorder: 'array', categoryarray: yOrder.map((m) => wrapLabel(m, 16)) };
  layout.barmode = 'group';
  layout.bargap = 0.25;
  layout.bargroupgap = 0.05;
  (layout.legend as Record<string, unknown>).traceorder = 'reversed';
  return { data, layout };
}

/** 2,429 → '2,429'; 94.2 → '94'; 3 → '3'. */
function formatRate(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------------------------------
// Task 1 ablation
// ---------------------------------------------------------------------------------------------------------------

export interface AblationRow {
  /** Item-embedding strategy. */
  name: string;
  /** Valid AUC of the CTR model trained with it. */
  validAuc: number;
  /** Retrieval precision@10 of same-topic items. */
  topicP10?: number;
  /** Retrieval precision@10 of same-community items. */
  communityP10?: number;
}

/**
 * Task 1's ablation: per strategy, the downstream valid AUC (left panel, bars from chance) and, when given, the
 * retrieval precision@10 by topic and by community (right panel). Strategies share the y axis, first at the top.
 */
export function ablationFigure(rows: AblationRow[]): Figure {
  requireNonEmpty('ablationFigure', rows);
  const withRetrieval = rows.some((r) => r.topicP10 !== undefined || r.communityP10 !== undefined);
  const names = rows.map((r) => wrapLabel(r.name, 16));
  const order = [...names].reverse();
  const data: Trace[] = [
    {
      type: 'bar',
      orientation: 'h',
      name: 'valid AUC',
      base: 0.5,
      x: rows.map((r) => r5(r.validAuc - 0.5)),
      y: names,
      marker: { color: seriesColor(0) },
      text: rows.map((r) => r.validAuc.toFixed(3)),
      textposition: 'inside',
      insidetextanchor: 'end',
      textfont: { size: THEME.tickFontSize - 1, color: '#ffffff' },
      xaxis: 'x',
      yaxis: 'y',
      showlegend: false,
    },
  ];
  const layout = baseLayout({ height: Math.max(240, 120 + 52 * rows.length), legend: withRetrieval ? 'above' : 'none', margin: { l: 8 } });
  const aucHi = Math.max(...rows.map((r) => r.validAuc));
  layout.xaxis = { ...axis({ title: 'valid AUC', range: [0.5, Math.min(1, aucHi + 0.02)], tickformat: '.2f', dtick: 0.1 }), domain: withRetrieval ? [0, 0.47] : [0, 1], tickangle: 0 };
  layout.yaxis = { ...axis({ type: 'category', grid: false }), ticks: '', categoryorder: 'array', categoryarray: order };
  if (withRetrieval) {
    const part = (key: 'topicP10' | 'communityP10', name: string, color: string): Trace => {
      const own = rows.filter((r) => r[key] !== undefined);
      return {
        type: 'bar',
        orientation: 'h',
        name,
        x: own.map((r) => r5(r[key] as number)),
        y: own.map((r) => wrapLabel(r.name, 16)),
        marker: { color },
        xaxis: 'x2',
        yaxis: 'y',
      };
    };
    // Reversed: the first legend entry's bar sits on top within a group.
    data.push(part('communityP10', 'community p@10', seriesColor(2)), part('topicP10', 'topic p@10', seriesColor(1)));
    layout.xaxis2 = { ...axis({ title: 'retrieval p@10', range: [0, 1], tickformat: '.1f', dtick: 0.5 }), domain: [0.55, 1], anchor: 'y', tickangle: 0 };
    layout.barmode = 'group';
    (layout.legend as Record<string, unknown>).traceorder = 'reversed';
    Object.assign(layout.legend as Record<string, unknown>, { x: 1, xanchor: 'right' });
  }
  layout.bargap = 0.25;
  return { data, layout };
}

// ---------------------------------------------------------------------------------------------------------------
// Data distributions (notebook 01)
// ---------------------------------------------------------------------------------------------------------------

export interface ShareSeries {
  /** Legend name (e.g. the split). */
  name: string;
  /** One share (0–1) per bin, in the order of the figure's `labels`. */
  shares: number[];
}

export interface HistogramOptions {
  /** Title of the x axis (what the bins are). */
  xTitle: string;
  /** Title of the y axis. Default 'share of rows'. */
  yTitle?: string;
}

/** Grouped bars of pre-binned shares: one group per bin label, one bar per series (e.g. history length per split). */
export function histogramFigure(labels: string[], series: ShareSeries[], options: HistogramOptions): Figure {
  requireNonEmpty('histogramFigure', labels);
  requireNonEmpty('histogramFigure', series);
  for (const s of series) {
    requireSameLength(`histogramFigure ${s.name}`, s.shares, labels, ['shares', 'labels']);
    for (const v of s.shares) if (!(v >= 0 && v <= 1)) throw new FigureError(`histogramFigure ${s.name}: share ${v} is not in [0, 1]`);
  }
  const data: Trace[] = series.map((s, i) => ({
    type: 'bar',
    name: s.name,
    x: labels,
    y: s.shares.map(r5),
    marker: { color: seriesColor(i) },
  }));
  const layout = baseLayout({ legend: series.length > 1 ? 'above' : 'none' });
  layout.xaxis = { ...axis({ title: options.xTitle, type: 'category', grid: false }), categoryorder: 'array', categoryarray: labels };
  layout.yaxis = axis({ title: options.yTitle ?? 'share of rows', tickformat: '.0%', range: [0, Math.max(...series.flatMap((s) => s.shares)) * 1.08] });
  layout.barmode = 'group';
  layout.bargap = 0.2;
  layout.bargroupgap = 0.05;
  return { data, layout };
}

export interface RankFrequencySeries {
  /** Legend name. */
  name: string;
  /** Counts, any order (sorted decreasingly here); zeros are dropped (no place on a log axis). */
  counts: number[];
}

export interface RankFrequencyOptions {
  /** Title of the x axis. Default 'rank'. */
  xTitle?: string;
  /** Title of the y axis. Default 'count'. */
  yTitle?: string;
  /** Points kept per series, log-spaced in rank (the head is kept whole). Default 200. */
  maxPoints?: number;
}

/** Ranks kept for a log-log plot: 1..n thinned to about `maxPoints`, evenly spaced in log(rank), always with 1 and n. */
export function logSpacedRanks(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i + 1);
  const ranks = new Set<number>();
  for (let i = 0; i < maxPoints; i++) ranks.add(Math.round(Math.exp((Math.log(n) * i) / (maxPoints - 1))));
  ranks.add(1);
  ranks.add(n);
  return [...ranks].sort((a, b) => a - b);
}

/** Rank–frequency curves on log–log axes (popularity of items, frequency of tags): a straight line is a Zipf law. */
export function rankFrequencyFigure(series: RankFrequencySeries[], options: RankFrequencyOptions = {}): Figure {
  requireNonEmpty('rankFrequencyFigure', series);
  const maxPoints = options.maxPoints ?? 200;
  const data: Trace[] = series.map((s, i) => {
    const sorted = s.counts.filter((c) => c > 0).sort((a, b) => b - a);
    if (sorted.length === 0) throw new FigureError(`rankFrequencyFigure ${s.name}: no positive counts`);
    const ranks = logSpacedRanks(sorted.length, maxPoints);
    return {
      type: 'scatter',
      mode: 'lines',
      name: s.name,
      x: ranks,
      y: ranks.map((r) => sorted[r - 1]),
      line: { color: seriesColor(i), width: THEME.lineWidth },
    };
  });
  const layout = baseLayout({ legend: series.length > 1 ? 'inside-top-right' : 'none' });
  // dtick 1 on a log axis: a tick per decade only (plotly's default labels 2 and 5 too, which crowds a column figure).
  layout.xaxis = axis({ title: options.xTitle ?? 'rank', type: 'log', dtick: 1 });
  layout.yaxis = axis({ title: options.yTitle ?? 'count', type: 'log', dtick: 1 });
  return { data, layout };
}
