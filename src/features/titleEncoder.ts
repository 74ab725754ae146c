/**
 * Text vectors from item titles, offline and without downloaded weights: hashed n-gram TF-IDF (word unigrams and
 * bigrams, character n-grams of words, and each `#hashtag` phrase as one feature) reduced by a truncated SVD
 * (latent semantic analysis). The SVD is randomized subspace iteration (Halko, Martinsson & Tropp 2011) on the
 * sparse matrix, with the small eigenproblems solved by src/linalg's `symmetricEigen`, the PCA path's solver.
 *
 * `TextEncoder` is the interface an encoder with real weights (a CLIP or BERT text tower exported to ONNX) would
 * implement; `createTextEncoder` is where such a kind plugs in (see `onnxTextEncoder` for the checks it makes).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { symmetricEigen } from '../linalg/eigen';
import { gram, matmul } from '../linalg/matmul';
import { rng } from '../util/rng';
import { FeatureError } from './pca';

/** Anything that turns titles into fixed-width vectors. */
export interface TextEncoder {
  /** e.g. `hashed-tfidf`. */
  readonly name: string;
  /** Output width. */
  readonly dim: number;
  /** n×dim float32, row i = titles[i]. */
  encode(titles: readonly string[]): Promise<Float32Array>;
}

export interface HashedTfidfOptions {
  /** Output width (SVD components). Default 128. */
  dim: number;
  /** The hashed feature space has 2^hashBits buckets. Default 20. */
  hashBits: number;
  /** Word n-grams of length 1..wordNgrams inside the body and inside each hashtag. Default 2. */
  wordNgrams: number;
  /** Character n-grams (lengths [min, max]) of each word with boundary marks `<word>`, or null for none. Default [3, 5]. */
  charNgrams: [number, number] | null;
  /** Weight of the character n-gram features relative to word features. Default 0.5. */
  charWeight: number;
  /** Weight of the whole-hashtag features. Default 1. */
  tagWeight: number;
  /** Features present in fewer titles are dropped (they relate no title to another). Default 2. */
  minDf: number;
  /** At most this many features (the most frequent) are kept. Default 131,072. */
  maxFeatures: number;
  /** Power iterations of the randomized SVD. Default 2. */
  powerIterations: number;
  /** Extra random directions of the randomized SVD. Default 16. */
  oversample: number;
  /** Seed of the random projections. Default 20242025. */
  seed: number;
}

export const DEFAULT_HASHED_TFIDF_OPTIONS: Readonly<HashedTfidfOptions> = Object.freeze({
  dim: 128,
  hashBits: 20,
  wordNgrams: 2,
  charNgrams: [3, 5] as [number, number],
  charWeight: 0.5,
  tagWeight: 1,
  minDf: 2,
  maxFeatures: 131_072,
  powerIterations: 2,
  oversample: 16,
  seed: 20242025,
});

