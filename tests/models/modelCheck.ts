/**
 * The one reusable model check, run by tests/models/models.test.ts over every model and variant:
 *  - logits [batch], finite, in inference and training;
 *  - named weights: unique, stable across instances and seeds, covering every variable; embedding and network
 *    variables disjoint, together all trainable ones; paramCount their size;
 *  - save/load: a model with another seed gives other logits until it gets the first one's named weights (after
 *    training steps that moved BN statistics too), then identical logits;
 *  - every trainable variable receives a finite, non-zero gradient (no dead path);
 *  - no leaked tensors across forward + backward steps;
 *  - padding (1 = valid): the same valid items with more left padding give the same logits; row 0 of the item
 *    table (tags and pretrained vector) has no effect; changing a valid history item changes the logits (a model
 *    that ignored its history, or masked the valid positions instead of the padding, fails) — except for the
 *    history-blind control, whose logits must not move at all.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { CtrModel, ItemTable, ModelInputs } from '../../src/models';
import { disposeInputs, lossOf, makeRows, inputsOf, type Rows } from './synthetic';

export interface ModelCase {
  label: string;
  /** A new model; the check creates several. */
  make: (table: ItemTable, seed: number) => CtrModel;
  /** The model must not read the history (the control). Default false. */
  historyBlind?: boolean;
}

const arr = (t: tf.Tensor) => Array.from(t.dataSync());

function logits(model: CtrModel, x: ModelInputs, training = false): number[] {
  const y = model.call(x, training);
  const out = arr(y);
  y.dispose();
  return out;
}

function maxAbsDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

function trainSteps(model: CtrModel, rows: Rows, steps: number): void {
  const x = inputsOf(rows);
  const optimizer = tf.train.adam(1e-2);
  const vars = [...model.embeddingVariables(), ...model.networkVariables()];
  for (let i = 0; i < steps; i++) optimizer.minimize(() => lossOf(model, rows, x, true), false, vars);
  optimizer.dispose();
  disposeInputs(x);
}

/** History rows with fixed valid items [v…] left-padded to `len`. */
function historyInputs(valid: number[][], len: number, itemIds: number[]): ModelInputs {
  const seq = valid.flatMap((v) => [...Array<number>(len - v.length).fill(0), ...v]);
  return {
    itemId: tf.tensor1d(itemIds, 'int32'),
    likesLevel: tf.tensor1d(itemIds.map((_, i) => i % 10), 'int32'),
    viewsLevel: tf.tensor1d(itemIds.map((_, i) => (3 * i) % 10), 'int32'),
    itemSeq: tf.tensor2d(seq, [valid.length, len], 'int32'),
  };
}

export function checkModel(c: ModelCase, table: ItemTable, dirtyRowZero: ItemTable): void {
  const rows = makeRows(16, 'inHistory', 'check');
  const x = inputsOf(rows);
  const a = c.make(table, 1);

  // Shape and finiteness.
  for (const training of [false, true]) {
    const y = logits(a, x, training);
    expect(y).toHaveLength(rows.n);
    expect(y.every(Number.isFinite)).toBe(true);
  }

  // Named weights.
  const named = a.namedWeights();
  const variables = new Set([...named.values()].map((v) => v.id));
  expect(variables.size).toBe(named.size); // one name per variable
  const emb = a.embeddingVariables();
  const net = a.networkVariables();
  const trainable = [...named.values()].filter((v) => v.trainable);
  expect(new Set([...emb, ...net].map((v) => v.id)).size).toBe(emb.length + net.length);
  expect(new Set([...emb, ...net].map((v) => v.id))).toEqual(new Set(trainable.map((v) => v.id)));
  expect(a.paramCount()).toBe(trainable.reduce((s, v) => s + v.size, 0));
  expect(() => JSON.stringify(a.config)).not.toThrow();

  // Save/load into an instance with another seed.
  const b = c.make(table, 2);
  expect([...b.namedWeights().keys()]).toEqual([...named.keys()]);
  trainSteps(a, rows, 2);
  expect(maxAbsDiff(logits(a, x), logits(b, x))).toBeGreaterThan(1e-6);
  const target = b.namedWeights();
  for (const [name, v] of named) target.get(name)!.assign(v);
  expect(maxAbsDiff(logits(a, x), logits(b, x))).toBe(0);
  b.dispose();

  // Every trainable variable gets a finite, non-zero gradient: no dead path (a path whose mask is inverted
  // attends to zero padding vectors only and gets none). Then no leaked tensors across forward + backward steps.
  const vars = [...emb, ...net];
  const step = (inspect = false) => {
    const { value, grads } = tf.variableGrads(() => lossOf(a, rows, x, true), vars);
    if (inspect) {
      for (const v of vars) {
        const g = grads[v.name].dataSync();
        expect(g.every(Number.isFinite), v.name).toBe(true);
        expect(g.some((e) => e !== 0), `no gradient reaches ${v.name}`).toBe(true);
      }
    }
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(true);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  tf.tidy(() => {
    a.call(x, false);
  });
  expect(tf.memory().numTensors).toBe(before);

  // Padding: left padding of the same valid items changes nothing.
  const valid = [[3, 7], [12], [5, 9, 21]];
  const targets = [7, 4, 30];
  const base = historyInputs(valid, 3, targets);
  const padded = historyInputs(valid, 8, targets);
  const y0 = logits(a, base);
  expect(maxAbsDiff(y0, logits(a, padded))).toBeLessThan(1e-5);

  // Changing a valid history item changes the logits (history-blind: nothing about the history does).
  const changed = historyInputs([[3, 8], [13], [5, 9, 22]], 3, targets);
  const moved = maxAbsDiff(y0, logits(a, changed));
  if (c.historyBlind) expect(moved).toBe(0);
  else expect(moved).toBeGreaterThan(1e-6);
  disposeInputs(base);
  disposeInputs(padded);
  disposeInputs(changed);

  // Row 0 of the item table is never read as an item.
  const fresh = c.make(table, 3);
  const dirty = c.make(dirtyRowZero, 3);
  expect(logits(dirty, x)).toEqual(logits(fresh, x));
  fresh.dispose();
  dirty.dispose();

  a.dispose();
  disposeInputs(x);
}

/** The table with a non-zero padding row: tags [1..5] and a random pretrained vector at item 0. */
export function withDirtyRowZero(table: ItemTable): ItemTable {
  const tags = table.tags.data.slice();
  const emb = table.emb.data.slice();
  for (let c = 0; c < table.tags.cols; c++) tags[c] = 1 + (c % (table.tagVocab - 1));
  for (let c = 0; c < table.emb.cols; c++) emb[c] = Math.sin(c + 1) * 3;
  return { ...table, tags: { ...table.tags, data: tags }, emb: { ...table.emb, data: emb } };
}
