/**
 * The plain-data form of a plotly figure: what the builders in `figures.ts` return, what `export.ts` renders and
 * what a notebook may pass to plotly itself. Only the fields this project sets are typed; plotly accepts the rest.
 */

/** One plotly trace. Arrays are plain `number[]`/`string[]` (typed arrays do not survive JSON and page transfer). */
export interface Trace {
  type: 'scatter' | 'bar';
  name?: string;
  x?: (number | string)[];
  y?: (number | string)[];
  [key: string]: unknown;
}

/** A plotly layout (width and height in CSS pixels; see theme.ts for the paper size). */
export interface Layout {
  width?: number;
  height?: number;
  [key: string]: unknown;
}

export interface Figure {
  data: Trace[];
  layout: Layout;
}
