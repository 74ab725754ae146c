/**
 * The fit check of the model tests: a model trained for a few hundred Adam steps on a planted rule (see
 * synthetic.ts) must lower its held-out loss and reach a held-out AUC well above 0.5 — or, for the history-blind
 * control on the history rule, stay near 0.5.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { type ModelName, createModel } from '../../src/models';
import { type FitResult, type Rule, fit, makeRows, tinyItemTable } from './synthetic';
import { TINY_ARGS } from './tinyArgs';

export const FIT_STEPS = 80;
/** Rows per Adam step. */
export const FIT_BATCH = 128;
/** Held-out AUC a model must beat on a rule it can see. */
export const LEARNS_AUC = 0.7;
/** Half-width around 0.5 of a rule a model cannot see. */
export const BLIND_MARGIN = 0.1;

const table = tinyItemTable();
const data = new Map<Rule, ReturnType<typeof makeRows>[]>();

function rowsOf(rule: Rule) {
  if (!data.has(rule)) data.set(rule, [makeRows(4096, rule, `${rule}/train`), makeRows(512, rule, `${rule}/test`)]);
  return data.get(rule)!;
}

export function fitModel(name: ModelName, rule: Rule): FitResult {
  const [train, test] = rowsOf(rule);
  const model = createModel(name, TINY_ARGS[name], table, { seed: 1 });
  const before = tf.memory().numTensors;
  const result = fit(model, train, test, FIT_STEPS, FIT_BATCH);
  expect(tf.memory().numTensors).toBe(before); // the loop itself keeps nothing (Adam's slots are disposed)
  model.dispose();
  return result;
}

export function expectLearns(r: FitResult): void {
  expect(r.testLossAfter).toBeLessThan(r.testLossBefore);
  expect(r.testAuc).toBeGreaterThan(LEARNS_AUC);
}

export function expectBlind(r: FitResult): void {
  expect(Math.abs(r.testAuc - 0.5)).toBeLessThan(BLIND_MARGIN);
}
