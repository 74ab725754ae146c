import { describe, expect, it } from 'vitest';
import { peakRssMiB, releaseMemory, rssMiB } from '../../src/util/memory';

describe('memory', () => {
  it('collects garbage and reports RSS', async () => {
    let big: Float64Array | null = new Float64Array(2 ** 24).fill(1); // 128 MiB
    expect(big[123]).toBe(1);
    const peak = peakRssMiB();
    big = null;
    await releaseMemory();
    expect(rssMiB()).toBeGreaterThan(0);
    expect(peakRssMiB()).toBeGreaterThanOrEqual(peak);
    expect(peak).toBeGreaterThan(128);
  });
});
