import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32, writeZip, zipBytes, type ZipEntry } from '../../src/eval/zip';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-zip-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const text = 'ID,Task2\n' + Array.from({ length: 5000 }, (_, i) => `${i},0.${(i * 7919) % 1000}`).join('\n') + '\n';
const random = new Uint8Array(crypto.randomBytes(3000)); // incompressible: stored
const entries: ZipEntry[] = [
  { name: 'prediction.csv', data: text },
  { name: 'bin/random.dat', data: random },
  { name: 'empty.txt', data: '' },
  { name: 'été.txt', data: 'unicode name' },
];

describe('zip writer', () => {
  const file = path.join(tmp, 'a.zip');
  writeZip(file, entries, { level: 9 });

  it('unzip -l lists every entry with its size; unzip -t verifies every CRC', () => {
    const list = execFileSync('unzip', ['-l', file], { encoding: 'utf8' });
    expect(list).toMatch(new RegExp(`\\s${Buffer.byteLength(text)}\\s.*prediction\\.csv`));
    expect(list).toMatch(/\s3000\s.*bin\/random\.dat/);
    expect(list).toMatch(/\s0\s.*empty\.txt/);
    expect(list).toMatch(/4 files/);
    const test = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
    expect(test).toMatch(/No errors detected/);
  });

  it('unzip -p gives back the exact bytes (deflated and stored entries)', () => {
    expect(execFileSync('unzip', ['-p', file, 'prediction.csv'], { encoding: 'utf8' })).toBe(text);
    expect(Buffer.compare(execFileSync('unzip', ['-p', file, 'bin/random.dat']), Buffer.from(random))).toBe(0);
    expect(fs.statSync(file).size).toBeLessThan(Buffer.byteLength(text) / 2 + 3000 + 500); // the CSV was compressed
  });

  it("python's zipfile reads it: names (UTF-8 too), contents, CRCs", () => {
    const script = [
      'import zipfile, sys, json',
      'z = zipfile.ZipFile(sys.argv[1])',
      'assert z.testzip() is None',
      'print(json.dumps({i.filename: [i.file_size, i.compress_type] for i in z.infolist()}))',
      "print(z.read('prediction.csv').decode() == open(sys.argv[2]).read())",
    ].join('\n');
    const textFile = path.join(tmp, 'text.csv');
    fs.writeFileSync(textFile, text);
    const [info, same] = execFileSync('python3', ['-c', script, file, textFile], { encoding: 'utf8' }).trim().split('\n');
    expect(JSON.parse(info)).toEqual({
      'prediction.csv': [Buffer.byteLength(text), 8],
      'bin/random.dat': [3000, 0],
      'empty.txt': [0, 0],
      'été.txt': [12, 0],
    });
    expect(same).toBe('True');
  });

  it('crc32 matches zlib', () => {
    const z = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
    for (const d of [Buffer.from(''), Buffer.from('123456789'), random]) {
      if (z) expect(crc32(d)).toBe(z(d));
    }
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926); // the standard check value
  });

  it('refuses duplicate, absolute or empty names', () => {
    expect(() => zipBytes([{ name: 'a', data: '' }, { name: 'a', data: '' }])).toThrow(/repeats/);
    expect(() => zipBytes([{ name: '/etc/x', data: '' }])).toThrow(/absolute/);
    expect(() => zipBytes([{ name: '', data: '' }])).toThrow(/empty/);
  });
});
