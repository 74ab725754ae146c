/**
 * Item2Vec: skip-gram with negative sampling (Mikolov et al., NIPS 2013; Barkan & Koenigstein, 2016) over the
 * sequences of item_seq.parquet, in typed arrays. The algorithm is word2vec.c's (defaults as gensim's, except
 * `minCount` 1 and the learning rate, see `Word2VecOptions`):
 * - vocabulary = item ids with at least `minCount` occurrences; input vectors uniform in ±0.5/dim, output zeros;
 * - optional down-sampling of frequent items (keep probability (√(f/(s·T)) + 1)·(s·T)/f, as gensim);
 * - for each position a reduced window b ∈ [1, window] drawn uniformly; each (context, centre) pair is one
 *   logistic step for the centre and `negative` items drawn from a unigram^0.75 table;
 * - learning rate decaying linearly from `learningRate` to `minLearningRate` over all epochs' words;
 * - vocabulary rows in decreasing frequency (the hot rows share cache lines and pages).
 * The inner step runs as WebAssembly SIMD (sgnsWasm.ts, assembled in TypeScript) or as plain TypeScript loops;
 * both make the same random draws.
 *
 * item_seq rows look like per-interaction history prefixes (the synthetic full data: 6M rows, 1M distinct
 * histories). Rows that are a prefix of another row of the same user are dropped by default (`dedupePrefixes`):
 * they add no co-occurrence the longer row lacks, only extra weight on early items, at 6× the cost (measured on
 * the small data, 5 epochs at learning rate 0.025: community precision@10 0.42 deduplicated against 0.38 on every
 * row, in a fifth of the time).
 *
 * Threads: with `threads` > 1 the sequences are split into contiguous shards trained at the same time on
 * `worker_threads` that update shared vectors without locks ("Hogwild", as word2vec.c and gensim do). That run is
 * seeded but not bit-reproducible (the interleaving of updates varies); `threads: 1` is.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ItemSequences } from '../data/schema';
import { progress as makeProgress, type Progress } from '../util/progress';
import { rng } from '../util/rng';
import { FeatureError } from './pca';
import {
  SIGMOID_BINS,
  fillSigmoidTable,
  sgnsModuleBytes,
  sgnsWasmSupported,
  wasmApi,
  type PairFn,
  type WasmApi,
  type WasmMemory,
  type WasmModule,
} from './sgnsWasm';

export type Word2VecKernel = 'auto' | 'wasm' | 'typescript';

export const WORD2VEC_KERNELS: readonly Word2VecKernel[] = ['auto', 'wasm', 'typescript'];

export interface Word2VecOptions {
  /** Vector width. Default 128. */
  dim: number;
  /** Largest distance between centre and context. Default 5. */
  window: number;
  /** Negative samples per positive pair. Default 5. */
  negative: number;
  /** Passes over the sequences. Default 5. */
  epochs: number;
  /**
   * Initial learning rate. Default 0.05 (gensim: 0.025; measured on the small synthetic data with 5 epochs over the
   * distinct histories, 0.025 under-trains: community precision@10 0.42 against 0.58 at 0.05 and 0.60 at 10 epochs).
   */
  learningRate: number;
  /** Final learning rate (linear decay). Default 1e-4. */
  minLearningRate: number;
  /** Down-sampling threshold of frequent items; 0 = none. Default 1e-3 (gensim). */
  sample: number;
  /** Items seen fewer times get no vector (zeros). Default 1. */
  minCount: number;
  /** Exponent of the negative-sampling distribution. Default 0.75. */
  negativeExponent: number;
  /** Drop rows that are a prefix of another row of the same user. Default true. */
  dedupePrefixes: boolean;
  /** Worker threads; 1 runs on the calling thread (bit-reproducible). Default: the cores available, at most 2. */
  threads: number;
  /**
   * The inner step: `wasm` (SIMD, sgnsWasm.ts; needs dim a multiple of 4), `typescript` (plain loops, exact σ), or
   * `auto` (wasm where it runs). Default 'auto'.
   */
  kernel: Word2VecKernel;
  /** Seed of the initial vectors and of every random draw. Default 20242025. */
  seed: number;
  /** Progress bar on stderr. Default true (unless progress is globally off). */
  progress: boolean;
}

