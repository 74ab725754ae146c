/** Size overrides of the synthetic generator: which sizes differ from a scale, and what users' sequences can supply. */
import { describe, expect, it } from 'vitest';
import { resolveSynthConfig, scaleSizes, sizeOverridesOf, SynthSizeError, type SynthSizes } from '../../src/data/synth';
import { checkRowSupply, countPrefixes, MIN_PREFIX } from '../../src/data/synth/rows';
import { drawSeqOffsets } from '../../src/data/synth/users';
import { rng } from '../../src/util/rng';

/** Offsets (as UserTruth.seqOffsets: index 0 unused, user u at [o[u], o[u+1])) of sequences with these lengths. */
function offsets(lengths: number[]): Int32Array {
  const o = new Int32Array(lengths.length + 2);
  lengths.forEach((len, i) => (o[i + 2] = o[i + 1] + len));
  return o;
}

describe('synth size overrides', () => {
  it('lists the sizes that differ from the scale (none for the scale itself)', () => {
    expect(sizeOverridesOf(resolveSynthConfig('small'))).toEqual({});
    expect(sizeOverridesOf(resolveSynthConfig('small', { sizes: { numUsers: 128_000, trainRows: 150_000 } }))).toEqual({ numUsers: 128_000 });
    expect(scaleSizes('tiny').numUsers).toBe(500);
  });

  it('counts distinct prefixes t ∈ [3, L − lastOffset] per user', () => {
    const o = offsets([4, 10, 3]);
    // train (lastOffset 1): 4 → {3}, 10 → {3..9}, 3 → none; item_seq (0): 4 → {3, 4}, 10 → {3..10}, 3 → {3}.
    expect(countPrefixes(o, 1)).toBe(1 + 7 + 0);
    expect(countPrefixes(o, 0)).toBe(2 + 8 + 1);
    expect(MIN_PREFIX).toBe(3);
  });

  it('checks only the requirements an overridden size touches, with the flag, asked and possible values', () => {
    const o = offsets([4, 10, 3]);
    const sizes = (s: Partial<SynthSizes>): SynthSizes => ({ ...scaleSizes('tiny'), numUsers: 3, ...s });
    const ok = sizes({ trainRows: 8, itemSeqRows: 11, validRows: 1, testRows: 2 });
    expect(() => checkRowSupply(ok, o, new Set(['numUsers', 'trainRows', 'itemSeqRows', 'validRows', 'testRows']), 'tiny')).not.toThrow();
    const err = (s: SynthSizes, over: (keyof SynthSizes)[]) => {
      try {
        checkRowSupply(s, o, new Set(over), 'tiny');
      } catch (e) {
        return e as SynthSizeError;
      }
      throw new Error('no error');
    };
    const train = err({ ...ok, trainRows: 9 }, ['trainRows']);
    expect(train).toBeInstanceOf(SynthSizeError);
    expect([train.size, train.asked, train.possible]).toEqual(['trainRows', 9, 8]);
    expect(train.message).toMatch(/^synth: --train-rows: asked for 9 rows \(--train-rows 9\), but the sequences of the 3 users \(tiny's\) have only 8 distinct train prefixes/);
    const seq = err({ ...ok, itemSeqRows: 12 }, ['itemSeqRows']);
    expect([seq.size, seq.asked, seq.possible]).toEqual(['itemSeqRows', 12, 11]);
    const evalUsers = err({ ...ok, validRows: 2 }, ['validRows']);
    expect([evalUsers.size, evalUsers.asked, evalUsers.possible]).toEqual(['validRows', 4, 3]);
    expect(evalUsers.message).toContain("(--valid-rows 2 + tiny's 2 = 4)");
    // Not overridden: the scale's own sizes may reuse prefixes and users (tiny does).
    expect(() => checkRowSupply({ ...ok, trainRows: 100, validRows: 50 }, o, new Set(['itemSeqRows']), 'tiny')).not.toThrow();
    // Overriding the users touches every requirement.
    expect(err({ ...ok, trainRows: 100 }, ['numUsers']).size).toBe('trainRows');
  });

  it('draws the same sequence lengths as the generator, from their own stream', () => {
    const cfg = resolveSynthConfig('tiny');
    const a = drawSeqOffsets(cfg, rng(7));
    const r = rng(7);
    r.fork('something else').uniform();
    expect(drawSeqOffsets(cfg, r)).toEqual(a);
    expect(a.length).toBe(cfg.sizes.numUsers + 2);
    for (let u = 1; u <= cfg.sizes.numUsers; u++) expect(a[u + 1] - a[u]).toBeGreaterThanOrEqual(cfg.users.minSeqLen);
  });
});
