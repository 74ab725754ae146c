/**
 * Notebook files (nbformat 4) as plain objects: reading, the normalisation that keeps executed notebooks
 * byte-for-byte reproducible, and writing in exactly the layout Jupyter's `nbformat.write` produces (keys sorted,
 * indent 1, multi-line strings split into lists of lines, a final newline), so a notebook saved by Jupyter and one
 * written here do not differ in layout.
 */
import { MmctrError } from '../errors';

/** Text fields are a string or a list of lines in files; `parseNotebook` joins them into strings. */
export type MultilineString = string | string[];

export interface StreamOutput {
  output_type: 'stream';
  name: 'stdout' | 'stderr';
  text: MultilineString;
}

export interface DataOutput {
  output_type: 'display_data' | 'execute_result';
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** execute_result only. */
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface ErrorOutput {
  output_type: 'error';
  ename: string;
  evalue: string;
  traceback: string[];
}

export type Output = StreamOutput | DataOutput | ErrorOutput;

export interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  /** code cells only. */
  outputs?: Output[];
  /** code cells only. */
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export class NotebookFormatError extends MmctrError {}

const joinText = (t: MultilineString | undefined): string => (Array.isArray(t) ? t.join('') : (t ?? ''));

/** Parses a notebook file's text; text fields come back as single strings. */
export function parseNotebook(text: string, file = '<notebook>'): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(text) as Notebook;
  } catch (err) {
    throw new NotebookFormatError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!nb || typeof nb !== 'object' || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new NotebookFormatError(`${file}: not an nbformat 4 notebook (expected {"nbformat": 4, "cells": [...]})`);
  }
  for (const cell of nb.cells) {
    cell.source = joinText(cell.source);
    for (const out of cell.outputs ?? []) {
      if (out.output_type === 'stream') out.text = joinText(out.text);
      else if (out.output_type === 'display_data' || out.output_type === 'execute_result') {
        for (const [k, v] of Object.entries(out.data)) if (Array.isArray(v)) out.data[k] = joinText(v as string[]);
      }
    }
  }
  return nb;
}

/** Python's `str.splitlines(True)`: every line keeps its terminator; the same set of line boundaries. */
export function splitLines(s: string): string[] {
  const out: string[] = [];
  const re = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/g;
  let start = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    out.push(s.slice(start, m.index + m[0].length));
    start = m.index + m[0].length;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/** nbformat's `_split_mimebundle`: text/* and these mime types are stored as lists of lines. */
const SPLIT_MIMES = new Set(['application/javascript', 'image/svg+xml']);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // Python's sort_keys orders by code point; JS's default sort compares UTF-16 units (same for BMP keys).
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}

/** The file text `nbformat.write` would produce for this notebook (split lines, sorted keys, indent 1, final newline). */
export function serializeNotebook(nb: Notebook): string {
  const copy = JSON.parse(JSON.stringify(nb)) as Notebook;
  for (const k of ['orig_nbformat', 'orig_nbformat_minor', 'signature']) delete copy.metadata[k];
  for (const cell of copy.cells) {
    delete cell.metadata.trusted;
    if (typeof cell.source === 'string') cell.source = splitLines(cell.source);
    for (const out of cell.outputs ?? []) {
      if (out.output_type === 'stream' && typeof out.text === 'string') out.text = splitLines(out.text);
      else if (out.output_type === 'display_data' || out.output_type === 'execute_result') {
        for (const [k, v] of Object.entries(out.data)) {
          if (typeof v === 'string' && (k.startsWith('text/') || SPLIT_MIMES.has(k))) out.data[k] = splitLines(v);
        }
      }
    }
  }
  const text = JSON.stringify(sortKeys(copy), null, 1);
  return text.endsWith('\n') ? text : `${text}\n`;
}

export interface NormalizeOptions {
  /**
   * Absolute path of the repository root: occurrences in output text become relative (`<root>/x` → `x`, a bare
   * `<root>` → `.`), so a notebook executed in another checkout reads the same. Default: none.
   */
  root?: string;
}

/** Escape codes (colours) some tools print; they carry no content. */
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/**
 * Removes what changes between two executions of the same notebook without being its content: per-cell execution
 * timestamps (`metadata.execution`), colour codes, absolute paths of the checkout, and the split of one stream into
 * several outputs (the kernel flushes stdout in chunks whose boundaries depend on timing; consecutive outputs of
 * the same stream are merged). Printed values are never touched. Returns a new notebook.
 */
export function normalizeNotebook(input: Notebook, options: NormalizeOptions = {}): Notebook {
  const nb = JSON.parse(JSON.stringify(input)) as Notebook;
  const root = options.root?.replace(/\/+$/, '');
  const clean = (s: string): string => {
    let t = s.replace(ANSI, '');
    if (root) t = t.split(`${root}/`).join('').split(root).join('.');
    return t;
  };
  for (const cell of nb.cells) {
    cell.source = joinText(cell.source);
    delete cell.metadata.execution;
    delete cell.metadata.collapsed;
    delete cell.metadata.scrolled;
    if (cell.cell_type !== 'code') continue;
    const merged: Output[] = [];
    for (const out of cell.outputs ?? []) {
      if (out.output_type === 'stream') {
        const text = clean(joinText(out.text));
        const last = merged[merged.length - 1];
        if (last?.output_type === 'stream' && last.name === out.name) last.text = `${joinText(last.text)}${text}`;
        else merged.push({ output_type: 'stream', name: out.name, text });
      } else if (out.output_type === 'error') {
        merged.push({ ...out, evalue: clean(out.evalue), traceback: out.traceback.map(clean) });
      } else {
        const data: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(out.data)) {
          const joined = Array.isArray(v) ? joinText(v as string[]) : v;
          data[k] = typeof joined === 'string' && k.startsWith('text/') ? clean(joined) : joined;
        }
        merged.push({ ...out, data });
      }
    }
    cell.outputs = merged;
  }
  return nb;
}

/** Where two serialised notebooks first differ: the cell (0-based, -1 = notebook metadata) and the two lines. */
export interface NotebookDifference {
  cell: number;
  /** First differing line of that cell's JSON in each file. */
  a: string;
  b: string;
}

/** null when the two texts are identical. Compares cell by cell, then the notebook's own fields. */
export function firstDifference(a: string, b: string): NotebookDifference | null {
  if (a === b) return null;
  const na = JSON.parse(a) as Notebook;
  const nb = JSON.parse(b) as Notebook;
  const lineDiff = (x: string, y: string): [string, string] => {
    const lx = x.split('\n');
    const ly = y.split('\n');
    for (let i = 0; i < Math.max(lx.length, ly.length); i++) {
      if (lx[i] !== ly[i]) return [(lx[i] ?? '<end>').trim(), (ly[i] ?? '<end>').trim()];
    }
    return ['', ''];
  };
  const n = Math.max(na.cells.length, nb.cells.length);
  for (let i = 0; i < n; i++) {
    const ca = JSON.stringify(sortKeys(na.cells[i] ?? null), null, 1);
    const cb = JSON.stringify(sortKeys(nb.cells[i] ?? null), null, 1);
    if (ca !== cb) {
      const [la, lb] = lineDiff(ca, cb);
      return { cell: i, a: la, b: lb };
    }
  }
  const [la, lb] = lineDiff(a, b);
  return { cell: -1, a: la, b: lb };
}
