import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset, loadItemEmbeddings, loadItemFeatures, loadItemInfo, loadItemSequences, loadSplit, inferVocab } from '../../src/data/load';
import { DataError, LoadOptionError } from '../../src/data/errors';
import { ITEM_EMB_COLUMNS, MICROLENS_DIMS, MICROLENS_VOCAB } from '../../src/data/schema';
import { fixtureTables, removeFixtures, writeFixture, type FixtureTables } from '../helpers/fixtures';

afterAll(removeFixtures);

const tables: FixtureTables = fixtureTables();
const root = writeFixture();
const nums = (col: { values: unknown[] }) => col.values as number[];
const lists = (col: { values: unknown[] }) => col.values as number[][];

describe('loadSplit', () => {
  it('loads train into typed columns equal to the file, keeping the newest 64 positions by default', async () => {
    const train = await loadSplit(root, 'train');
    const t = tables.train;
    expect(train.split).toBe('train');
    expect(train.rows).toBe(48);
    expect(train.userId).toBeInstanceOf(Int32Array);
    expect(Array.from(train.userId)).toEqual(nums(t.user_id));
    expect(Array.from(train.itemId)).toEqual(nums(t.item_id));
    expect(Array.from(train.likesLevel)).toEqual(nums(t.likes_level));
    expect(Array.from(train.viewsLevel)).toEqual(nums(t.views_level));
    expect(train.label).toBeInstanceOf(Uint8Array);
    expect(Array.from(train.label!)).toEqual(nums(t.label));
    expect(train.id).toBeNull();
    expect(train.itemSeq.data).toBeInstanceOf(Int32Array);
    expect([train.itemSeq.rows, train.itemSeq.cols]).toEqual([48, MICROLENS_DIMS.modelSeqLen]);
    const seqs = lists(t.item_seq);
    for (let r = 0; r < train.rows; r++) {
      const row = Array.from(train.itemSeq.data.subarray(r * 64, (r + 1) * 64));
      expect(row).toEqual(seqs[r].slice(100 - 64));
    }
  });

  it('keeps left padding and the newest (rightmost) positions for any seqLen', async () => {
    const full = await loadSplit(root, 'valid', { seqLen: 100 });
    const seqs = lists(tables.valid.item_seq);
    expect(Array.from(full.itemSeq.data)).toEqual(seqs.flat());
    const last = await loadSplit(root, 'valid', { seqLen: 1 });
    expect(Array.from(last.itemSeq.data)).toEqual(seqs.map((s) => s[99]));
    // A short history: zeros on the left, ids > 0 on the right (mask convention: valid where id > 0).
    const r = seqs.findIndex((s, i) => i > 0 && s.filter((v) => v > 0).length === 3);
    expect(r).toBeGreaterThan(0);
    const row = Array.from(full.itemSeq.data.subarray(r * 100, (r + 1) * 100));
    expect(row.slice(0, 97).every((v) => v === 0)).toBe(true);
    expect(row.slice(97).every((v) => v > 0)).toBe(true);
  });

  it('loads test without a label column (label null) and with one', async () => {
    const test = await loadSplit(root, 'test');
    expect(test.label).toBeNull();
    expect(Array.from(test.id!)).toEqual(nums(tables.test.ID));
    const labelled = writeFixture({ options: { testLabel: true }, only: ['test'] });
    const withLabel = await loadSplit(labelled, 'test');
    expect(withLabel.label).toBeInstanceOf(Uint8Array);
    expect(Array.from(withLabel.label!)).toEqual(nums(fixtureTables({ testLabel: true }).test.label));
  });

  it.each([0, 101, 2.5, -1])('rejects seqLen %s', async (seqLen) => {
    await expect(loadSplit(root, 'train', { seqLen })).rejects.toThrow(LoadOptionError);
    await expect(loadSplit(root, 'train', { seqLen })).rejects.toThrow(/seqLen/);
  });
});