export const DEFAULT_WORD2VEC_OPTIONS: Readonly<Word2VecOptions> = Object.freeze({
  dim: 128,
  window: 5,
  negative: 5,
  epochs: 5,
  learningRate: 0.05,
  minLearningRate: 1e-4,
  sample: 1e-3,
  minCount: 1,
  negativeExponent: 0.75,
  dedupePrefixes: true,
  threads: Math.max(1, Math.min(2, os.availableParallelism())),
  kernel: 'auto',
  seed: 20242025,
  progress: true,
});

export interface Word2VecResult {
  /** [(numItems + 1) × dim], row = item id; row 0 and items below `minCount` are zeros. */
  vectors: Float32Array;
  dim: number;
  /** Occurrences of each item id in the sequences used. */
  counts: Int32Array;
  /** Items with a vector. */
  vocabulary: number;
  /** Rows of item_seq, and rows kept after dropping prefixes. */
  rows: number;
  sequences: number;
  /** Items in the kept sequences (one epoch, before down-sampling). */
  tokens: number;
  threads: number;
  /** The inner step that ran. */
  kernel: 'wasm' | 'typescript';
  seconds: number;
  /** Tokens × epochs / seconds. */
  tokensPerSecond: number;
  options: Word2VecOptions;
}

/** Variable-length sequences in CSR form (row r = values[offsets[r] .. offsets[r + 1])). */
export interface Sequences {
  offsets: Int32Array;
  values: Int32Array;
}

/**
 * The rows of item_seq grouped by user with a counting sort: user u's rows are order[start[u] .. start[u + 1]), in
 * row order. Linear in the rows plus the largest user id.
 */
export function rowsByUser(seqs: Pick<ItemSequences, 'rows' | 'userId'>): { maxUser: number; start: Int32Array; order: Int32Array } {
  const n = seqs.rows;
  let maxUser = 0;
  for (let r = 0; r < n; r++) if (seqs.userId[r] > maxUser) maxUser = seqs.userId[r];
  const start = new Int32Array(maxUser + 2);
  for (let r = 0; r < n; r++) start[seqs.userId[r] + 1]++;
  for (let u = 0; u <= maxUser; u++) start[u + 1] += start[u];
  const order = new Int32Array(n);
  const fill = start.slice(0, maxUser + 1);
  for (let r = 0; r < n; r++) order[fill[seqs.userId[r]]++] = r;
  return { maxUser, start, order };
}

/**
 * The rows of item_seq that are not a prefix of another row of the same user (ties: the first of equal rows is
 * kept). Rows are grouped by user with a counting sort, so the cost is linear in the rows plus the (small) groups.
 */