/** A title split into its body words and its hashtags (`# two yuan # comic` → tags `two yuan`, `comic`). */
export interface TitleTokens {
  words: string[];
  tags: string[][];
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased words of the body (text before the first `#`) and of each hashtag. */
export function tokenizeTitle(title: string): TitleTokens {
  const parts = title.normalize('NFKC').toLowerCase().split('#');
  const words = parts[0].match(WORD) ?? [];
  const tags: string[][] = [];
  for (const p of parts.slice(1)) {
    const w = p.match(WORD);
    if (w && w.length > 0) tags.push(w);
  }
  return { words, tags };
}

/** 32-bit FNV-1a of a string (with a feature-kind prefix char), finalised with murmur3's mixer. */
function hash(kind: number, s: string): number {
  let h = (0x811c9dc5 ^ kind) >>> 0;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Bucket → summed feature weight of one title (term frequencies, with the group weights applied). */
export function titleFeatures(title: string, o: HashedTfidfOptions): Map<number, number> {
  const mask = (1 << o.hashBits) - 1;
  const out = new Map<number, number>();
  const add = (kind: number, s: string, w: number) => {
    const b = hash(kind, s) & mask;
    out.set(b, (out.get(b) ?? 0) + w);
  };
  const { words, tags } = tokenizeTitle(title);
  const grams = (ws: string[]) => {
    for (let n = 1; n <= o.wordNgrams; n++) for (let i = 0; i + n <= ws.length; i++) add(1, ws.slice(i, i + n).join(' '), 1);
    if (o.charNgrams) {
      const [lo, hi] = o.charNgrams;
      for (const w of ws) {
        const m = `<${w}>`;
        const chars = Array.from(m);
        for (let n = lo; n <= hi; n++) for (let i = 0; i + n <= chars.length; i++) add(2, chars.slice(i, i + n).join(''), o.charWeight);
      }
    }
  };
  grams(words);
  for (const t of tags) {
    grams(t);
    add(3, t.join(' '), o.tagWeight);
  }
  return out;
}

/** A sparse row-major matrix. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}

/** Y (rows×l, row-major) = X·B for B (cols×l, row-major). */
function csrTimesDense(x: Csr, b: Float64Array, l: number): Float64Array {
  const y = new Float64Array(x.rows * l);
  for (let r = 0; r < x.rows; r++) {
    const yo = r * l;
    for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) {
      const v = x.data[p];
      const bo = x.indices[p] * l;
      for (let j = 0; j < l; j++) y[yo + j] += v * b[bo + j];
    }
  }
  return y;
}

/** Z (cols×l) = Xᵀ·A for A (rows×l). */
function csrTransposeTimesDense(x: Csr, a: Float64Array, l: number): Float64Array {
  const z = new Float64Array(x.cols * l);
  for (let r = 0; r < x.rows; r++) {
    const ao = r * l;
    for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) {
      const v = x.data[p];
      const zo = x.indices[p] * l;
      for (let j = 0; j < l; j++) z[zo + j] += v * a[ao + j];
    }
  }
  return z;
}

/**
 * An orthonormal basis of the column space of Y (n×l, row-major), in place: Y ← Y·U·Λ^{-1/2} from the eigen-
 * decomposition of YᵀY, done twice for accuracy. Directions with a negligible eigenvalue become zero columns.
 */
function orthonormalize(y: Float64Array, n: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    const g = gram({ data: y, rows: n, cols: l });
    const eig = symmetricEigen(g, l);
    const top = Math.max(eig.values[0], 0);
    const m = new Float64Array(l * l);
    for (let j = 0; j < l; j++) {
      const lam = eig.values[j];
      if (!(lam > top * 1e-12)) continue;
      const s = 1 / Math.sqrt(lam);
      for (let i = 0; i < l; i++) m[i * l + j] = eig.vectors[j * l + i] * s;
    }
    y.set(matmul({ data: y, rows: n, cols: l }, { data: m, rows: l, cols: l }));
  }
}

export interface TruncatedSvd {
  /** Right singular vectors as a cols×k row-major matrix V (documents map to X·V). */
  v: Float64Array;
  /** Singular values, decreasing. */
  singularValues: Float64Array;
  k: number;
}

/** Top-k singular triplets of a sparse matrix by randomized subspace iteration. */
export function randomizedSvd(x: Csr, k: number, opts: { oversample: number; powerIterations: number; seed: number }): TruncatedSvd {
  const l = Math.min(k + opts.oversample, x.cols, x.rows);
  if (k > l) throw new FeatureError(`randomizedSvd: k = ${k} exceeds the matrix rank bound ${l} (${x.rows}×${x.cols})`);
  const omega = new Float64Array(x.cols * l);
  rng(`${opts.seed}/randomized-svd`).fillNormal(omega);
  const q = csrTimesDense(x, omega, l);
  orthonormalize(q, x.rows, l);
  // Power iterations Q ← orth(X Xᵀ Q): orthonormalising the row side only is enough in float64 for a few steps,
  // and the row side is the smaller one (titles, not hashed features).
  for (let it = 0; it < opts.powerIterations; it++) {
    q.set(csrTimesDense(x, csrTransposeTimesDense(x, q, l), l));
    orthonormalize(q, x.rows, l);
  }
  // B = QᵀX (l×cols), held as Bᵀ = XᵀQ; BBᵀ = (Bᵀ)ᵀBᵀ = U S² Uᵀ; V = Bᵀ U S^{-1}.
  const bt = csrTransposeTimesDense(x, q, l);
  const eig = symmetricEigen(gram({ data: bt, rows: x.cols, cols: l }), l, { k });
  const u = new Float64Array(l * k);
  const singularValues = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const s2 = Math.max(eig.values[j], 0);
    singularValues[j] = Math.sqrt(s2);
    const inv = s2 > 0 ? 1 / Math.sqrt(s2) : 0;
    for (let i = 0; i < l; i++) u[i * k + j] = eig.vectors[j * l + i] * inv;
  }
  const v = matmul({ data: bt, rows: x.cols, cols: l }, { data: u, rows: l, cols: k });
  return { v, singularValues, k };
}

