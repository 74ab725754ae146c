/**
 * A compact, self-contained DIN-like training step written with plain tfjs ops, for backend benchmarks
 * (bench/native.ts). It follows the MMCTR baseline's shapes (see /work/shared/reference/microlens-mmctr.md):
 * item vector = id embedding (64) ‖ masked mean of 5 tag embeddings (64) ‖ Linear(128→128, no bias) of a frozen
 * 128-d item feature → 256; target attention MLP with the first layer split as W_t·t + W_h·h + W_p·(t⊙h) (no
 * concat/tile; the baseline's t−h block folds into W_t and W_h), ReLU, masked weights, no softmax; DNN over
 * likes/views embeddings ‖ target ‖ pooled (640) with BatchNorm (batch moments) and ReLU; sigmoid BCE; Adam.
 * No dropout (the step measures the dense work).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 as rng } from './benchUtil';

export interface DinShape {
  /** Label of the shape set in results tables. */
  name: string;
  batch: number;
  /** History length. */
  hist: number;
  /** Attention MLP hidden units. */
  attention: number[];
  /** DNN hidden units. */
  dnn: number[];
}

export const BASELINE_SHAPE: DinShape = { name: 'baseline', batch: 1024, hist: 64, attention: [512, 256], dnn: [1024, 512, 256] };
export const SMALL_SHAPE: DinShape = { name: 'small', batch: 1024, hist: 50, attention: [80, 40], dnn: [200, 80] };

const NUM_ITEMS = 91_718; // rows incl. padding row 0
const NUM_TAGS = 11_740;
const NUM_LEVELS = 16; // likes/views level vocabulary
const EMB = 64;
const TAGS_PER_ITEM = 5;
const FEAT = 128;
const ITEM_DIM = 2 * EMB + FEAT; // 64 id ‖ 64 tags ‖ 128 projected = 256

export interface DinBatch {
  target: tf.Tensor1D; // [B] int32
  hist: tf.Tensor2D; // [B, L] int32, 0 = padding (left-padded)
  likes: tf.Tensor1D; // [B] int32
  views: tf.Tensor1D; // [B] int32
  label: tf.Tensor2D; // [B, 1] float32
}

export interface DinStep {
  /** Runs one optimiser step; returns the loss. */
  step(batch: DinBatch): number;
  makeBatch(seed: number): DinBatch;
  dispose(): void;
}

