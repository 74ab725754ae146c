/**
 * A DIN-like CTR training step built from plain tfjs ops, used by bench/kernels.ts to time backends and by
 * tests/engine to check that forward + backward run, and agree, on `cpu` and `wasm`.
 *
 * target item t and history h from one item table; attention MLP over [t, h, t−h, t⊙h]; masked weights (DIN: no
 * softmax; `softmax: true` normalises them); pooled = Σ w·h; [t, pooled] (+ max over history with `maxPool`)
 * → batch norm from `tf.moments` → DNN (ReLU) → logit → sigmoid cross-entropy. Reference: Zhou G. et al., Deep
 * Interest Network for Click-Through Rate Prediction, KDD 2018.
 */
import * as tf from '@tensorflow/tfjs';

export interface DinLikeShape {
  /** Rows per batch. */
  batch: number;
  /** History length (0 = padding). */
  hist: number;
  /** Embedding size. */
  emb: number;
  /** Rows of the item table (row 0 is padding). */
  items: number;
  /** Attention MLP hidden sizes; the first layer uses sigmoid, the others PReLU. */
  attention: number[];
  /** DNN hidden sizes (ReLU). */
  dnn: number[];
  /** Softmax over the masked attention scores. Default false (DIN). */
  softmax?: boolean;
  /** Add max-pooling over the history to the DNN input. Default false. */
  maxPool?: boolean;
}

/** The benchmark shape of the brief: batch 1024, history 50, emb 64, attention 80-40, DNN 200-80, 91,718 items. */
export const DIN_BENCH_SHAPE: DinLikeShape = {
  batch: 1024,
  hist: 50,
  emb: 64,
  items: 91_718,
  attention: [80, 40],
  dnn: [200, 80],
};

export interface DinLikeBatch {
  itemIds: tf.Tensor1D; // [batch] int32
  histIds: tf.Tensor2D; // [batch, hist] int32, left-padded with 0
  labels: tf.Tensor1D; // [batch] float32 0/1
}

/** Deterministic pseudo-random numbers (mulberry32), so both backends see identical weights and batches. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(shape: number[], scale: number, next: () => number): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (next() * 2 - 1) * scale;
  return tf.tensor(v, shape, 'float32');
}

export function makeDinLikeBatch(shape: DinLikeShape, seed = 1): DinLikeBatch {
  const next = rng(seed);
  const { batch, hist, items } = shape;
  const item = new Int32Array(batch);
  const histIds = new Int32Array(batch * hist);
  const labels = new Float32Array(batch);
  for (let b = 0; b < batch; b++) {
    item[b] = 1 + Math.floor(next() * (items - 1));
    const len = 1 + Math.floor(next() * hist);
    for (let j = hist - len; j < hist; j++) histIds[b * hist + j] = 1 + Math.floor(next() * (items - 1));
    labels[b] = next() < 0.25 ? 1 : 0;
  }
  return {
    itemIds: tf.tensor1d(item, 'int32'),
    histIds: tf.tensor2d(histIds, [batch, hist], 'int32'),
    labels: tf.tensor1d(labels, 'float32'),
  };
}

export interface DinLikeModel {
  variables: tf.Variable[];
  /** Mean loss of one batch (call inside tidy / variableGrads). */
  loss(batch: DinLikeBatch): tf.Scalar;
  dispose(): void;
}

let modelCount = 0;
let varCount = 0;

export function createDinLike(shape: DinLikeShape, seed = 7): DinLikeModel {
  const next = rng(seed);
  const { emb, hist } = shape;
  const id = ++modelCount; // variable names are global in tfjs
  const v = (name: string, s: number[], scale: number) =>
    tf.variable(uniform(s, scale, next), true, `din${id}_${name}_${++varCount}`);
  const glorot = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
  const table = v('table', [shape.items, emb], 0.05);
  const att: { w: tf.Variable; b: tf.Variable; alpha?: tf.Variable }[] = [];
  let inAtt = 4 * emb;
  shape.attention.forEach((units, i) => {
    const alpha = i > 0 ? { alpha: v('attAlpha', [units], 0.25) } : {};
    att.push({ w: v('attW', [inAtt, units], glorot(inAtt, units)), b: v('attB', [units], 0.01), ...alpha });
    inAtt = units;
  });
  const attOut = { w: v('attOutW', [inAtt, 1], glorot(inAtt, 1)), b: v('attOutB', [1], 0.01) };
  let inDnn = (shape.maxPool ? 3 : 2) * emb;
  const gamma = tf.variable(tf.ones([inDnn]), true, `din${id}_bnGamma`);
  const beta = tf.variable(tf.zeros([inDnn]), true, `din${id}_bnBeta`);
  const dnn: { w: tf.Variable; b: tf.Variable }[] = [];
  for (const units of shape.dnn) {
    dnn.push({ w: v('dnnW', [inDnn, units], glorot(inDnn, units)), b: v('dnnB', [units], 0.01) });
    inDnn = units;
  }
  const out = { w: v('outW', [inDnn, 1], glorot(inDnn, 1)), b: v('outB', [1], 0.01) };
  const variables = [
    table,
    ...att.flatMap((l) => [l.w, l.b, ...(l.alpha ? [l.alpha] : [])]),
    attOut.w,
    attOut.b,
    gamma,
    beta,
    ...dnn.flatMap((l) => [l.w, l.b]),
    out.w,
    out.b,
  ];

  const loss = ({ itemIds, histIds, labels }: DinLikeBatch): tf.Scalar => {
    const batch = itemIds.shape[0];
    const t = tf.gather(table, itemIds); // [batch, emb]
    const h = tf.gather(table, histIds); // [batch, hist, emb]
    const mask = tf.cast(tf.greater(histIds, 0), 'float32'); // [batch, hist]
    const tq = tf.tile(tf.expandDims(t, 1), [1, hist, 1]); // [batch, hist, emb]
    let a = tf.reshape(tf.concat([tq, h, tf.sub(tq, h), tf.mul(tq, h)], 2), [batch * hist, 4 * emb]);
    att.forEach((l, i) => {
      const z = tf.add(tf.matMul(a, l.w), l.b); // [batch·hist, units]
      a = l.alpha ? tf.prelu(z, l.alpha) : tf.sigmoid(z);
    });
    let scores = tf.reshape(tf.add(tf.matMul(a, attOut.w), attOut.b), [batch, hist]); // [batch, hist]
    if (shape.softmax) scores = tf.softmax(tf.add(scores, tf.mul(tf.sub(mask, 1), 1e4)));
    const w = tf.mul(scores, mask); // [batch, hist]
    const pooled = tf.sum(tf.mul(h, tf.expandDims(w, 2)), 1); // [batch, emb]
    const parts = [t, pooled];
    if (shape.maxPool) parts.push(tf.max(h, 1));
    const x = tf.concat(parts, 1); // [batch, 2·emb or 3·emb]
    const { mean, variance } = tf.moments(x, 0);
    let d = tf.batchNorm(x, mean, variance, beta, gamma, 1e-3) as tf.Tensor;
    for (const l of dnn) d = tf.relu(tf.add(tf.matMul(d, l.w), l.b));
    const logit = tf.reshape(tf.add(tf.matMul(d, out.w), out.b), [batch]);
    return tf.losses.sigmoidCrossEntropy(labels, logit) as tf.Scalar;
  };
  return { variables, loss, dispose: () => variables.forEach((x) => x.dispose()) };
}
