import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microlensTables, MICROLENS_DIMS, type ColumnKind } from '../../src/data/schema';
import { exactAuc, resolveSynthConfig, synthesize, type SynthReport } from '../../src/data/synth';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-synth-'));
const dirA = path.join(tmp, 'a');
const dirB = path.join(tmp, 'b');
let report: SynthReport;

beforeAll(async () => {
  report = await synthesize({ outDir: dirA, scale: 'tiny', progress: false });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const read = (rel: string) => pl.readParquet(path.join(dirA, rel));
const ints = (df: pl.DataFrame, col: string) => Int32Array.from(df.getColumn(col).cast(pl.Int32).toTypedArray() as Int32Array);
const flatInts = (df: pl.DataFrame, col: string) =>
  Int32Array.from(df.getColumn(col).explode().cast(pl.Int32).toTypedArray() as Int32Array);
const flatFloats = (df: pl.DataFrame, col: string) => Float32Array.from(df.getColumn(col).explode().toTypedArray() as Float32Array);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

/** The dtype a pandas/pyarrow writer gives each schema kind. */
function expectedDtype(k: ColumnKind): string {
  switch (k.kind) {
    case 'int':
    case 'label':
      return 'DataType(Int64)';
    case 'string':
      return 'DataType(String)';
    case 'intList':
      return 'DataType(List(DataType(Int64)))';
    case 'floatList':
      return 'DataType(List(DataType(Float32)))';
  }
}

/** Non-zero suffix of a left-padded row; fails on a zero after an id (not left-padded). */
function unpad(row: Int32Array): number[] {
  let i = 0;
  while (i < row.length && row[i] === 0) i++;
  const rest = Array.from(row.subarray(i));
  expect(rest.includes(0)).toBe(false);
  return rest;
}

describe('synthesize (tiny)', () => {
  it('writes the seven tables with the schema columns, order and pandas dtypes, and the oracle files', () => {
    const s = report.sizes;
    const specs = microlensTables({ numItems: s.numItems, numTags: s.numTags, numUsers: s.numUsers });
    const rows: Record<string, number> = {
      train: s.trainRows,
      valid: s.validRows,
      test: s.testRows,
      item_info: s.numItems + 1,
      item_feature: s.numItems,
      item_emb: s.numItems,
      item_seq: s.itemSeqRows,
    };
    for (const spec of Object.values(specs)) {
      const df = read(spec.path);
      expect(df.height, spec.path).toBe(rows[spec.name]);
      const want = spec.columns.filter((c) => !(spec.name === 'test' && c.optional));
      expect(df.columns, spec.path).toEqual(want.map((c) => c.name));
      for (const c of want) expect(String(df.schema[c.name]), `${spec.path}:${c.name}`).toBe(expectedDtype(c.type));
    }
    expect(listFiles(dirA)).toEqual([
      'MicroLens_1M_x1/item_info.parquet',
      'MicroLens_1M_x1/test.parquet',
      'MicroLens_1M_x1/train.parquet',
      'MicroLens_1M_x1/valid.parquet',
      'item_emb.parquet',
      'item_feature.parquet',
      'item_seq.parquet',
      'oracle/ground_truth.json',
      'oracle/item_truth.parquet',
      'oracle/test_truth.parquet',
      'oracle/user_truth.parquet',
      'oracle/valid_truth.parquet',
    ]);
  });

  it('item tables: padding row 0, row index == item_id, left-padded tags equal to item_feature tags, v1 == item_emb_d128', () => {
    const n = report.sizes.numItems;
    const info = read('MicroLens_1M_x1/item_info.parquet');
    expect(Array.from(ints(info, 'item_id'))).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
    const tags = flatInts(info, 'item_tags');
    const w = MICROLENS_DIMS.itemInfoTags;
    expect(tags.length).toBe((n + 1) * w);
    const emb = flatFloats(info, 'item_emb_d128');
    const k = MICROLENS_DIMS.itemEmbDim;
    expect(Array.from(tags.subarray(0, w)).every((t) => t === 0)).toBe(true);
    expect(Array.from(emb.subarray(0, k)).every((v) => v === 0)).toBe(true);
    const feat = read('item_feature.parquet');
    expect(Array.from(ints(feat, 'item_id'))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const featTags = feat.getColumn('item_tags').toArray() as unknown as number[][];
    for (let i = 1; i <= n; i++) {
      const mine = unpad(tags.subarray(i * w, (i + 1) * w));
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(mine).toEqual(featTags[i - 1].map(Number));
      expect(new Set(mine).size).toBe(mine.length);
    }
    const titles = feat.getColumn('item_title').toArray() as string[];
    expect(titles.every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
    const v1 = flatFloats(read('item_emb.parquet'), 'item_emb_d128_v1');
    expect(Array.from(v1)).toEqual(Array.from(emb.subarray(k)));
    // Unnormalised, centred projections: mean ≈ 0, norms not 1.
    let mean0 = 0;
    for (let i = 1; i <= n; i++) mean0 += emb[i * k] / n;
    expect(Math.abs(mean0)).toBeLessThan(1e-3);
    const text = flatFloats(feat, 'txt_emb_BERT');
    expect(text.length).toBe(n * MICROLENS_DIMS.textDim);
    expect(text.every(Number.isFinite)).toBe(true);
  });

  it('histories are 100 ids, left-padded, newest rightmost; eval rows come after train rows of the same user', () => {
    const L = MICROLENS_DIMS.storedSeqLen;
    const seq = read('item_seq.parquet');
    const users = ints(seq, 'user_id');
    const hist = flatInts(seq, 'item_seq');
    expect(hist.length).toBe(seq.height * L);
    expect(hist.every((x) => x >= 0 && x <= report.sizes.numItems)).toBe(true);
    // Consecutive rows of one user are growing prefixes of one sequence: the shorter is a prefix of the longer.
    let checked = 0;
    for (let r = 1; r < seq.height; r++) {
      if (users[r] !== users[r - 1]) continue;
      const a = unpad(hist.subarray((r - 1) * L, r * L));
      const b = unpad(hist.subarray(r * L, (r + 1) * L));
      expect(a.length).toBeGreaterThanOrEqual(3);
      expect(b.length).toBeGreaterThan(a.length);
      expect(b.slice(0, a.length)).toEqual(a);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
    // Train histories of a user are prefixes of (earlier than) the user's valid/test history.
    const train = read('MicroLens_1M_x1/train.parquet');
    const tu = ints(train, 'user_id');
    const th = flatInts(train, 'item_seq');
    const evalHist = new Map<number, number[]>();
    for (const split of ['valid', 'test']) {
      const df = read(`MicroLens_1M_x1/${split}.parquet`);
      const eu = ints(df, 'user_id');
      const eh = flatInts(df, 'item_seq');
      for (let r = 0; r < df.height; r++) evalHist.set(eu[r], unpad(eh.subarray(r * L, (r + 1) * L)));
    }
    for (let r = 0; r < train.height; r++) {
      const e = evalHist.get(tu[r]);
      if (!e) continue;
      const t = unpad(th.subarray(r * L, (r + 1) * L));
      expect(t.length).toBeLessThan(e.length);
      expect(e.slice(0, t.length)).toEqual(t);
    }
  });

  it('labels, levels, test IDs and the oracle side files agree', () => {
    const feat = read('item_feature.parquet');
    const likes = ints(feat, 'likes_level');
    const views = ints(feat, 'views_level');
    expect(likes.every((v) => v >= 0 && v <= 9) && views.every((v) => v >= 0 && v <= 9)).toBe(true);
    const train = read('MicroLens_1M_x1/train.parquet');
    const items = ints(train, 'item_id');
    const tl = ints(train, 'likes_level');
    const tv = ints(train, 'views_level');
    for (let r = 0; r < train.height; r++) {
      expect(tl[r]).toBe(likes[items[r] - 1]);
      expect(tv[r]).toBe(views[items[r] - 1]);
    }
    const labels = ints(train, 'label');
    expect(labels.every((y) => y === 0 || y === 1)).toBe(true);
    const rate = labels.reduce((s, y) => s + y, 0) / labels.length;
    expect(Math.abs(rate - 0.25)).toBeLessThan(0.03);
    expect(report.meanP.train).toBeCloseTo(0.25, 6);

    const test = read('MicroLens_1M_x1/test.parquet');
    expect(test.columns.includes('label')).toBe(false);
    expect(Array.from(ints(test, 'ID'))).toEqual(Array.from({ length: test.height }, (_, i) => i));
    const truth = read('oracle/test_truth.parquet');
    expect(Array.from(ints(truth, 'ID'))).toEqual(Array.from(ints(test, 'ID')));
    expect(Array.from(ints(truth, 'user_id'))).toEqual(Array.from(ints(test, 'user_id')));
    expect(Array.from(ints(truth, 'item_id'))).toEqual(Array.from(ints(test, 'item_id')));
    const p = truth.getColumn('p_true').toTypedArray() as Float64Array;
    expect(p.every((x) => x > 0 && x < 1)).toBe(true);
    const gt = JSON.parse(readFileSync(path.join(dirA, 'oracle/ground_truth.json'), 'utf8'));
    expect(exactAuc(ints(truth, 'label'), p)).toBeCloseTo(gt.oracleAuc.test, 6);

    const valid = read('MicroLens_1M_x1/valid.parquet');
    const vt = read('oracle/valid_truth.parquet');
    expect(Array.from(ints(vt, 'label'))).toEqual(Array.from(ints(valid, 'label')));
    expect(Array.from(ints(vt, 'item_id'))).toEqual(Array.from(ints(valid, 'item_id')));
    expect(exactAuc(ints(valid, 'label'), vt.getColumn('p_true').toTypedArray() as Float64Array)).toBeCloseTo(gt.oracleAuc.valid, 6);

    expect(gt.seed).toBe(report.seed);
    expect(gt.scale).toBe('tiny');
    expect(gt.sizes).toEqual(report.sizes);
    expect(gt.config.clicks.positiveRate).toBe(0.25);
    expect(gt.itemVectors.item_emb_d128_e4).toMatch(/standardised/);
    expect(gt.files.map((f: { path: string }) => f.path)).toContain('item_seq.parquet');
    const it = read('oracle/item_truth.parquet');
    expect(it.height).toBe(report.sizes.numItems);
    expect(new Set(ints(it, 'topic')).size).toBe(resolveSynthConfig('tiny').items.numTopics);
  });

  it('plants the signal: oracle above history-blind proxies; fused content beats text or image; community only in co-occurrence', () => {
    const a = report.diagnostics.auc;
    for (const s of [a.train, a.valid, a.test]) {
      expect(s.oracle).toBeGreaterThan(0.78);
      expect(s.oracle - s.noHistory).toBeGreaterThan(0.1);
      expect(s.oracle - s.itemMeanP).toBeGreaterThan(0.1);
    }
    expect(a.train.oracle - a.train.meanPooled).toBeGreaterThan(0.02);
    const r = report.diagnostics.retrieval!;
    expect(r.topic.itemEmbD128).toBeGreaterThan(r.topic.text + 0.03);
    expect(r.topic.itemEmbD128).toBeGreaterThan(r.topic.image + 0.03);
    expect(r.topic.text).toBeGreaterThan(r.topic.chance + 0.2);
    expect(Math.abs(r.community.itemEmbD128 - r.community.chance)).toBeLessThan(0.05);
    expect(r.community.cooccurrence).toBeGreaterThan(r.community.chance + 0.1);
  });

  it('is deterministic: same seed → same bytes in every file; another seed → other data', async () => {
    await synthesize({ outDir: dirB, scale: 'tiny', progress: false });
    const files = listFiles(dirA);
    expect(listFiles(dirB)).toEqual(files);
    for (const f of files) expect(readFileSync(path.join(dirB, f)).equals(readFileSync(path.join(dirA, f))), f).toBe(true);
    const dirC = path.join(tmp, 'c');
    await synthesize({ outDir: dirC, scale: 'tiny', seed: 7, progress: false, skipRetrievalDiagnostics: true });
    expect(readFileSync(path.join(dirC, 'MicroLens_1M_x1/train.parquet')).equals(readFileSync(path.join(dirA, 'MicroLens_1M_x1/train.parquet')))).toBe(false);
  });

  it('the committed data/tiny is the current generator output (regenerate: mmctr synth --scale tiny --out data/tiny)', () => {
    const committed = path.resolve('data/tiny');
    expect(existsSync(committed)).toBe(true);
    const files = listFiles(dirA);
    expect(listFiles(committed)).toEqual(files);
    for (const f of files) {
      expect(statSync(path.join(committed, f)).size, f).toBe(statSync(path.join(dirA, f)).size);
      expect(readFileSync(path.join(committed, f)).equals(readFileSync(path.join(dirA, f))), f).toBe(true);
    }
  });
});
