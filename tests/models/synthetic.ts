/**
 * A tiny MicroLens-shaped problem for model tests: an item table (ids 1..items, 5 left-padded tags, a random
 * pretrained vector per item) and rows whose label follows a planted rule.
 *  - 'inHistory': label 1 iff the target item appears in the history. Positive targets are drawn from the
 *    history, negative ones from the items outside it, so every item is a target of either label equally often:
 *    nothing about the target alone predicts the label (a history-blind model stays at AUC ≈ 0.5).
 *  - 'targetGroup': label 1 iff the target belongs to a fixed random half of the items (history irrelevant).
 * Plus a training loop (Adam, sigmoid cross-entropy) and the evaluation the fit tests assert on.
 */
import * as tf from '@tensorflow/tfjs';
import { auc } from '../../src/eval';
import type { CtrModel, ItemTable, ModelInputs } from '../../src/models';
import { Rng } from '../../src/util/rng';

export interface TinyShape {
  items: number;
  tags: number;
  embDim: number;
  seqLen: number;
}

export const TINY: TinyShape = { items: 40, tags: 12, embDim: 8, seqLen: 8 };

export function tinyItemTable(shape: TinyShape = TINY, seed = 'table'): ItemTable {
  const rng = new Rng(seed);
  const rows = shape.items + 1;
  const tags = new Int32Array(rows * 5);
  const emb = new Float32Array(rows * shape.embDim);
  for (let r = 1; r < rows; r++) {
    const n = 1 + rng.int(3);
    for (let c = 5 - n; c < 5; c++) tags[r * 5 + c] = 1 + rng.int(shape.tags);
  }
  rng.fillNormal(emb.subarray(shape.embDim));
  return { tags: { data: tags, rows, cols: 5 }, emb: { data: emb, rows, cols: shape.embDim }, tagVocab: shape.tags + 1 };
}

export type Rule = 'inHistory' | 'targetGroup';

/** Rows as plain arrays (tensors are made per batch). */
export interface Rows {
  n: number;
  itemId: Int32Array;
  likes: Int32Array;
  views: Int32Array;
  seq: Int32Array; // [n × seqLen]
  label: Float32Array;
}

export function makeRows(n: number, rule: Rule, seed: string, shape: TinyShape = TINY): Rows {
  const rng = new Rng(seed);
  const groups = new Rng('groups').permutation(shape.items).subarray(0, shape.items / 2);
  const inGroup = new Set(Array.from(groups, (i) => i + 1));
  const out: Rows = {
    n,
    itemId: new Int32Array(n),
    likes: new Int32Array(n),
    views: new Int32Array(n),
    seq: new Int32Array(n * shape.seqLen),
    label: new Float32Array(n),
  };
  for (let r = 0; r < n; r++) {
    const len = 2 + rng.int(shape.seqLen - 1);
    const hist = new Set<number>();
    while (hist.size < len) hist.add(1 + rng.int(shape.items));
    const h = [...hist];
    h.forEach((id, j) => (out.seq[r * shape.seqLen + shape.seqLen - len + j] = id));
    let target: number;
    if (rule === 'inHistory') {
      const positive = rng.bernoulli(0.5);
      if (positive) target = h[rng.int(len)];
      else do target = 1 + rng.int(shape.items); while (hist.has(target));
      out.label[r] = positive ? 1 : 0;
    } else {
      target = 1 + rng.int(shape.items);
      out.label[r] = inGroup.has(target) ? 1 : 0;
    }
    out.itemId[r] = target;
    out.likes[r] = rng.int(10);
    out.views[r] = rng.int(10);
  }
  return out;
}

/** Rows [from, to) as model inputs. */
export function inputsOf(rows: Rows, from = 0, to = rows.n, seqLen = TINY.seqLen): ModelInputs {
  return {
    itemId: tf.tensor1d(rows.itemId.subarray(from, to), 'int32'),
    likesLevel: tf.tensor1d(rows.likes.subarray(from, to), 'int32'),
    viewsLevel: tf.tensor1d(rows.views.subarray(from, to), 'int32'),
    itemSeq: tf.tensor2d(rows.seq.subarray(from * seqLen, to * seqLen), [to - from, seqLen], 'int32'),
  };
}

export function disposeInputs(x: ModelInputs): void {
  tf.dispose([x.itemId, x.likesLevel, x.viewsLevel, x.itemSeq]);
}

/** Inference logits of all rows. */
export function predict(model: CtrModel, rows: Rows): Float32Array {
  const x = inputsOf(rows);
  const logits = model.call(x, false);
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  disposeInputs(x);
  return out;
}

/** Mean sigmoid cross-entropy of logits. */
export function logLoss(labels: Float32Array, logits: Float32Array): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const z = logits[i];
    s += Math.max(z, 0) - z * labels[i] + Math.log1p(Math.exp(-Math.abs(z)));
  }
  return s / labels.length;
}

export function lossOf(model: CtrModel, rows: Rows, x: ModelInputs, training: boolean): tf.Scalar {
  return tf.tidy(() => {
    const labels = tf.tensor1d(rows.label);
    return tf.losses.sigmoidCrossEntropy(labels, model.call(x, training)) as tf.Scalar;
  });
}

export interface FitResult {
  testLossBefore: number;
  testLossAfter: number;
  testAuc: number;
}

/** `steps` Adam steps over shuffled mini-batches of `train`; evaluates on `test` before and after. */
export function fit(model: CtrModel, train: Rows, test: Rows, steps: number, batch = 64, lr = 1e-2): FitResult {
  const vars = [...model.embeddingVariables(), ...model.networkVariables()];
  const optimizer = tf.train.adam(lr);
  const testLossBefore = logLoss(test.label, predict(model, test));
  const rng = new Rng('fit');
  let order = rng.permutation(train.n);
  for (let step = 0, at = 0; step < steps; step++, at += batch) {
    if (at + batch > train.n) {
      order = rng.permutation(train.n);
      at = 0;
    }
    const idx = order.subarray(at, at + batch);
    const pick = <T extends Int32Array | Float32Array>(a: T, width = 1): T => {
      const out = new (a.constructor as new (n: number) => T)(idx.length * width);
      idx.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
      return out;
    };
    const rows: Rows = {
      n: idx.length,
      itemId: pick(train.itemId),
      likes: pick(train.likes),
      views: pick(train.views),
      seq: pick(train.seq, TINY.seqLen),
      label: pick(train.label),
    };
    const x = inputsOf(rows);
    const cost = optimizer.minimize(() => lossOf(model, rows, x, true), true, vars);
    cost?.dispose();
    disposeInputs(x);
  }
  optimizer.dispose();
  const testLogits = predict(model, test);
  return { testLossBefore, testLossAfter: logLoss(test.label, testLogits), testAuc: auc(test.label, testLogits) };
}
