import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BackendMemoryError, explainBackendError, isBackendMemoryError } from '../../src/engine/memoryErrors';
import { MmctrError } from '../../src/errors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('explainBackendError', () => {
  it('turns a wasm heap overflow into a clear error that names the work and the remedy', () => {
    // What the wasm module throws (a WebAssembly.RuntimeError; the name and message are what matter).
    const raw = Object.assign(new Error('memory access out of bounds'), { name: 'RuntimeError' });
    expect(isBackendMemoryError(raw)).toBe(true);
    const err = explainBackendError(raw, 'training step 3 (epoch 1, batch size 8192)');
    expect(err).toBeInstanceOf(BackendMemoryError);
    expect((err as Error).message).toMatch(/training step 3 \(epoch 1, batch size 8192\) ran out of memory on the cpu backend/);
    expect((err as Error).message).toMatch(/--batch-size/);
    expect((err as Error & { cause?: unknown }).cause).toBe(raw);
  });

  it('recognises the other out-of-memory spellings', () => {
    for (const m of ['Aborted(OOM)', 'Cannot enlarge memory, requested 5000000000 bytes', 'RangeError: Array buffer allocation failed']) {
      expect(isBackendMemoryError(new Error(m))).toBe(true);
    }
  });

  it('leaves other errors (and project errors) untouched', () => {
    const other = new TypeError('x is not a function');
    expect(explainBackendError(other, 'step')).toBe(other);
    const ours = new MmctrError('memory access out of bounds in a message of ours');
    expect(explainBackendError(ours, 'step')).toBe(ours);
  });
});