/** The fitted TF-IDF + SVD title encoder. */
export class HashedTfidfEncoder implements TextEncoder {
  readonly name = 'hashed-tfidf';
  readonly dim: number;

  private constructor(
    readonly options: HashedTfidfOptions,
    /** Bucket → kept feature column, or −1. */
    private readonly column: Int32Array,
    /** idf per kept column. */
    private readonly idf: Float64Array,
    private readonly svd: TruncatedSvd,
    /** Titles fitted on and kept features (for reports). */
    readonly fittedTitles: number,
    readonly features: number,
  ) {
    this.dim = svd.k;
  }

  /** Learns the kept features, their idf and the SVD basis from a corpus of titles. */
  static fit(titles: readonly string[], options: Partial<HashedTfidfOptions> = {}): HashedTfidfEncoder {
    return HashedTfidfEncoder.fitTransform(titles, options).encoder;
  }

  /** `fit`, and the vectors of the fitted titles (the same as `encodeSync(titles)`, without tokenising twice). */
  static fitTransform(titles: readonly string[], options: Partial<HashedTfidfOptions> = {}): { encoder: HashedTfidfEncoder; vectors: Float32Array } {
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<HashedTfidfOptions>;
    const o: HashedTfidfOptions = { ...DEFAULT_HASHED_TFIDF_OPTIONS, ...defined };
    checkOptions(o);
    const n = titles.length;
    const buckets = 1 << o.hashBits;
    const rows = titles.map((t) => titleFeatures(t, o));
    const df = new Int32Array(buckets);
    for (const r of rows) for (const b of r.keys()) df[b]++;
    const kept: number[] = [];
    for (let b = 0; b < buckets; b++) if (df[b] >= o.minDf) kept.push(b);
    kept.sort((a, b) => df[b] - df[a] || a - b);
    if (kept.length > o.maxFeatures) kept.length = o.maxFeatures;
    kept.sort((a, b) => a - b);
    const column = new Int32Array(buckets).fill(-1);
    kept.forEach((b, j) => (column[b] = j));
    const idf = Float64Array.from(kept, (b) => Math.log((1 + n) / (1 + df[b])) + 1);
    const k = Math.min(o.dim, kept.length, n);
    if (k < 1) throw new FeatureError(`title encoder: no feature occurs in ${o.minDf} or more of the ${n} titles`);
    const x = tfidfMatrix(rows, column, idf, kept.length);
    const svd = randomizedSvd(x, k, o);
    const encoder = new HashedTfidfEncoder(o, column, idf, svd, n, kept.length);
    return { encoder, vectors: Float32Array.from(csrTimesDense(x, svd.v, k)) };
  }

  /** TF-IDF rows of titles (sublinear tf, L2-normalised) over the kept features. */
  tfidf(titles: readonly string[]): Csr {
    return tfidfMatrix(titles.map((t) => titleFeatures(t, this.options)), this.column, this.idf, this.idf.length);
  }

  /** Projections X·V (n×dim); a title with no kept feature gets zeros. */
  encodeSync(titles: readonly string[]): Float32Array {
    const x = this.tfidf(titles);
    return Float32Array.from(csrTimesDense(x, this.svd.v, this.dim));
  }

  async encode(titles: readonly string[]): Promise<Float32Array> {
    return this.encodeSync(titles);
  }

  /** Singular values of the fitted SVD (decreasing). */
  get singularValues(): Float64Array {
    return this.svd.singularValues;
  }
}

