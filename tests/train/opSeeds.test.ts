import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextOpSeed, seedRandomOps } from '../../src/util/opSeeds';
import { useCpu } from './setup';

beforeAll(useCpu);

describe('op seeds (dropout determinism)', () => {
  it('undefined outside training; a repeatable sequence per key inside', () => {
    seedRandomOps(null);
    expect(nextOpSeed()).toBeUndefined();
    seedRandomOps('5/step/3');
    const a = [nextOpSeed(), nextOpSeed(), nextOpSeed()];
    seedRandomOps('5/step/3');
    expect([nextOpSeed(), nextOpSeed(), nextOpSeed()]).toEqual(a);
    seedRandomOps('5/step/4');
    expect(nextOpSeed()).not.toBe(a[0]);
    seedRandomOps(null);
    expect(a.every((s) => Number.isInteger(s) && s! >= 0 && s! < 2 ** 31)).toBe(true);
  });

  it('a seeded tf.dropout gives the same mask for the same key', () => {
    const mask = (key: string) => {
      seedRandomOps(key);
      const m = tf.tidy(() => Array.from(tf.dropout(tf.ones([64]), 0.5, undefined, nextOpSeed()).dataSync()));
      seedRandomOps(null);
      return m;
    };
    expect(mask('a')).toEqual(mask('a'));
    expect(mask('a')).not.toEqual(mask('b'));
  });
});
