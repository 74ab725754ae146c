/**
 * The offline title encoder (hashed n-gram TF-IDF + randomized SVD) on the real MicroLens-50k titles
 * (../shared/data/MicroLens-50k_titles.csv): near-duplicate titles and titles sharing a hashtag must be nearest
 * neighbours far more often than chance.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import { beforeAll, describe, expect, it } from 'vitest';
import { neighbourPrecision, topNeighbours } from '../../src/features/retrieval';
import { HashedTfidfEncoder, createTextEncoder, onnxTextEncoder, randomizedSvd, titleFeatures, tokenizeTitle, DEFAULT_HASHED_TFIDF_OPTIONS, type Csr } from '../../src/features/titleEncoder';
import { rng } from '../../src/util/rng';

const TITLES = path.resolve(__dirname, '../../../shared/data/MicroLens-50k_titles.csv');
const haveTitles = existsSync(TITLES);

/** Settings that keep the test quick: fewer components and one power iteration. */
const FAST = { dim: 64, powerIterations: 1 } as const;

describe('title tokens and features', () => {
  it('splits the body from the hashtags, lower-cased', () => {
    expect(tokenizeTitle('Gu long song gaga bad, even! # comic # Two Yuan # My destiny villain')).toEqual({
      words: ['gu', 'long', 'song', 'gaga', 'bad', 'even'],
      tags: [['comic'], ['two', 'yuan'], ['my', 'destiny', 'villain']],
    });
    expect(tokenizeTitle('#Swagger Chun Yu:')).toEqual({ words: [], tags: [['swagger', 'chun', 'yu']] });
    expect(tokenizeTitle('')).toEqual({ words: [], tags: [] });
  });

  it('hashes word n-grams, character n-grams and whole hashtags', () => {
    const o = { ...DEFAULT_HASHED_TFIDF_OPTIONS, charNgrams: null, wordNgrams: 2 };
    // "a b # c d": words a, b, a b; tag words c, d, c d; tag phrase "c d" → 7 features.
    const f = titleFeatures('A b # C d', o);
    expect([...f.values()].reduce((s, v) => s + v, 0)).toBe(7);
    expect(titleFeatures('a b # c d', o)).toEqual(f);
    const withChars = titleFeatures('ab', { ...o, charNgrams: [3, 3], charWeight: 0.5, wordNgrams: 1 });
    // "<ab>" → "<ab", "ab>" at weight 0.5, plus the word.
    expect([...withChars.values()].reduce((s, v) => s + v, 0)).toBe(2);
  });
});

describe('randomized SVD', () => {
  it('matches the singular values of a sparse matrix of known low rank', () => {
    // X = Σ_j s_j u_j v_jᵀ with disjoint supports: singular values are exactly s_j.
    const s = [9, 5, 3, 1];
    const rows = 40;
    const cols = 50;
    const dense = new Float64Array(rows * cols);
    s.forEach((sv, j) => {
      for (let r = j * 10; r < j * 10 + 10; r++) for (let c = j * 12; c < j * 12 + 12; c++) dense[r * cols + c] = sv / Math.sqrt(10 * 12);
    });
    const indptr = new Int32Array(rows + 1);
    const idx: number[] = [];
    const val: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) if (dense[r * cols + c] !== 0) (idx.push(c), val.push(dense[r * cols + c]));
      indptr[r + 1] = idx.length;
    }
    const x: Csr = { rows, cols, indptr, indices: Int32Array.from(idx), data: Float64Array.from(val) };
    const svd = randomizedSvd(x, 3, { oversample: 4, powerIterations: 2, seed: 1 });
    expect(Array.from(svd.singularValues)).toEqual([expect.closeTo(9, 8), expect.closeTo(5, 8), expect.closeTo(3, 8)]);
  });
});