function tfidfMatrix(rows: Map<number, number>[], column: Int32Array, idf: Float64Array, cols: number): Csr {
  const indptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  const val: number[] = [];
  rows.forEach((r, i) => {
    const entries: [number, number][] = [];
    for (const [b, tf] of r) {
      const c = column[b];
      if (c >= 0) entries.push([c, (1 + Math.log(tf)) * idf[c]]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    let s = 0;
    for (const [, v] of entries) s += v * v;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (const [c, v] of entries) {
      idx.push(c);
      val.push(v * inv);
    }
    indptr[i + 1] = idx.length;
  });
  return { rows: rows.length, cols, indptr, indices: Int32Array.from(idx), data: Float64Array.from(val) };
}

function checkOptions(o: HashedTfidfOptions): void {
  const int = (name: string, v: number, lo: number, hi = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new FeatureError(`title encoder: ${name} = ${v} must be an integer in [${lo}, ${hi}]`);
  };
  int('dim', o.dim, 1);
  int('hashBits', o.hashBits, 8, 26);
  int('wordNgrams', o.wordNgrams, 1, 5);
  int('minDf', o.minDf, 1);
  int('maxFeatures', o.maxFeatures, 1);
  int('powerIterations', o.powerIterations, 0, 20);
  int('oversample', o.oversample, 0);
  if (o.charNgrams) {
    const [lo, hi] = o.charNgrams;
    int('charNgrams[0]', lo, 1, 10);
    int('charNgrams[1]', hi, lo, 10);
  }
  for (const [k, v] of [['charWeight', o.charWeight], ['tagWeight', o.tagWeight]] as const) {
    if (!(v >= 0 && Number.isFinite(v))) throw new FeatureError(`title encoder: ${k} = ${v} must be a finite number ≥ 0`);
  }
}

/** Where a transformer text encoder's files are expected. */
export interface OnnxEncoderSpec {
  kind: 'onnx';
  /** Folder holding `model.onnx` and `vocab.txt` (a BERT-style WordPiece vocabulary). */
  modelDir: string;
}

export type TextEncoderSpec = ({ kind: 'hashed-tfidf' } & Partial<HashedTfidfOptions>) | OnnxEncoderSpec;

/**
 * The checks a weights-based encoder makes before anything else: the folder and its files must exist locally
 * (nothing is ever downloaded), and the ONNX runtime package must be installed. Running the model is not part of
 * this build: with everything present it says so, naming the one file to add (an `OnnxTextEncoder` implementing
 * `TextEncoder`: WordPiece tokenisation, session.run, mean pooling over the attention mask).
 */
export async function onnxTextEncoder(spec: OnnxEncoderSpec): Promise<TextEncoder> {
  const dir = path.resolve(spec.modelDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FeatureError(`text encoder onnx: model folder ${dir} does not exist (weights are never downloaded; put model.onnx and vocab.txt there)`);
  }
  for (const f of ['model.onnx', 'vocab.txt']) {
    if (!existsSync(path.join(dir, f))) throw new FeatureError(`text encoder onnx: ${path.join(dir, f)} is missing`);
  }
  try {
    await import('onnxruntime-node' as string);
  } catch {
    throw new FeatureError('text encoder onnx: the package onnxruntime-node is not installed (npm install onnxruntime-node)');
  }
  throw new FeatureError(`text encoder onnx: running ${path.join(dir, 'model.onnx')} is not implemented in this build (see titleEncoder.ts)`);
}

/** An encoder from its spec; `hashed-tfidf` is fitted on `corpus` (the titles it will encode, typically). */
export async function createTextEncoder(spec: TextEncoderSpec, corpus: readonly string[]): Promise<TextEncoder> {
  switch (spec.kind) {
    case 'hashed-tfidf': {
      const { kind: _kind, ...opts } = spec;
      void _kind;
      return HashedTfidfEncoder.fit(corpus, opts);
    }
    case 'onnx':
      return onnxTextEncoder(spec);
    default: {
      const never: never = spec;
      throw new FeatureError(`unknown text encoder kind '${String((never as { kind: string }).kind)}'`);
    }
  }
}