export function distinctSequences(seqs: ItemSequences): { rows: Int32Array; sequences: Sequences } {
  const n = seqs.rows;
  const { maxUser, start, order } = rowsByUser(seqs);
  const { offsets, values } = seqs;
  const len = (r: number) => offsets[r + 1] - offsets[r];
  /** Whether row a is a prefix of row b (b at least as long). */
  const prefixOf = (a: number, b: number) => {
    const la = len(a);
    if (len(b) < la) return false;
    const oa = offsets[a];
    const ob = offsets[b];
    for (let i = 0; i < la; i++) if (values[oa + i] !== values[ob + i]) return false;
    return true;
  };
  const keep = new Uint8Array(n);
  for (let u = 0; u <= maxUser; u++) {
    const g0 = start[u];
    const g1 = start[u + 1];
    for (let i = g0; i < g1; i++) {
      const a = order[i];
      let covered = false;
      for (let j = g0; j < g1 && !covered; j++) {
        if (j === i) continue;
        const b = order[j];
        const longer = len(b) > len(a) || (len(b) === len(a) && b < a);
        covered = longer && prefixOf(a, b);
      }
      if (!covered && len(a) > 0) keep[a] = 1;
    }
  }
  let kept = 0;
  let tokens = 0;
  for (let r = 0; r < n; r++) if (keep[r]) {
    kept++;
    tokens += len(r);
  }
  const rows = new Int32Array(kept);
  const outOffsets = new Int32Array(kept + 1);
  const outValues = new Int32Array(tokens);
  let k = 0;
  for (let r = 0; r < n; r++) {
    if (!keep[r]) continue;
    rows[k] = r;
    outValues.set(values.subarray(offsets[r], offsets[r + 1]), outOffsets[k]);
    outOffsets[k + 1] = outOffsets[k] + len(r);
    k++;
  }
  return { rows, sequences: { offsets: outOffsets, values: outValues } };
}

/**
 * word2vec.c's InitUnigramTable: slot i of `table` holds the row (1-based: weights[j] belongs to row j + 1) whose
 * cumulative share of the weights first exceeds (i + 1) / size, so row j fills a share weights[j] / Σ of the slots.
 */
export function fillUnigramTable(table: Int32Array, weights: Float64Array): void {
  const v = weights.length;
  if (v === 0) throw new FeatureError('unigram table: no vocabulary');
  let z = 0;
  for (const w of weights) z += w;
  const size = table.length;
  let j = 0;
  let cum = weights[0] / z;
  for (let i = 0; i < size; i++) {
    table[i] = j + 1;
    if ((i + 1) / size > cum && j < v - 1) {
      j++;
      cum += weights[j] / z;
    }
  }
}

/** Everything one SGNS shard needs; plain typed arrays and numbers only (it crosses to worker threads). */
interface KernelArgs {
  syn0: Float32Array;
  syn1: Float32Array;
  dim: number;
  offsets: Int32Array;
  values: Int32Array;
  /** Sequences [from, to) of this shard (values are vocabulary rows; 0 = out of vocabulary). */
  from: number;
  to: number;
  negTable: Int32Array;
  /** Keep probability of each row (down-sampling), or an empty array for none. */
  keepProb: Float32Array;
  window: number;
  negative: number;
  epochs: number;
  alpha0: number;
  minAlpha: number;
  /** Tokens of all shards over all epochs (the learning-rate schedule's denominator). */
  totalWords: number;
  /** Shared counter [0] = tokens processed by all shards (Int32, updated with Atomics every few thousand). */
  counter: Int32Array;
  seed: number;
  /** The SIMD step (sgnsWasm.ts) and its memory, or null for the plain loops on syn0/syn1. */
  wasm: null | {
    module: WasmModule;
    memory: WasmMemory;
    /** Byte offsets of syn0 and syn1 (same rows as the views above), the σ table and this shard's scratch. */
    syn0Off: number;
    syn1Off: number;
    sigmoidOff: number;
    scratchOff: number;
  };
}

/**
 * The SGNS loop (word2vec.c's skip-gram branch). Self-contained on purpose: its source is also run in worker
 * threads, so it may not refer to anything outside its own body.
 */