describe('item tables', () => {
  it('item_info: row index == item_id, row 0 padding, tags [rows × 5], embeddings [rows × 128]', async () => {
    const info = await loadItemInfo(root);
    expect(info.rows).toBe(41);
    expect(info.itemTags.cols).toBe(MICROLENS_DIMS.itemInfoTags);
    expect(Array.from(info.itemTags.data)).toEqual(lists(tables.item_info.item_tags).flat());
    expect(info.itemEmb.data).toBeInstanceOf(Float32Array);
    expect([info.itemEmb.rows, info.itemEmb.cols]).toEqual([41, 128]);
    expect(Array.from(info.itemEmb.data.subarray(0, 128)).every((v) => v === 0)).toBe(true);
    expect(info.itemEmb.data[128 * 3 + 5]).toBeCloseTo(lists(tables.item_info.item_emb_d128)[3][5], 6);
  });

  it('item_feature: CSR tags (empty lists kept empty), titles, text and image matrices', async () => {
    const f = await loadItemFeatures(root);
    expect(f.rows).toBe(40);
    expect(Array.from(f.itemId)).toEqual(nums(tables.item_feature.item_id));
    expect(f.title).toEqual(tables.item_feature.item_title.values);
    const tags = lists(tables.item_feature.item_tags);
    expect(tags.some((t) => t.length === 0)).toBe(true);
    for (let r = 0; r < f.rows; r++) {
      expect(Array.from(f.tags.values.subarray(f.tags.offsets[r], f.tags.offsets[r + 1]))).toEqual(tags[r]);
    }
    expect([f.text.rows, f.text.cols, f.image.cols]).toEqual([40, 768, 1024]);
    expect(f.image.data[1024 * 7 + 9]).toBeCloseTo(lists(tables.item_feature.img_emb_CLIPRN50)[7][9], 6);
  });

  it('item_emb: the four 128-d vectors', async () => {
    const e = await loadItemEmbeddings(root);
    expect(Object.keys(e.vectors).sort()).toEqual([...ITEM_EMB_COLUMNS].sort());
    for (const c of ITEM_EMB_COLUMNS) expect([e.vectors[c].rows, e.vectors[c].cols]).toEqual([40, 128]);
    expect(e.vectors.item_emb_d128_e4.data[2 * 128 + 1]).toBeCloseTo(lists(tables.item_emb.item_emb_d128_e4)[2][1], 6);
  });

  it('item_seq: CSR with padding zeros dropped', async () => {
    const s = await loadItemSequences(root);
    const seqs = lists(tables.item_seq.item_seq);
    expect(seqs[0].slice(0, 2)).toEqual([0, 0]);
    expect(s.rows).toBe(seqs.length);
    for (let r = 0; r < s.rows; r++) {
      expect(Array.from(s.values.subarray(s.offsets[r], s.offsets[r + 1]))).toEqual(seqs[r].filter((v) => v !== 0));
    }
  });
});

describe('optional content', () => {
  it('variable-length lists read a null as empty, and a null title as an empty string', async () => {
    const r = writeFixture({
      edit: (t) => {
        t.item_seq.item_seq.values[4] = null;
        t.item_feature.item_tags.values[5] = null;
        t.item_feature.item_title.values[6] = null;
      },
      only: ['item_seq', 'item_feature', 'item_info'],
    });
    const s = await loadItemSequences(r);
    expect(s.offsets[5] - s.offsets[4]).toBe(0);
    expect(s.offsets[6] - s.offsets[5]).toBe(lists(tables.item_seq.item_seq)[5].length);
    const f = await loadItemFeatures(r);
    expect(f.tags.offsets[6] - f.tags.offsets[5]).toBe(0);
    expect(f.title[6]).toBe('');
    expect(f.title[7]).toBe(tables.item_feature.item_title.values[7]);
  });
});

describe('vocabulary and options', () => {
  it('infers numItems from item_info, and falls back to the real vocabulary without it', () => {
    expect(inferVocab(root).numItems).toBe(40);
    const noInfo = writeFixture({ only: ['train'] });
    expect(inferVocab(noInfo)).toEqual({ numItems: MICROLENS_VOCAB.numItems, numTags: MICROLENS_VOCAB.numTags, numUsers: MICROLENS_VOCAB.numUsers });
  });

  it('an id beyond the inferred item vocabulary fails; validate: false loads it anyway', async () => {
    const bad = writeFixture({ edit: (t) => (t.train.item_id.values[5] = 41) });
    const err = await loadSplit(bad, 'train').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe('outOfRange');
    const loose = await loadSplit(bad, 'train', { validate: false });
    expect(loose.itemId[5]).toBe(41);
    const wide = await loadSplit(bad, 'train', { vocab: { ...MICROLENS_VOCAB } });
    expect(wide.itemId[5]).toBe(41);
  });

  it('loadDataset loads what is asked, with one resolved set of options', async () => {
    const ds = await loadDataset(root);
    expect(ds.train?.rows).toBe(48);
    expect(ds.valid?.rows).toBe(16);
    expect(ds.test?.rows).toBe(24);
    expect(ds.itemInfo?.rows).toBe(41);
    expect(ds.itemFeatures).toBeUndefined();
    expect(ds.options).toMatchObject({ seqLen: 64, validate: true, vocab: { numItems: 40 } });
    const some = await loadDataset(root, { tables: ['item_seq', 'item_emb'], seqLen: 10 });
    expect(some.train).toBeUndefined();
    expect(some.itemSequences?.rows).toBe(30);
    expect(some.itemEmbeddings?.rows).toBe(40);
  });
});
