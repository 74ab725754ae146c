import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, readCheckpoint, restoreVariables, snapshotVariables, writeCheckpoint, type TensorMap } from '../../src/train/checkpoint';
import { writeFileAtomic } from '../../src/util/atomicWrite';
import { useCpu } from './setup';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-ckpt-'));
beforeAll(useCpu);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sample(): TensorMap {
  return new Map([
    ['a/kernel', { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.from([1.5, -2, 3e-8, NaN, Infinity, 0.1]) }],
    ['b/count', { dtype: 'int32' as const, shape: [3], data: Int32Array.from([1, -7, 2 ** 31 - 1]) }],
    ['c/scalar', { dtype: 'float32' as const, shape: [], data: Float32Array.from([42]) }],
  ]);
}

describe('checkpoint files', () => {
  it('round-trip meta and tensors bit for bit', () => {
    const file = path.join(tmp, 'a.ckpt');
    writeCheckpoint(file, { epoch: 3, note: 'é' }, sample());
    const { meta, tensors } = readCheckpoint<{ epoch: number; note: string }>(file);
    expect(meta).toEqual({ epoch: 3, note: 'é' });
    expect([...tensors.keys()]).toEqual(['a/kernel', 'b/count', 'c/scalar']);
    for (const [k, t] of sample()) {
      const u = tensors.get(k)!;
      expect(u.dtype).toBe(t.dtype);
      expect(u.shape).toEqual(t.shape);
      expect(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer))).toBe(true);
    }
  });

  it('refuses a truncated file and a foreign file', () => {
    const file = path.join(tmp, 'b.ckpt');
    writeCheckpoint(file, {}, sample());
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 2));
    expect(() => readCheckpoint(file)).toThrow(/tensor c\/scalar runs past the end of the file \(truncated\)/);
    fs.writeFileSync(file, 'hello world, not a checkpoint');
    expect(() => readCheckpoint(file)).toThrow(/bad magic/);
    expect(() => readCheckpoint(path.join(tmp, 'none.ckpt'))).toThrow(CheckpointError);
  });

  it('a write that fails half-way leaves the previous file intact and no temporary file', () => {
    const file = path.join(tmp, 'c.ckpt');
    writeCheckpoint(file, { version: 'old' }, sample());
    const before = fs.readFileSync(file);
    expect(() =>
      writeFileAtomic(file, (fd) => {
        fs.writeSync(fd, 'partial bytes');
        throw new Error('killed mid-write');
      }),
    ).toThrow(/killed mid-write/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('snapshot → restore of variables; a shape mismatch names the weight', async () => {
    const variable = (make: () => tf.Tensor) => tf.tidy(() => tf.variable(make()));
    const v = new Map([['w', variable(() => tf.tensor2d([[1, 2], [3, 4]]))], ['n', variable(() => tf.tensor1d([5], 'int32'))]]);
    const snap = await snapshotVariables(v);
    tf.tidy(() => v.get('w')!.assign(tf.zeros([2, 2])));
    expect(Array.from(snap.get('w')!.data)).toEqual([1, 2, 3, 4]); // a copy, not the backend's array
    restoreVariables(v, snap, 'test');
    expect(Array.from(v.get('w')!.dataSync())).toEqual([1, 2, 3, 4]);
    const other = new Map([['w', variable(() => tf.zeros([3]))]]);
    expect(() => restoreVariables(other, snap, 'ckpt X')).toThrow(/ckpt X: weight w is float32\[2,2\] there but float32\[3\] in the model/);
    expect(() => restoreVariables(new Map([['q', other.get('w')!]]), snap, 'ckpt X')).toThrow(/no values for weight q/);
    tf.dispose([...v.values(), ...other.values()]);
  });
});
