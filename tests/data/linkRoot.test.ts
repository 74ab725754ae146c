/** linkDataRoot: a derived folder links the tables it does not own, keeps what it has, and reads as a data root. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkDataRoot } from '../../src/data/linkRoot';
import { loadItemInfo, loadSplit } from '../../src/data/load';

const ROOT = path.resolve(__dirname, '../../data/tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-link-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('linkDataRoot', () => {
  it('links every table but the own ones, and oracle/, by absolute path', async () => {
    const out = path.join(tmp, 'derived');
    const linked = linkDataRoot(path.relative(process.cwd(), ROOT), out, ['item_info']);
    expect(linked).toEqual([
      'MicroLens_1M_x1/train.parquet',
      'MicroLens_1M_x1/valid.parquet',
      'MicroLens_1M_x1/test.parquet',
      'item_feature.parquet',
      'item_emb.parquet',
      'item_seq.parquet',
      'oracle',
    ]);
    expect(path.isAbsolute(fs.readlinkSync(path.join(out, 'MicroLens_1M_x1', 'train.parquet')))).toBe(true);
    expect(fs.existsSync(path.join(out, 'MicroLens_1M_x1', 'item_info.parquet'))).toBe(false);
    expect((await loadSplit(out, 'valid')).rows).toBe((await loadSplit(ROOT, 'valid')).rows);
    // an own table written later is the derived root's; a second call links nothing and replaces nothing
    fs.copyFileSync(path.join(ROOT, 'MicroLens_1M_x1', 'item_info.parquet'), path.join(out, 'MicroLens_1M_x1', 'item_info.parquet'));
    expect(linkDataRoot(ROOT, out, ['item_info'])).toEqual([]);
    expect((await loadItemInfo(out)).rows).toBe(401);
  });

  it('does nothing when the folder is the data root itself', () => {
    expect(linkDataRoot(ROOT, path.join(ROOT, '.'), ['item_info'])).toEqual([]);
  });
});
