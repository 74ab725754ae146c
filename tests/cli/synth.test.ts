/** `mmctr synth`: flag validation and a tiny run through commander, as the CLI runs it. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureStdout, runCli } from '../helpers/cli';
import pl from 'nodejs-polars';
import { SynthSizeError } from '../../src/data/synth';
import { MmctrError } from '../../src/errors';
import { parseSynthOptions, register } from '../../src/cli/synth';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-cli-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const stdout = captureStdout();

const run = (...argv: string[]) => runCli([register], argv);

describe('mmctr synth', () => {
  it('parses and validates flags once, with defaults', () => {
    expect(parseSynthOptions({})).toEqual({ scale: 'small', out: 'data/small', seed: 20242025, progress: true, retrieval: true });
    expect(parseSynthOptions({ scale: 'full', seed: '7', progress: false }).out).toBe('data/full');
    expect(() => parseSynthOptions({ scale: 'huge' })).toThrow(MmctrError);
    expect(() => parseSynthOptions({ seed: '-1' })).toThrow(/--seed must be a non-negative integer/);
    expect(() => parseSynthOptions({ seed: '1.5' })).toThrow(MmctrError);
  });

  it('generates tiny data and prints a summary with the oracle AUC', async () => {
    const dir = path.join(tmp, 'tiny');
    await run('synth', '--scale', 'tiny', '--out', dir, '--seed', '11', '--no-progress', '--no-retrieval');
    expect(existsSync(path.join(dir, 'MicroLens_1M_x1', 'train.parquet'))).toBe(true);
    expect(existsSync(path.join(dir, 'oracle', 'ground_truth.json'))).toBe(true);
    expect(stdout()).toMatch(/synthetic MicroLens_1M_x1 \(tiny, seed 11\)/);
    expect(stdout()).toMatch(/oracle AUC: valid 0\.\d{3}, test 0\.\d{3}/);
    expect(stdout()).not.toMatch(/precision@/);
  });

  it('parses the size flags: integers from 1 to the full scale, absent when none is given', () => {
    expect(parseSynthOptions({ scale: 'tiny' }).sizes).toBeUndefined();
    expect(parseSynthOptions({ scale: 'tiny', users: '800', trainRows: '2500', validRows: '300', testRows: '400', itemSeqRows: '3000' }).sizes)
      .toEqual({ numUsers: 800, trainRows: 2500, validRows: 300, testRows: 400, itemSeqRows: 3000 });
    expect(() => parseSynthOptions({ users: '0' })).toThrow(/--users must be a positive integer, got '0'/);
    expect(() => parseSynthOptions({ trainRows: '1.5' })).toThrow(/--train-rows must be a positive integer, got '1.5'/);
    expect(() => parseSynthOptions({ testRows: '-3' })).toThrow(MmctrError);
    expect(() => parseSynthOptions({ itemSeqRows: '1e5' })).toThrow(/--item-seq-rows must be a positive integer/);
    expect(() => parseSynthOptions({ users: '1000001' })).toThrow(/--users 1000001 is more than the full scale's 1000000/);
    expect(() => parseSynthOptions({ validRows: '10001' })).toThrow(/--valid-rows 10001 is more than the full scale's 10000/);
    expect(parseSynthOptions({ users: '1000000' }).sizes).toEqual({ numUsers: 1_000_000 });
  });

  it('overrides the sizes of a scale: the requested row counts, recorded, and the same bytes on a second run', async () => {
    const flags = ['--users', '800', '--train-rows', '2500', '--valid-rows', '300', '--test-rows', '400', '--item-seq-rows', '3500'];
    const dirs = [path.join(tmp, 'sized-a'), path.join(tmp, 'sized-b')];
    for (const dir of dirs) await run('synth', '--scale', 'tiny', '--out', dir, '--seed', '5', '--no-progress', '--no-retrieval', ...flags);
    const [a, b] = dirs;
    const height = (rel: string) => pl.readParquet(path.join(a, rel)).height;
    expect(height('MicroLens_1M_x1/train.parquet')).toBe(2500);
    expect(height('MicroLens_1M_x1/valid.parquet')).toBe(300);
    expect(height('MicroLens_1M_x1/test.parquet')).toBe(400);
    expect(height('item_seq.parquet')).toBe(3500);
    expect(height('oracle/user_truth.parquet')).toBe(800);
    // Valid and test users are distinct (one row each) when the users suffice.
    const users = (rel: string) => pl.readParquet(path.join(a, rel)).getColumn('user_id').toArray().map(Number);
    const evalUsers = [...users('MicroLens_1M_x1/valid.parquet'), ...users('MicroLens_1M_x1/test.parquet')];
    expect(new Set(evalUsers).size).toBe(700);
    expect(Math.max(...evalUsers)).toBeLessThanOrEqual(800);
    // Items and tags stay the scale's; the sizes are recorded in ground_truth.json and the summary.
    const gt = JSON.parse(readFileSync(path.join(a, 'oracle', 'ground_truth.json'), 'utf8'));
    const want = { numItems: 400, numTags: 60, numUsers: 800, trainRows: 2500, validRows: 300, testRows: 400, itemSeqRows: 3500 };
    expect(gt.sizes).toEqual(want);
    expect(gt.config.sizes).toEqual(want);
    expect(gt.sizeOverrides).toEqual({ numUsers: 800, trainRows: 2500, validRows: 300, testRows: 400, itemSeqRows: 3500 });
    expect(stdout()).toMatch(/\(tiny with sizes overridden: numUsers 800, trainRows 2500, validRows 300, testRows 400, itemSeqRows 3500, seed 5\)/);
    expect(stdout()).toMatch(/items 400, tags 60, users 800; rows: train 2500, valid 300, test 400, item_seq 3500/);
    // Same seed and sizes: the same bytes in every file.
    const files = (d: string) => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(d, path.join(e.parentPath, e.name))).sort();
    expect(files(b)).toEqual(files(a));
    expect(files(a).length).toBe(12);
    for (const f of files(a)) expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f))), f).toBe(true);
  });

  it('fails with a clear error when the users cannot supply the requested rows, before writing anything', async () => {
    const dir = path.join(tmp, 'infeasible');
    const attempt = (...flags: string[]) => run('synth', '--scale', 'tiny', '--out', dir, '--no-progress', '--no-retrieval', ...flags);
    // Train rows: more than the distinct train prefixes of 100 users' sequences.
    const train = await attempt('--users', '100', '--train-rows', '400000').catch((e: unknown) => e);
    expect(train).toBeInstanceOf(SynthSizeError);
    expect(train).toBeInstanceOf(MmctrError);
    const te = train as SynthSizeError;
    expect(te.size).toBe('trainRows');
    expect(te.asked).toBe(400000);
    expect(te.possible).toBeGreaterThan(100);
    expect(te.possible).toBeLessThan(2000);
    expect(te.message).toContain(`--train-rows: asked for 400000 rows (--train-rows 400000), but the sequences of the 100 users (--users 100) have only ${te.possible} distinct train prefixes`);
    expect(te.message).toContain(`ask for at most ${te.possible} or raise --users`);
    // item_seq rows, likewise.
    await expect(attempt('--users', '100', '--train-rows', '300', '--valid-rows', '10', '--test-rows', '10', '--item-seq-rows', '5000'))
      .rejects.toThrow(/--item-seq-rows: asked for 5000 rows .* distinct item_seq prefixes .* ask for at most \d+ or raise --users/);
    // Valid + test rows need distinct users.
    await expect(attempt('--users', '100', '--train-rows', '300', '--valid-rows', '60', '--test-rows', '50', '--item-seq-rows', '300'))
      .rejects.toThrow(/--valid-rows \/ --test-rows: .*\(--valid-rows 60 \+ --test-rows 50 = 110\), but there are only 100 users \(--users 100\); ask for at most 100/);
    // A scale default that the overridden users cannot supply is named with its flag.
    await expect(attempt('--users', '100')).rejects.toThrow(/--train-rows: asked for 4000 rows \(tiny's 4000\)/);
    expect(existsSync(dir)).toBe(false);
  });

  it('rejects an unknown scale with one clear error', async () => {
    await expect(run('synth', '--scale', 'huge', '--out', path.join(tmp, 'x'))).rejects.toThrow(/--scale must be one of tiny, small, full/);
    expect(existsSync(path.join(tmp, 'x'))).toBe(false);
  });
});
