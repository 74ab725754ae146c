/**
 * The one reader of the generator's item truth (src/data/synth/itemTruthFile.ts) on the committed data/tiny:
 * arrays by item id with −1 / NaN / zeros where the file lists nothing, optional columns, and clear errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, describe, expect, it } from 'vitest';
import { hasItemTruth, itemTruthPath, readItemTruth } from '../../src/data/synth/itemTruthFile';

const TINY = path.resolve(__dirname, '../../data/tiny');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-item-truth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('readItemTruth', () => {
  const df = pl.readParquet(itemTruthPath(TINY));
  const ids = df.getColumn('item_id').cast(pl.Int32).toTypedArray() as Int32Array;
  const maxId = Math.max(...ids);

  it('gives topic and community by item id, −1 for id 0; numbers and latents when asked', () => {
    const t = readItemTruth(TINY, { numbers: true, latent: true });
    expect(t.numItems).toBe(maxId);
    expect(t.topic.length).toBe(maxId + 1);
    expect([t.topic[0], t.community[0]]).toEqual([-1, -1]);
    expect(Number.isNaN(t.bias![0])).toBe(true);
    const row = 3;
    const id = ids[row];
    const col = (name: string) => df.getColumn(name).toArray() as unknown[];
    expect(t.topic[id]).toBe(Number(col('topic')[row]));
    expect(t.community[id]).toBe(Number(col('community')[row]));
    expect(t.popularityStd![id]).toBe(Number(col('popularity_std')[row]));
    const latent = Array.from(col('latent')[row] as ArrayLike<number>);
    expect(t.latentDim).toBe(latent.length);
    expect(Array.from(t.latent!.subarray(id * t.latentDim!, (id + 1) * t.latentDim!))).toEqual(latent.map(Math.fround));
    expect(Array.from(t.latent!.subarray(0, t.latentDim!)).every((v) => v === 0)).toBe(true);
    expect(readItemTruth(TINY).bias).toBeUndefined();
  });

  it('covers numItems when given, and names the file and row of an id outside it', () => {
    expect(readItemTruth(TINY, { numItems: maxId + 5 }).topic.length).toBe(maxId + 6);
    expect(() => readItemTruth(TINY, { numItems: maxId - 1 })).toThrow(/item_truth\.parquet: item_id \d+ at row \d+ is outside 0\.\./);
  });

  it('says when a root has no item truth', () => {
    expect(hasItemTruth(TINY)).toBe(true);
    expect(hasItemTruth(tmp)).toBe(false);
    expect(() => readItemTruth(tmp)).toThrow(/item_truth\.parquet does not exist/);
  });
});
