/**
 * A small CtrModel for the trainer's tests, written with plain tf.variables (the real models are elsewhere):
 * item embedding (target and mean-pooled history), likes/views embeddings → Dense(16, relu) → dropout (seeded through
 * `nextOpSeed`, as the zoo's layers should) → centred by a running mean (non-trainable state, like BN statistics) →
 * Dense(1). Seeded: the same seed gives the same initial weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { CtrModel, ModelInputs } from '../../src/models/types';
import { nextOpSeed } from '../../src/util/opSeeds';

export interface TinyModelArgs {
  /** Rows of the item table (ids 0..numItems−1, 0 = padding). */
  numItems: number;
  /** Default 8. */
  dim?: number;
  /** Default 16. */
  hidden?: number;
  /** Default 1. */
  seed?: number;
  /** Dropout rate after the hidden layer (training only). Default 0.1. */
  dropout?: number;
}

let instance = 0;

export class TinyModel implements CtrModel {
  readonly name = 'din' as const;
  readonly config: Record<string, unknown>;
  readonly itemEmb: tf.Variable;
  readonly likesEmb: tf.Variable;
  readonly viewsEmb: tf.Variable;
  readonly w1: tf.Variable;
  readonly b1: tf.Variable;
  readonly w2: tf.Variable;
  readonly b2: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly dropout: number;
  /** Called with each `training` call's ModelInputs (tests hook in here). */
  onCall?: (inputs: ModelInputs, training: boolean) => void;

  constructor(args: TinyModelArgs) {
    const dim = args.dim ?? 8;
    const hidden = args.hidden ?? 16;
    const seed = args.seed ?? 1;
    this.dropout = args.dropout ?? 0.1;
    this.config = { numItems: args.numItems, dim, hidden, seed, dropout: this.dropout };
    const id = instance++;
    const v = (t: tf.Tensor, name: string, trainable = true) => {
      const variable = tf.variable(t, trainable, `tiny${id}_${name}`);
      t.dispose();
      return variable;
    };
    const inDim = 3 * dim + 2 * 4;
    this.itemEmb = v(tf.randomNormal([args.numItems, dim], 0, 0.05, 'float32', seed), 'itemEmb');
    this.likesEmb = v(tf.randomNormal([10, 4], 0, 0.05, 'float32', seed + 1), 'likesEmb');
    this.viewsEmb = v(tf.randomNormal([10, 4], 0, 0.05, 'float32', seed + 2), 'viewsEmb');
    this.w1 = v(tf.randomNormal([inDim, hidden], 0, Math.sqrt(2 / (inDim + hidden)), 'float32', seed + 3), 'w1');
    this.b1 = v(tf.zeros([hidden]), 'b1');
    this.w2 = v(tf.randomNormal([hidden, 1], 0, Math.sqrt(2 / (hidden + 1)), 'float32', seed + 4), 'w2');
    this.b2 = v(tf.zeros([1]), 'b2');
    this.runningMean = v(tf.zeros([hidden]), 'runningMean', false);
  }

  call(inputs: ModelInputs, training: boolean): tf.Tensor1D {
    this.onCall?.(inputs, training);
    const target = tf.gather(this.itemEmb, inputs.itemId); // [B, d]
    const hist = tf.gather(this.itemEmb, inputs.itemSeq); // [B, L, d]
    const mask = tf.expandDims(tf.cast(tf.greater(inputs.itemSeq, 0), 'float32'), -1); // [B, L, 1]
    const pooled = tf.div(tf.sum(tf.mul(hist, mask), 1), tf.maximum(tf.sum(mask, 1), 1)); // [B, d]
    const x = tf.concat(
      [target, pooled, tf.mul(target, pooled), tf.gather(this.likesEmb, inputs.likesLevel), tf.gather(this.viewsEmb, inputs.viewsLevel)],
      1,
    ); // [B, 3d + 8]
    const h = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)); // [B, hidden]
    if (training) this.runningMean.assign(tf.add(tf.mul(this.runningMean, 0.9), tf.mul(tf.mean(h, 0), 0.1)));
    const dropped = training && this.dropout > 0 ? tf.dropout(h, this.dropout, undefined, nextOpSeed()) : h;
    const centred = tf.sub(dropped, this.runningMean);
    return tf.reshape(tf.add(tf.matMul(centred, this.w2), this.b2), [-1]) as tf.Tensor1D; // [B]
  }

  embeddingVariables(): tf.Variable[] {
    return [this.itemEmb, this.likesEmb, this.viewsEmb];
  }

  networkVariables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }

  namedWeights(): Map<string, tf.Variable> {
    return new Map([
      ['item/embedding', this.itemEmb],
      ['likes/embedding', this.likesEmb],
      ['views/embedding', this.viewsEmb],
      ['dense1/kernel', this.w1],
      ['dense1/bias', this.b1],
      ['out/kernel', this.w2],
      ['out/bias', this.b2],
      ['dense1/runningMean', this.runningMean],
    ]);
  }

  paramCount(): number {
    return [...this.embeddingVariables(), ...this.networkVariables()].reduce((s, v) => s + v.size, 0);
  }

  dispose(): void {
    tf.dispose([...this.namedWeights().values()]);
  }
}

/** All weights' values, by name (for equality checks). */
export function weightValues(model: CtrModel): Record<string, number[]> {
  return Object.fromEntries([...model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
}

/** Overwrites every weight with noise: a model whose state must then come entirely from a checkpoint. */
export function scramble(model: CtrModel, seed = 123): void {
  let k = 0;
  for (const v of model.namedWeights().values()) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 1, 'float32', seed + k++)));
}
