/** `mmctr validate` and `mmctr stats` on fixture roots, through commander as the CLI runs them. */
import { afterAll, describe, expect, it } from 'vitest';
import { captureStdout, runCli } from '../helpers/cli';
import { MmctrError } from '../../src/errors';
import { register as registerValidate } from '../../src/cli/validate';
import { register as registerStats } from '../../src/cli/stats';
import { removeFixtures, writeFixture } from '../helpers/fixtures';

afterAll(removeFixtures);

const stdout = captureStdout();

const run = (...argv: string[]) => runCli([registerValidate, registerStats], argv);

const good = writeFixture({ options: { testLabel: true } });

describe('mmctr validate', () => {
  it('reports each of the seven files with its rows and OK', async () => {
    await run('validate', '--data', good);
    expect(stdout()).toMatch(/^train\s+MicroLens_1M_x1\/train\.parquet\s+48 rows\s+OK/m);
    expect(stdout()).toMatch(/^item_info\s+MicroLens_1M_x1\/item_info\.parquet\s+41 rows\s+OK/m);
    expect(stdout()).toMatch(/^item_seq\s+item_seq\.parquet\s+30 rows\s+OK/m);
    expect(stdout()).toContain('all 7 files present are valid');
  });

  it('lists absent files, and fails with one line on an invalid one', async () => {
    const root = writeFixture({ edit: (t) => (t.valid.label.values[3] = 7), only: ['valid', 'item_info'] });
    const err = await run('validate', '--data', root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmctrError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toMatch(/1 of 2 files failed; first: .*valid\.parquet, column "label", row 3: label 7 is not 0 or 1/);
    expect(stdout()).toMatch(/^train\s+MicroLens_1M_x1\/train\.parquet\s+-\s+absent/m);
    expect(stdout()).toMatch(/^valid\s+.*INVALID \[badLabel\]/m);
    expect(stdout()).toMatch(/^item_info\s+.*41 rows\s+OK/m);
  });

  it('fails when no file is present, on an unknown table, and without --data', async () => {
    const empty = writeFixture({ only: [] });
    await expect(run('validate', '--data', empty)).rejects.toThrow(/no MicroLens files under/);
    await expect(run('validate', '--data', good, '--tables', 'train,nope')).rejects.toThrow(/unknown table "nope"/);
    await expect(run('validate')).rejects.toThrow(/--data <root> is required/);
  });

  it('checks only the tables asked for', async () => {
    await run('validate', '--data', good, '--tables', 'test,item_emb');
    expect(stdout().trim().split('\n')).toHaveLength(3);
    expect(stdout()).toMatch(/^test\s+.*24 rows\s+OK/m);
  });
});

describe('mmctr stats', () => {
  it('prints rows, positive rate, users, items and history length summary', async () => {
    await run('stats', '--data', good, '--tables', 'train,test,item_info,item_seq');
    expect(stdout()).toContain('train (MicroLens_1M_x1/train.parquet)');
    expect(stdout()).toMatch(/positive rate\s+25\.00% \(12\)/);
    expect(stdout()).toMatch(/history length \(of 100\)\s+min \d+ · median [\d.]+ · mean [\d.]+ · max 100/);
    expect(stdout()).toMatch(/rows\s+41 \(items 1\.\.40 \+ padding row 0\)/);
    expect(stdout()).toMatch(/length \(non-zero\)\s+min 3 · median [\d.]+ · mean [\d.]+ · max 9/);
  });

  it('--json gives the same figures as an object', async () => {
    await run('stats', '--data', good, '--tables', 'valid', '--json');
    const parsed = JSON.parse(stdout()) as { tables: { valid: { rows: number; positives: number; historyLength: { max: number } } } };
    expect(parsed.tables.valid.rows).toBe(16);
    expect(parsed.tables.valid.positives).toBe(4);
    expect(parsed.tables.valid.historyLength.max).toBe(100);
  });

  it('stops with the data error of an invalid file', async () => {
    const root = writeFixture({ edit: (t) => (t.train.user_id.values[1] = null), only: ['train'] });
    await expect(run('stats', '--data', root)).rejects.toThrow(/train\.parquet, column "user_id", row 1: null value/);
  });
});
