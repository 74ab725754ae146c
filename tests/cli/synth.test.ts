/** `mmctr synth`: flag validation and a tiny run through commander, as the CLI runs it. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MmctrError } from '../../src/errors';
import { parseSynthOptions, register } from '../../src/cli/synth';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-cli-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let out = '';
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

async function run(...argv: string[]): Promise<void> {
  const program = new Command('mmctr').exitOverride();
  register(program);
  await program.parseAsync(argv, { from: 'user' });
}

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
    expect(out).toMatch(/synthetic MicroLens_1M_x1 \(tiny, seed 11\)/);
    expect(out).toMatch(/oracle AUC: valid 0\.\d{3}, test 0\.\d{3}/);
    expect(out).not.toMatch(/precision@/);
  });

  it('rejects an unknown scale with one clear error', async () => {
    await expect(run('synth', '--scale', 'huge', '--out', path.join(tmp, 'x'))).rejects.toThrow(/--scale must be one of tiny, small, full/);
    expect(existsSync(path.join(tmp, 'x'))).toBe(false);
  });
});
