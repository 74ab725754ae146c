/**
 * Seeds for the random ops of a training step (dropout masks), so that training is a function of its seed.
 *
 * tfjs draws an unseeded op's randomness from `Math.random`, so two runs with dropout differ and a resumed run
 * cannot repeat the steps it replaces. The trainer calls `seedRandomOps(key)` before each step with a key made of
 * the run's seed and the step number; a random op asks `nextOpSeed()` for its seed (e.g.
 * `tf.dropout(x, rate, undefined, nextOpSeed())`). The k-th op of step s then gets the same seed in every run and
 * after every resume. Outside training (`seedRandomOps(null)`) `nextOpSeed()` returns undefined: fresh randomness.
 */
import { Rng } from './rng';

let stream: Rng | null = null;

/** Starts a seeded stream of op seeds (`key`, e.g. `'20242025/step/17'`), or stops it (`null`). */
export function seedRandomOps(key: string | number | null): void {
  stream = key === null ? null : new Rng(`ops/${key}`);
}

/** The next op seed of the current stream; undefined when none is set (the op then uses fresh randomness). */
export function nextOpSeed(): number | undefined {
  // tfjs hands the seed to seedrandom, which accepts any number; a 31-bit integer keeps it exact and printable.
  return stream ? stream.nextUint32() >>> 1 : undefined;
}