function sgnsKernel(a: KernelArgs): void {
  const syn0 = a.syn0;
  const syn1 = a.syn1;
  const dim = a.dim;
  const offsets = a.offsets;
  const values = a.values;
  const table = a.negTable;
  const tableSize = table.length;
  const keepProb = a.keepProb;
  const subsample = keepProb.length > 0;
  const window = a.window;
  const negative = a.negative;
  const neu1e = new Float32Array(dim);
  // The SIMD step: instantiated on the shared memory; targets are written into this shard's scratch.
  let pair: PairFn | null = null;
  let mem32: Int32Array | null = null;
  const dimBytes = dim * 4;
  let syn0Off = 0;
  let syn1Off = 0;
  let sigmoidOff = 0;
  let neuOff = 0;
  let tgtIdx = 0;
  if (a.wasm !== null) {
    // The global object, not an import: this body also runs as the source of a worker.
    const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const inst = new api.Instance(a.wasm.module, { env: { mem: a.wasm.memory } });
    pair = inst.exports.pair as PairFn;
    mem32 = new Int32Array(a.wasm.memory.buffer);
    syn0Off = a.wasm.syn0Off;
    syn1Off = a.wasm.syn1Off;
    sigmoidOff = a.wasm.sigmoidOff;
    neuOff = a.wasm.scratchOff;
    tgtIdx = (a.wasm.scratchOff + dimBytes) / 4;
  }
  let maxLen = 0;
  for (let s = a.from; s < a.to; s++) maxLen = Math.max(maxLen, offsets[s + 1] - offsets[s]);
  const sen = new Int32Array(maxLen);
  let seed = a.seed >>> 0 || 0x9e3779b9;
  let local = 0;
  // The schedule continues from the tokens all shards have done so far (a call may cover one slice of an epoch).
  let alpha = a.alpha0 - (a.alpha0 - a.minAlpha) * Math.min(1, Atomics.load(a.counter, 0) / a.totalWords);
  const report = 10000;
  for (let epoch = 0; epoch < a.epochs; epoch++) {
    for (let s = a.from; s < a.to; s++) {
      const o0 = offsets[s];
      const o1 = offsets[s + 1];
      // Down-sampled copy of the sentence (out-of-vocabulary items dropped).
      let len = 0;
      for (let i = o0; i < o1; i++) {
        const w = values[i];
        if (w === 0) continue;
        if (subsample) {
          seed ^= seed << 13;
          seed ^= seed >>> 17;
          seed ^= seed << 5;
          if (keepProb[w] < (seed >>> 0) / 4294967296) continue;
        }
        sen[len++] = w;
      }
      local += o1 - o0;
      if (local >= report) {
        const done = Atomics.add(a.counter, 0, local) + local;
        local = 0;
        alpha = a.alpha0 - (a.alpha0 - a.minAlpha) * Math.min(1, done / a.totalWords);
        if (alpha < a.minAlpha) alpha = a.minAlpha;
      }
      for (let pos = 0; pos < len; pos++) {
        const word = sen[pos];
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        const b = (seed >>> 0) % window; // reduced window: window − b ∈ [1, window]
        const lo = Math.max(0, pos - window + b);
        const hi = Math.min(len - 1, pos + window - b);
        for (let c = lo; c <= hi; c++) {
          if (c === pos) continue;
          if (pair !== null) {
            // Targets as byte offsets of syn1 rows: the centre first (label 1), then the negatives.
            mem32![tgtIdx] = syn1Off + word * dimBytes;
            let n = 1;
            for (let d = 1; d <= negative; d++) {
              seed ^= seed << 13;
              seed ^= seed >>> 17;
              seed ^= seed << 5;
              const target = table[(seed >>> 0) % tableSize];
              if (target === word) continue;
              mem32![tgtIdx + n++] = syn1Off + target * dimBytes;
            }
            pair(syn0Off + sen[c] * dimBytes, tgtIdx * 4, n, alpha, neuOff, dimBytes, sigmoidOff);
            continue;
          }
          const l1 = sen[c] * dim;
          neu1e.fill(0);
          for (let d = 0; d <= negative; d++) {
            let target: number;
            let label: number;
            if (d === 0) {
              target = word;
              label = 1;
            } else {
              seed ^= seed << 13;
              seed ^= seed >>> 17;
              seed ^= seed << 5;
              target = table[(seed >>> 0) % tableSize];
              if (target === word) continue;
              label = 0;
            }
            const l2 = target * dim;
            let f = 0;
            for (let i = 0; i < dim; i++) f += syn0[l1 + i] * syn1[l2 + i];
            let g: number;
            if (f > 6) g = (label - 1) * alpha;
            else if (f < -6) g = label * alpha;
            else g = (label - 1 / (1 + Math.exp(-f))) * alpha;
            for (let i = 0; i < dim; i++) {
              const s1 = syn1[l2 + i];
              neu1e[i] += g * s1;
              syn1[l2 + i] = s1 + g * syn0[l1 + i];
            }
          }
          for (let i = 0; i < dim; i++) syn0[l1 + i] += neu1e[i];
        }
      }
    }
  }
  if (local > 0) Atomics.add(a.counter, 0, local);
}