export function makeDinStep(shape: DinShape, seed = 1): DinStep {
  const r = rng(seed);
  const normal = (rows: number, cols: number, std: number) => {
    const v = new Float32Array(rows * cols);
    for (let i = 0; i < v.length; i++) v[i] = (r() + r() + r() - 1.5) * 2 * std;
    return tf.tensor2d(v, [rows, cols]);
  };
  const xavier = (i: number, o: number, name: string) => tf.variable(normal(i, o, Math.sqrt(2 / (i + o))), true, name);
  const zeros = (n: number, name: string) => tf.variable(tf.zeros([n]), true, name);

  // Frozen side tables: tags per item (left-padded with 0), the 128-d item feature.
  const tagsV = new Int32Array(NUM_ITEMS * TAGS_PER_ITEM);
  for (let i = 1; i < NUM_ITEMS; i++) {
    const n = 1 + Math.floor(r() * TAGS_PER_ITEM);
    for (let j = TAGS_PER_ITEM - n; j < TAGS_PER_ITEM; j++) tagsV[i * TAGS_PER_ITEM + j] = 1 + Math.floor(r() * (NUM_TAGS - 1));
  }
  const itemTags = tf.tensor2d(tagsV, [NUM_ITEMS, TAGS_PER_ITEM], 'int32');
  const itemFeat = normal(NUM_ITEMS, FEAT, 1);

  const itemEmb = tf.variable(normal(NUM_ITEMS, EMB, 1e-2), true, 'itemEmb');
  const tagEmb = tf.variable(normal(NUM_TAGS, EMB, 1e-2), true, 'tagEmb');
  const likesEmb = tf.variable(normal(NUM_LEVELS, EMB, 1e-2), true, 'likesEmb');
  const viewsEmb = tf.variable(normal(NUM_LEVELS, EMB, 1e-2), true, 'viewsEmb');
  const proj = xavier(FEAT, FEAT, 'proj');
  const [a1, ...attRest] = shape.attention;
  const attWt = xavier(ITEM_DIM, a1, 'attWt');
  const attWh = xavier(ITEM_DIM, a1, 'attWh');
  const attWp = xavier(ITEM_DIM, a1, 'attWp');
  const attB1 = zeros(a1, 'attB1');
  const attLayers: { w: tf.Variable; b: tf.Variable }[] = [];
  let prev = a1;
  for (const [i, u] of [...attRest, 1].entries()) {
    attLayers.push({ w: xavier(prev, u, `attW${i + 2}`), b: zeros(u, `attB${i + 2}`) });
    prev = u;
  }
  const dnn: { w: tf.Variable; b: tf.Variable; gamma: tf.Variable; beta: tf.Variable }[] = [];
  prev = 2 * EMB + 2 * ITEM_DIM;
  for (const [i, u] of shape.dnn.entries()) {
    dnn.push({
      w: xavier(prev, u, `dnnW${i}`),
      b: zeros(u, `dnnB${i}`),
      gamma: tf.variable(tf.ones([u]), true, `dnnGamma${i}`),
      beta: zeros(u, `dnnBeta${i}`),
    });
    prev = u;
  }
  const outW = xavier(prev, 1, 'outW');
  const outB = zeros(1, 'outB');
  const optimizer = tf.train.adam(1e-3);

  /** Item vectors for flat ids [N] → [N, 256]. */
  const itemVectors = (ids: tf.Tensor1D): tf.Tensor2D => {
    const idE = tf.gather(itemEmb, ids); // [N, 64]
    const tags = tf.gather(itemTags, ids); // [N, 5]
    const tagE = tf.gather(tagEmb, tags); // [N, 5, 64]
    const mask = tf.cast(tf.greater(tags, 0), 'float32'); // [N, 5]
    const count = tf.maximum(tf.sum(mask, 1, true), 1); // [N, 1]
    const tagMean = tf.div(tf.sum(tf.mul(tagE, tf.expandDims(mask, 2)), 1), count); // [N, 64]
    const feat = tf.matMul(tf.gather(itemFeat, ids), proj); // [N, 128]
    return tf.concat([idE, tagMean, feat], 1) as tf.Tensor2D; // [N, 256]
  };

  const loss = (batch: DinBatch): tf.Scalar => {
    const B = shape.batch;
    const L = shape.hist;
    const t = itemVectors(batch.target); // [B, 256]
    const h2 = itemVectors(tf.reshape(batch.hist, [B * L]) as tf.Tensor1D); // [B·L, 256]
    const h = tf.reshape(h2, [B, L, ITEM_DIM]); // [B, L, 256]
    const th = tf.reshape(tf.mul(tf.expandDims(t, 1), h), [B * L, ITEM_DIM]); // [B·L, 256]
    const q = tf.add(tf.matMul(t, attWt), attB1); // [B, a1]
    const z = tf.add(tf.matMul(h2, attWh), tf.matMul(th, attWp)); // [B·L, a1]
    let x: tf.Tensor2D = tf.reshape(tf.relu(tf.add(tf.reshape(z, [B, L, a1]), tf.expandDims(q, 1))), [B * L, a1]);
    for (const [i, { w, b }] of attLayers.entries()) {
      const last = i === attLayers.length - 1;
      x = tf.fused.matMul({ a: x, b: w, bias: b, activation: last ? 'linear' : 'relu' }) as tf.Tensor2D;
    }
    const histMask = tf.cast(tf.greater(batch.hist, 0), 'float32'); // [B, L]
    const weights = tf.mul(tf.reshape(x, [B, L]), histMask); // [B, L]
    const pooled = tf.reshape(tf.matMul(tf.reshape(weights, [B, 1, L]), h), [B, ITEM_DIM]); // [B, 256]
    let y: tf.Tensor2D = tf.concat([tf.gather(likesEmb, batch.likes), tf.gather(viewsEmb, batch.views), t, pooled], 1) as tf.Tensor2D; // [B, 640]
    for (const { w, b, gamma, beta } of dnn) {
      const lin = tf.add(tf.matMul(y, w), b);
      const { mean, variance } = tf.moments(lin, 0);
      y = tf.relu(tf.batchNorm(lin, mean, variance, beta, gamma, 1e-5)) as tf.Tensor2D;
    }
    const logits = tf.add(tf.matMul(y, outW), outB); // [B, 1]
    return tf.losses.sigmoidCrossEntropy(batch.label, logits) as tf.Scalar;
  };

  const step = (batch: DinBatch): number => {
    const { value, grads } = tf.variableGrads(() => loss(batch));
    optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
    const v = value.dataSync()[0];
    value.dispose();
    tf.dispose(grads);
    return v;
  };

  const makeBatch = (s: number): DinBatch => {
    const br = rng(s);
    const B = shape.batch;
    const L = shape.hist;
    const target = new Int32Array(B);
    const hist = new Int32Array(B * L);
    const likes = new Int32Array(B);
    const views = new Int32Array(B);
    const label = new Float32Array(B);
    for (let i = 0; i < B; i++) {
      target[i] = 1 + Math.floor(br() * (NUM_ITEMS - 1));
      const n = 1 + Math.floor(br() * L);
      for (let j = L - n; j < L; j++) hist[i * L + j] = 1 + Math.floor(br() * (NUM_ITEMS - 1));
      likes[i] = Math.floor(br() * NUM_LEVELS);
      views[i] = Math.floor(br() * NUM_LEVELS);
      label[i] = br() < 0.3 ? 1 : 0;
    }
    return {
      target: tf.tensor1d(target, 'int32'),
      hist: tf.tensor2d(hist, [B, L], 'int32'),
      likes: tf.tensor1d(likes, 'int32'),
      views: tf.tensor1d(views, 'int32'),
      label: tf.tensor2d(label, [B, 1]),
    };
  };

  const dispose = () => {
    optimizer.dispose();
    tf.dispose([itemTags, itemFeat, itemEmb, tagEmb, likesEmb, viewsEmb, proj, attWt, attWh, attWp, attB1]);
    for (const l of attLayers) tf.dispose([l.w, l.b]);
    for (const l of dnn) tf.dispose([l.w, l.b, l.gamma, l.beta]);
    tf.dispose([outW, outB]);
  };

  return { step, makeBatch, dispose };
}
