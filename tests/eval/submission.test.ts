import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auc } from '../../src/eval/metrics';
import { formatScore, predictionCsv, validateSubmission, writeSubmission } from '../../src/eval/submission';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-sub-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ids = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe('formatScore', () => {
  it('the shortest decimal that reads back as the same float32', () => {
    const r = mulberry32(1);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround(i < 100 ? r() ** 30 : r());
      const s = formatScore(x);
      expect(Math.fround(Number(s))).toBe(x);
      expect(s.replace(/^0\.|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
    expect(formatScore(0)).toBe('0');
    expect(formatScore(1)).toBe('1');
    expect(formatScore(0.25)).toBe('0.25');
    expect(formatScore(Math.fround(0.1))).toBe('0.1');
  });
});

describe('prediction.csv', () => {
  it('header ID,<column>, one line per test row in row order', () => {
    const csv = predictionCsv(Int32Array.from([2, 0, 1]), Float32Array.from([0.5, 0.125, 1]), 'Task1&2');
    expect(csv).toBe('ID,Task1&2\n2,0.5\n0,0.125\n1,1\n');
    expect(predictionCsv(ids(1), [0.75])).toBe('ID,Task2\n0,0.75\n');
    expect(predictionCsv(ids(1), [0.75], 'Task1')).toBe('ID,Task1\n0,0.75\n');
    expect(predictionCsv(ids(1), [0.75], 'my_score')).toBe('ID,my_score\n0,0.75\n');
  });

  it('validation names the offending row', () => {
    expect(() => validateSubmission(ids(3), [0.1, NaN, 0.2])).toThrow(/score of test row 1 \(ID 1\) is NaN/);
    expect(() => validateSubmission(ids(3), [0.1, 1.5, 0.2])).toThrow(/test row 1 .* is 1.5; scores must be finite and in \[0, 1\]/);
    expect(() => validateSubmission(ids(2), [-0.1, 0.2])).toThrow(/is -0.1/);
    expect(() => validateSubmission(ids(2), [Infinity, 0.2])).toThrow(/Infinity/);
    expect(() => validateSubmission(ids(3), [0.1, 0.2])).toThrow(/2 scores for 3 test rows/);
    expect(() => validateSubmission(Int32Array.from([0, 0, 2]), [0.1, 0.2, 0.3])).toThrow(/test row 1 repeats ID 0/);
    expect(() => validateSubmission(Int32Array.from([0, 3, 1]), [0.1, 0.2, 0.3])).toThrow(/test row 1 has ID 3, outside 0..2/);
    expect(() => validateSubmission(ids(0), [])).toThrow(/no rows/);
    expect(() => predictionCsv(ids(1), [0.5], 'a,b')).toThrow(/score column "a,b"/);
    expect(() => predictionCsv(ids(1), [0.5], 'ID')).toThrow(/not 'ID'/);
  });
});

describe('writeSubmission', () => {
  it('writes prediction.csv and <id>.zip with prediction.csv at its root; the file keeps the AUC exactly', () => {
    const n = 20000;
    const r = mulberry32(5);
    const scores = Float32Array.from({ length: n }, () => r());
    const labels = Uint8Array.from(scores, (s) => (r() < s ? 1 : 0));
    const out = path.join(tmp, 'sub');
    const files = writeSubmission(ids(n), scores, { outDir: out, experimentId: 'din_seed1', column: 'Task2' });
    expect(files).toEqual({ csvPath: path.join(out, 'prediction.csv'), zipPath: path.join(out, 'din_seed1.zip'), rows: n, column: 'Task2' });

    const listing = execFileSync('unzip', ['-Z1', files.zipPath], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual(['prediction.csv']);
    const inZip = execFileSync('unzip', ['-p', files.zipPath, 'prediction.csv'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(inZip).toBe(fs.readFileSync(files.csvPath, 'utf8'));

    const lines = inZip.trim().split('\n');
    expect(lines[0]).toBe('ID,Task2');
    expect(lines).toHaveLength(n + 1);
    const parsed = lines.slice(1).map((l) => l.split(','));
    expect(parsed.map(([id]) => Number(id))).toEqual(Array.from(ids(n)));
    const back = Float32Array.from(parsed, ([, s]) => Number(s));
    expect(Buffer.from(back.buffer).equals(Buffer.from(scores.buffer))).toBe(true);
    expect(auc(labels, back)).toBe(auc(labels, scores));
  });

  it('refuses an experiment id that is not a plain file name', () => {
    expect(() => writeSubmission(ids(1), [0.5], { outDir: tmp, experimentId: '../x' })).toThrow(/experiment id/);
    expect(() => writeSubmission(ids(1), [0.5], { outDir: tmp, experimentId: '' })).toThrow(/experiment id/);
  });
});