describe.runIf(haveTitles)('on the real MicroLens-50k titles', () => {
  let titles: string[] = [];
  let vectors: Float32Array;
  let encoder: HashedTfidfEncoder;

  beforeAll(() => {
    const df = pl.readCSV(TITLES, { quoteChar: '"' });
    titles = (df.getColumn('title').toArray() as (string | null)[]).map((t) => t ?? '');
    ({ encoder, vectors } = HashedTfidfEncoder.fitTransform(titles, FAST));
  });

  it('encodes every title into the reduced space; encode() of the corpus equals fitTransform', async () => {
    expect(titles.length).toBe(19_220);
    expect(encoder.dim).toBe(64);
    expect(vectors.length).toBe(titles.length * 64);
    const again = await encoder.encode(titles.slice(0, 50));
    for (let i = 0; i < 50 * 64; i++) expect(again[i]).toBeCloseTo(vectors[i], 5);
    expect(encoder.singularValues[0]).toBeGreaterThanOrEqual(encoder.singularValues[63]);
    // A new title made of words of the corpus gets a vector; one without any word gets zeros.
    expect((await encoder.encode(['funny cartoon # anime'])).some((v) => v !== 0)).toBe(true);
    expect((await encoder.encode(['!!! …'])).every((v) => v === 0)).toBe(true);
  });

  it('near-duplicate titles are nearest neighbours (recall@10 far above chance)', () => {
    // Near-duplicates by an independent measure: word-set Jaccard ≥ 0.7 between different titles.
    const sets = titles.map((t) => {
      const k = tokenizeTitle(t);
      return new Set([...k.words, ...k.tags.flat()]);
    });
    const wdf = new Map<string, number>();
    for (const s of sets) for (const w of s) wdf.set(w, (wdf.get(w) ?? 0) + 1);
    const inv = new Map<string, number[]>();
    sets.forEach((s, i) => {
      for (const w of s) if (wdf.get(w)! <= 50) (inv.get(w) ?? inv.set(w, []).get(w)!).push(i);
    });
    const partner = new Map<number, number>();
    sets.forEach((s, i) => {
      if (s.size < 4) return;
      let best = -1;
      let bj = 0;
      const cand = new Set<number>();
      for (const w of s) for (const j of inv.get(w) ?? []) if (j !== i && titles[j] !== titles[i]) cand.add(j);
      for (const j of cand) {
        let inter = 0;
        for (const w of s) if (sets[j].has(w)) inter++;
        const jac = inter / (s.size + sets[j].size - inter);
        if (jac > bj) (bj = jac), (best = j);
      }
      if (bj >= 0.7) partner.set(i, best);
    });
    const qs = Int32Array.from(partner.keys());
    expect(qs.length).toBeGreaterThan(150);
    const nb = topNeighbours(vectors, 64, qs, { k: 10, skipRowZero: false, exclude: (q, c) => titles[c] === titles[q] });
    const recall = neighbourPrecision(nb, qs, 10, (q, c) => partner.get(q) === c) * 10;
    console.log(`near-duplicates: ${qs.length} titles, recall@10 ${recall.toFixed(3)}`);
    const chance = 10 / (titles.length - 1);
    // Measured 0.93 (dim 128, 2 power iterations) and ~0.9 with these settings; chance 5e-4.
    expect(recall).toBeGreaterThan(0.75);
    expect(recall).toBeGreaterThan(500 * chance);
  });

  it('titles sharing a hashtag are nearest neighbours far more often than chance, even from the body text alone', () => {
    const tags = titles.map((t) => new Set(tokenizeTitle(t).tags.map((x) => x.join(' '))));
    const tagDf = new Map<string, number>();
    for (const s of tags) for (const t of s) tagDf.set(t, (tagDf.get(t) ?? 0) + 1);
    const byTag = new Map<string, number[]>();
    tags.forEach((s, i) => {
      for (const t of s) (byTag.get(t) ?? byTag.set(t, []).get(t)!).push(i);
    });
    // Queries: titles with a hashtag shared by 2..200 titles (not the catch-all ones), 600 of them, seeded.
    const eligible = titles.map((_, i) => i).filter((i) => [...tags[i]].some((t) => tagDf.get(t)! >= 2 && tagDf.get(t)! <= 200));
    const qs = Int32Array.from(rng(7).sampleSorted(eligible.length, 600), (j) => eligible[j]);
    const sameTitle = (q: number, c: number) => titles[c] === titles[q];
    const shareTag = (q: number, c: number) => [...tags[q]].some((t) => tags[c].has(t));
    let chance = 0;
    for (const q of qs) {
      const others = new Set<number>();
      for (const t of tags[q]) for (const i of byTag.get(t)!) if (i !== q && !sameTitle(q, i)) others.add(i);
      chance += others.size / (titles.length - 1);
    }
    chance /= qs.length;
    const full = neighbourPrecision(topNeighbours(vectors, 64, qs, { k: 10, skipRowZero: false, exclude: sameTitle }), qs, 10, shareTag);
    // Body text only (hashtags cut off before encoding): the tags must be inferred from the words.
    const bodies = titles.map((t) => t.split('#')[0]);
    const body = HashedTfidfEncoder.fitTransform(bodies, FAST).vectors;
    console.log(`hashtag precision@10: full titles ${full.toFixed(4)}, chance ${chance.toFixed(4)}`);
    const fromBody = neighbourPrecision(topNeighbours(body, 64, qs, { k: 10, skipRowZero: false, exclude: sameTitle }), qs, 10, shareTag);
    // Measured with these settings: chance 0.0047, full titles 0.39, bodies alone 0.038 (8× chance).
    expect(chance).toBeLessThan(0.01);
    expect(full).toBeGreaterThan(0.3);
    expect(full).toBeGreaterThan(chance + 0.25);
    expect(fromBody).toBeGreaterThan(5 * chance);
  });
});

describe('encoders with weights on disk', () => {
  it('fails with a clear message when the model folder is absent, without any network access', async () => {
    await expect(onnxTextEncoder({ kind: 'onnx', modelDir: '/nonexistent/clip-text' })).rejects.toThrow(
      /model folder \/nonexistent\/clip-text does not exist \(weights are never downloaded/,
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmctr-onnx-'));
    try {
      await expect(createTextEncoder({ kind: 'onnx', modelDir: dir }, [])).rejects.toThrow(/model\.onnx is missing/);
      writeFileSync(path.join(dir, 'model.onnx'), '');
      writeFileSync(path.join(dir, 'vocab.txt'), '');
      await expect(createTextEncoder({ kind: 'onnx', modelDir: dir }, [])).rejects.toThrow(/onnxruntime-node/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the hashed TF-IDF encoder from a spec', async () => {
    const enc = await createTextEncoder({ kind: 'hashed-tfidf', dim: 2, charNgrams: null }, ['red apple', 'green apple', 'red car', 'blue car']);
    expect(enc.name).toBe('hashed-tfidf');
    expect(enc.dim).toBe(2);
    expect((await enc.encode(['red apple'])).length).toBe(2);
  });
});