/** Source run by each worker: the kernel, then a message when done. `__name` is the helper tsx/esbuild insert. */
function workerSource(): string {
  return [
    'const { parentPort, workerData } = require("node:worker_threads");',
    'var __name = (t) => t;',
    `const sgnsKernel = ${sgnsKernel.toString()};`,
    'sgnsKernel(workerData);',
    'parentPort.postMessage("done");',
  ].join('\n');
}

/** A typed array on shared memory when `shared`, else a plain one. */
function alloc<T extends Float32Array | Int32Array | Uint8Array>(
  ctor: { new (b: SharedArrayBuffer): T; new (n: number): T; BYTES_PER_ELEMENT: number },
  n: number,
  shared: boolean,
): T {
  return shared ? new ctor(new SharedArrayBuffer(Math.max(1, n) * ctor.BYTES_PER_ELEMENT)) : new ctor(n);
}

function checkOptions(o: Word2VecOptions): void {
  const int = (k: keyof Word2VecOptions, min: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new FeatureError(`word2vec: ${k} = ${String(v)} must be an integer ≥ ${min}`);
  };
  int('dim', 1);
  int('window', 1);
  int('negative', 0);
  int('epochs', 1);
  int('minCount', 1);
  int('threads', 1);
  int('seed', 0);
  if (!(o.learningRate > 0) || !(o.minLearningRate >= 0) || o.minLearningRate > o.learningRate) {
    throw new FeatureError(`word2vec: learning rates ${o.learningRate} → ${o.minLearningRate} must satisfy 0 ≤ min ≤ initial, initial > 0`);
  }
  if (!(o.sample >= 0)) throw new FeatureError(`word2vec: sample = ${o.sample} must be ≥ 0`);
  if (!Number.isFinite(o.negativeExponent)) throw new FeatureError(`word2vec: negativeExponent = ${o.negativeExponent} must be finite`);
}

/**
 * Trains item vectors on item_seq. `numItems` sizes the output (ids 1..numItems; larger ids in the sequences are
 * an error).
 */
