/**
 * Dense row-major matrices on typed arrays, and strided views into them (a column block of a wider matrix, e.g.
 * the text part of a [text ‖ image] table, without copying).
 */
import { MmctrError } from '../errors';

export type Floats = Float32Array | Float64Array;

/** Element (r, c) is `data[offset + r * stride + c]`. */
export interface MatView {
  data: Floats;
  rows: number;
  cols: number;
  /** Distance between two rows. Default `cols`. */
  stride?: number;
  /** Index of element (0, 0). Default 0. */
  offset?: number;
}

export class LinalgError extends MmctrError {}

export function strideOf(m: MatView): number {
  return m.stride ?? m.cols;
}

export function offsetOf(m: MatView): number {
  return m.offset ?? 0;
}

/** A view of columns [c0, c0 + cols) of `m`. */
export function colBlock(m: MatView, c0: number, cols: number): MatView {
  if (c0 < 0 || cols < 0 || c0 + cols > m.cols) {
    throw new LinalgError(`colBlock: columns [${c0}, ${c0 + cols}) outside a matrix of ${m.cols} columns`);
  }
  return { data: m.data, rows: m.rows, cols, stride: strideOf(m), offset: offsetOf(m) + c0 };
}

/** Checks that a view fits inside its buffer. */
export function checkView(m: MatView, name = 'matrix'): void {
  const s = strideOf(m);
  const o = offsetOf(m);
  if (m.rows < 0 || m.cols < 0 || s < m.cols || o < 0) {
    throw new LinalgError(`${name}: bad shape ${m.rows}×${m.cols} (stride ${s}, offset ${o})`);
  }
  if (m.rows > 0 && m.cols > 0 && o + (m.rows - 1) * s + m.cols > m.data.length) {
    throw new LinalgError(`${name}: ${m.rows}×${m.cols} view (stride ${s}, offset ${o}) exceeds its ${m.data.length} values`);
  }
}

/** Column means of a view, in float64. */
export function columnMeans(m: MatView): Float64Array {
  checkView(m);
  const s = strideOf(m);
  const o = offsetOf(m);
  const mean = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) {
    const base = o + r * s;
    for (let c = 0; c < m.cols; c++) mean[c] += m.data[base + c];
  }
  if (m.rows > 0) for (let c = 0; c < m.cols; c++) mean[c] /= m.rows;
  return mean;
}

/** Transpose of a contiguous rows×cols matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}
