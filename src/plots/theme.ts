/**
 * The one paper theme of every figure: sizes, fonts, axes, legends and colours.
 *
 * Figures are laid out at single-column paper width, 3.5 in, drawn at 144 px per inch (504 px wide), so a size in
 * points at print size is 2 px here: the 8 pt body text is 16 px, the 7 pt tick labels 14 px. The PNG export at
 * scale 2 gives 1008 px across 3.5 in (288 dpi). One font family, installed on Debian by `fonts-dejavu-core`, so a
 * headless export on any machine measures and draws the same glyphs.
 */
import { MmctrError } from '../errors';
import type { Layout } from './types';

/** Print geometry. */
export const PAPER = {
  /** Single-column width of a two-column paper, inches. */
  columnWidthIn: 3.5,
  /** CSS pixels per inch the layouts are drawn at (2 px per point). */
  pxPerIn: 144,
} as const;

/** px per typographic point at PAPER.pxPerIn. */
const PX_PER_PT = PAPER.pxPerIn / 72;

export const THEME = {
  /** An explicit family available on Debian (fonts-dejavu-core); `sans-serif` only as a viewer's fallback. */
  fontFamily: 'DejaVu Sans, sans-serif',
  /** 504 px: the column width. */
  width: Math.round(PAPER.columnWidthIn * PAPER.pxPerIn),
  /** Default height (4:3). */
  height: Math.round((PAPER.columnWidthIn * PAPER.pxPerIn * 3) / 4),
  /** Axis titles and annotations: 8 pt. */
  fontSize: 8 * PX_PER_PT,
  /** Tick labels and legend entries: 7 pt. */
  tickFontSize: 7 * PX_PER_PT,
  /** Figure title (when one is given): 9 pt. */
  titleFontSize: 9 * PX_PER_PT,
  /** Data lines: 1.25 pt. */
  lineWidth: 1.25 * PX_PER_PT,
  /** Reference lines (chance, oracle, perfect calibration): 1 pt. */
  referenceWidth: 1 * PX_PER_PT,
  markerSize: 3 * PX_PER_PT,
  textColor: '#222222',
  axisColor: '#444444',
  gridColor: '#e6e6e6',
  /** Colour of references: the oracle, chance, the perfectly calibrated diagonal. */
  referenceColor: '#000000',
  chanceColor: '#999999',
  /**
   * Series colours: the Okabe–Ito palette (distinguishable with colour-blindness and in greyscale order), without
   * its black (kept for references) and yellow (too light for thin lines on white).
   */
  palette: ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#7F7F7F'],
  /** Many categories (e.g. 24 synthetic topics): plotly's Dark24. */
  categoricalPalette: [
    '#2E91E5', '#E15F99', '#1CA71C', '#FB0D0D', '#DA16FF', '#222A2A', '#B68100', '#750D86',
    '#EB663B', '#511CFB', '#00A08B', '#FB00D1', '#FC0080', '#B2828D', '#6C7C32', '#778AAE',
    '#862A16', '#A777F1', '#620042', '#1616A7', '#DA60CA', '#6C4516', '#0D2A63', '#AF0038',
  ],
} as const;

/** Colour of the i-th series (cycles). */
export function seriesColor(i: number): string {
  return THEME.palette[((i % THEME.palette.length) + THEME.palette.length) % THEME.palette.length];
}

/** Colour of the i-th of many categories (cycles). */
export function categoryColor(i: number): string {
  const p = THEME.categoricalPalette;
  return p[((i % p.length) + p.length) % p.length];
}

export interface AxisOptions {
  /** Axis title. Default none. */
  title?: string;
  /** Fixed range [lo, hi] (in log10 units for a log axis). Default: plotly's autorange. */
  range?: [number, number];
  /** 'log' for a log axis. Default 'linear'. */
  type?: 'linear' | 'log' | 'category';
  /** d3 tick format, e.g. '.0%'. Default plotly's. */
  tickformat?: string;
  /** Tick step (linear axes). Default plotly's. */
  dtick?: number;
  /** Draw grid lines. Default true. */
  grid?: boolean;
}