export async function trainWord2Vec(seqs: ItemSequences, numItems: number, options: Partial<Word2VecOptions> = {}): Promise<Word2VecResult> {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<Word2VecOptions>;
  const o: Word2VecOptions = { ...DEFAULT_WORD2VEC_OPTIONS, ...defined };
  checkOptions(o);
  const t0 = performance.now();
  const source: Sequences = o.dedupePrefixes ? distinctSequences(seqs).sequences : { offsets: seqs.offsets, values: seqs.values };
  const nSeq = source.offsets.length - 1;
  const tokens = source.values.length;
  const vocabSize = numItems + 1;
  const counts = new Int32Array(vocabSize);
  for (let i = 0; i < tokens; i++) {
    const w = source.values[i];
    if (!(w >= 0 && w <= numItems)) throw new FeatureError(`word2vec: item id ${w} in item_seq is outside 0..${numItems}`);
    counts[w]++;
  }
  counts[0] = 0;
  const threads = Math.min(o.threads, Math.max(1, nSeq));
  const shared = threads > 1;
  // Vocabulary rows in decreasing frequency (word2vec.c sorts its vocabulary the same way): the rows touched most
  // often sit together in memory, which matters once the tables outgrow the caches. Row 0 stays unused; rank 0
  // marks an out-of-vocabulary token.
  const ids: number[] = [];
  let trainTokens = 0;
  for (let w = 1; w < vocabSize; w++) {
    if (counts[w] >= o.minCount) {
      ids.push(w);
      trainTokens += counts[w];
    }
  }
  ids.sort((x, y) => counts[y] - counts[x] || x - y);
  const vocabulary = ids.length;
  const rankOf = new Int32Array(vocabSize);
  ids.forEach((w, j) => (rankOf[w] = j + 1));
  const rows = vocabulary + 1;
  const dim = o.dim;
  const kernel = resolveKernel(o.kernel, dim, shared);
  let syn0: Float32Array;
  let syn1: Float32Array;
  let wasm: { module: WasmModule; memory: WasmMemory; sigmoidOff: number; scratchOff: number; scratchBytes: number } | null = null;
  const rowsBytes = rows * dim * 4;
  if (kernel === 'wasm') {
    // One memory: syn0 rows, syn1 rows, the σ table, one scratch area per thread (16-byte aligned).
    const sigmoidOff = 2 * rowsBytes;
    const scratchOff = align16(sigmoidOff + (SIGMOID_BINS + 1) * 4);
    const scratchBytes = align16(dim * 4 + (o.negative + 1) * 4);
    const pages = Math.ceil((scratchOff + threads * scratchBytes) / 65536);
    const api = wasmApi()!;
    const memory = new api.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
    const module = new api.Module(sgnsModuleBytes(pages, shared));
    syn0 = new Float32Array(memory.buffer, 0, rows * dim);
    syn1 = new Float32Array(memory.buffer, rowsBytes, rows * dim);
    fillSigmoidTable(new Float32Array(memory.buffer, sigmoidOff, SIGMOID_BINS + 1));
    wasm = { module, memory, sigmoidOff, scratchOff, scratchBytes };
  } else {
    syn0 = alloc(Float32Array, rows * dim, shared);
    syn1 = alloc(Float32Array, rows * dim, shared);
  }
  const wasmFor = (thread: number): KernelArgs['wasm'] =>
    wasm && {
      module: wasm.module,
      memory: wasm.memory,
      syn0Off: 0,
      syn1Off: rowsBytes,
      sigmoidOff: wasm.sigmoidOff,
      scratchOff: wasm.scratchOff + thread * wasm.scratchBytes,
    };
  // Initial input vectors drawn in item-id order, so they do not depend on the frequency order.
  const r = rng(`${o.seed}/word2vec`);
  for (let w = 1; w < vocabSize; w++) {
    const row = rankOf[w];
    if (row === 0) continue;
    for (let i = 0; i < dim; i++) syn0[row * dim + i] = (r.uniform() - 0.5) / dim;
  }
  // Unigram^0.75 table: ~100 slots per vocabulary item (at least 1e6), as word2vec.c's 1e8 for a million words.
  const negTable = alloc(Int32Array, vocabulary > 0 ? Math.max(1_000_000, Math.min(100_000_000, 100 * vocabulary)) : 1, shared);
  if (vocabulary > 0) fillUnigramTable(negTable, Float64Array.from(ids, (w) => Math.pow(counts[w], o.negativeExponent)));
  const keepProb = alloc(Float32Array, o.sample > 0 ? rows : 0, shared);
  if (o.sample > 0) {
    const thr = o.sample * trainTokens;
    ids.forEach((w, j) => (keepProb[j + 1] = Math.min(1, (Math.sqrt(counts[w] / thr) + 1) * (thr / counts[w]))));
  }
  const offsets = shared ? copyShared(source.offsets) : source.offsets;
  const values = alloc(Int32Array, tokens, shared).subarray(0, tokens);
  for (let i = 0; i < tokens; i++) values[i] = rankOf[source.values[i]];
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const totalWords = Math.max(1, tokens * o.epochs);
  const bar: Progress = makeProgress({ label: 'word2vec', total: totalWords, unit: 'items', silent: !o.progress || undefined });
  const base = {
    syn0, syn1, dim, offsets, values, negTable, keepProb,
    window: o.window, negative: o.negative, epochs: o.epochs,
    alpha0: o.learningRate, minAlpha: o.minLearningRate, totalWords, counter,
  };
  // Shards of about equal token counts.
  const bounds = [0];
  for (let t = 1; t < threads; t++) {
    const target = (tokens * t) / threads;
    let s = bounds[t - 1];
    while (s < nSeq && source.offsets[s] < target) s++;
    bounds.push(s);
  }
  bounds.push(nSeq);
  if (threads === 1) {
    // One shard on this thread: the kernel reports through the counter, the bar is drawn in slices.
    const slice = Math.max(1, Math.ceil(nSeq / 200));
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (let s = 0; s < nSeq; s += slice) {
        sgnsKernel({ ...base, epochs: 1, from: s, to: Math.min(nSeq, s + slice), seed: mix(o.seed, epoch * 1_000_003 + s), wasm: wasmFor(0) });
        bar.update(Atomics.load(counter, 0));
      }
    }
  } else {
    const code = workerSource();
    const timer = setInterval(() => bar.update(Atomics.load(counter, 0)), 250);
    try {
      await Promise.all(
        bounds.slice(0, -1).map(
          (from, t) =>
            new Promise<void>((resolve, reject) => {
              const worker = new Worker(code, {
                eval: true,
                execArgv: [],
                workerData: { ...base, from, to: bounds[t + 1], seed: mix(o.seed, t + 1), wasm: wasmFor(t) },
              });
              let finished = false;
              worker.once('message', () => {
                finished = true;
                resolve();
              });
              worker.once('error', reject);
              worker.once('exit', (code) => {
                if (!finished) reject(new FeatureError(`word2vec: worker ${t} exited with code ${code} before finishing`));
              });
            }),
        ),
      );
    } finally {
      clearInterval(timer);
    }
  }
  bar.update(Atomics.load(counter, 0));
  bar.done();
  const vectors = new Float32Array(vocabSize * dim);
  for (let w = 1; w < vocabSize; w++) {
    const row = rankOf[w];
    if (row !== 0) vectors.set(syn0.subarray(row * dim, (row + 1) * dim), w * dim);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    vectors,
    dim,
    counts,
    vocabulary,
    rows: seqs.rows,
    sequences: nSeq,
    tokens,
    threads,
    kernel,
    seconds,
    tokensPerSecond: (tokens * o.epochs) / Math.max(seconds, 1e-9),
    options: o,
  };
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** The kernel to run: `auto` → wasm when this runtime validates the module and dim is a multiple of 4. */
function resolveKernel(k: Word2VecKernel, dim: number, shared: boolean): 'wasm' | 'typescript' {
  const ok = dim % 4 === 0 && sgnsWasmSupported(shared);
  switch (k) {
    case 'auto':
      return ok ? 'wasm' : 'typescript';
    case 'wasm':
      if (dim % 4 !== 0) throw new FeatureError(`word2vec: the wasm kernel needs dim a multiple of 4, got ${dim}`);
      if (!ok) throw new FeatureError('word2vec: this runtime does not run WebAssembly SIMD (use kernel typescript)');
      return 'wasm';
    case 'typescript':
      return 'typescript';
    default: {
      const never: never = k;
      throw new FeatureError(`word2vec: unknown kernel '${String(never)}' (expected ${WORD2VEC_KERNELS.join(', ')})`);
    }
  }
}

function copyShared(a: Int32Array): Int32Array {
  const s = new Int32Array(new SharedArrayBuffer(Math.max(1, a.length) * 4));
  s.set(a);
  return a.length === 0 ? s.subarray(0, 0) : s;
}

/** A 32-bit seed for one shard or slice from the root seed. */
function mix(seed: number, salt: number): number {
  let h = (seed ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0 || 1;
}