/** A themed axis: a line on the plot edge, outside ticks, light grid, no zero line. */
export function axis(opts: AxisOptions = {}): Record<string, unknown> {
  const a: Record<string, unknown> = {
    showline: true,
    linecolor: THEME.axisColor,
    linewidth: 1,
    ticks: 'outside',
    ticklen: 4,
    tickcolor: THEME.axisColor,
    tickfont: { size: THEME.tickFontSize },
    showgrid: opts.grid ?? true,
    gridcolor: THEME.gridColor,
    zeroline: false,
    automargin: true,
  };
  if (opts.title !== undefined) a.title = { text: opts.title, font: { size: THEME.fontSize }, standoff: 6 };
  if (opts.range) a.range = opts.range;
  if (opts.type) a.type = opts.type;
  if (opts.tickformat) a.tickformat = opts.tickformat;
  if (opts.dtick !== undefined) a.dtick = opts.dtick;
  return a;
}

export type LegendPlace = 'inside-bottom-right' | 'inside-top-right' | 'inside-top-left' | 'above' | 'none';

/** Where a legend goes; `above` lays entries out horizontally over the plot (the top margin grows to fit). */
export function legend(place: LegendPlace): Record<string, unknown> | undefined {
  const common = {
    font: { size: THEME.tickFontSize },
    bgcolor: 'rgba(255,255,255,0.85)',
    borderwidth: 0,
    tracegroupgap: 2,
    itemwidth: 30,
  };
  switch (place) {
    case 'inside-bottom-right':
      return { ...common, x: 0.98, y: 0.02, xanchor: 'right', yanchor: 'bottom' };
    case 'inside-top-right':
      return { ...common, x: 0.98, y: 0.98, xanchor: 'right', yanchor: 'top' };
    case 'inside-top-left':
      return { ...common, x: 0.02, y: 0.98, xanchor: 'left', yanchor: 'top' };
    case 'above':
      return { ...common, orientation: 'h', x: 0, y: 1.02, xanchor: 'left', yanchor: 'bottom' };
    case 'none':
      return undefined;
    default: {
      const never: never = place;
      throw new MmctrError(`unknown legend place ${String(never)}`);
    }
  }
}

export interface LayoutOptions {
  /** Figure title. Default none (captions live in the paper). */
  title?: string;
  /** Height in px. Default THEME.height. */
  height?: number;
  /** Legend placement. Default 'none'. */
  legend?: LegendPlace;
  /** Margins in px (automargin grows them for long labels). Default l 60, r 12, t 12 (40 with a title), b 52. */
  margin?: Partial<Record<'l' | 'r' | 't' | 'b', number>>;
}

/** The base layout every builder extends: size, font, white background, margins, legend. */
export function baseLayout(opts: LayoutOptions = {}): Layout {
  const place = opts.legend ?? 'none';
  const layout: Layout = {
    width: THEME.width,
    height: opts.height ?? THEME.height,
    font: { family: THEME.fontFamily, size: THEME.fontSize, color: THEME.textColor },
    paper_bgcolor: '#ffffff',
    plot_bgcolor: '#ffffff',
    margin: { l: 60, r: 12, t: opts.title ? 40 : 12, b: 52, pad: 0, ...opts.margin },
    showlegend: place !== 'none',
    hovermode: false,
  };
  const leg = legend(place);
  if (leg) layout.legend = leg;
  if (opts.title) layout.title = { text: opts.title, font: { size: THEME.titleFontSize }, x: 0.5, xanchor: 'center', y: 0.98, yanchor: 'top' };
  return layout;
}

/**
 * Breaks a long category label into lines of at most `maxChars` at spaces (plotly's `<br>`), so bar labels stay
 * inside a single column. Words longer than `maxChars` stay whole.
 */
export function wrapLabel(text: string, maxChars = 18): string {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= maxChars) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('<br>');
}

/** Rounds for storage and display (plotly and JSON keep 17 digits otherwise, which only costs bytes); −0 → 0. */
export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f + 0;
}
