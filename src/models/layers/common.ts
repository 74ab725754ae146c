/**
 * Pieces shared by the layers in this folder: the argument types every layer extends, the error they raise, the
 * FuxiCTR initialisers (PyTorch's Xavier is a plain normal/uniform, not tfjs's truncated one), the padding mask, and
 * the batch-norm / dropout arithmetic that several layers own weights for.
 */
import * as tf from '@tensorflow/tfjs';
import { hasSeededDropout, seededDropout } from '../../engine/kernels/dropout';
import { nextOpSeed } from '../../util/opSeeds';
import { webGpuPaddingMask } from '../../engine/kernels/webgpu/embedding';
import { MmctrError } from '../../errors';

/** The base arguments of every tfjs layer (name, trainable, dtype, ...). */
export type BaseLayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** The keyword arguments tfjs passes to `call` (`training` is the one these layers read). */
export type Kwargs = { [key: string]: unknown };

/** A tfjs weight initialiser. */
export type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

/** A weight as tfjs layers hold it (`read()` / `write()`). */
export type LayerVariable = tf.LayerVariable;

/** Raised for arguments or inputs a layer cannot work with; says which layer, which argument and the value. */
export class LayerConfigError extends MmctrError {}

/** True when the call is a training step (`layer.apply(x, { training: true })`); inference otherwise. */
export function isTraining(kwargs: Kwargs | undefined): boolean {
  return kwargs?.['training'] === true;
}

/** Drops `undefined` fields so an args object is a valid tfjs `ConfigDict`. */
export function toConfig(fields: Record<string, unknown>): tf.serialization.ConfigDict {
  const out: tf.serialization.ConfigDict = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = value as tf.serialization.ConfigDictValue;
  }
  return out;
}

/** The seed of the k-th weight of a layer, or undefined (fresh randomness) when the layer has no seed. */
export function seedFor(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : seed + k;
}

/**
 * PyTorch's fan-in / fan-out: for a matrix stored as tfjs [in, out] the fans are in and out; for a 3-D PyTorch
 * tensor [a, b, c] (as in CrossNetMix) fan_in = b·c and fan_out = a·c.
 */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** Xavier (Glorot) normal as PyTorch's `xavier_normal_`: N(0, 2 / (fanIn + fanOut)), not truncated. */
export function xavierNormal(fans: Fans, seed?: number): Initializer {
  const stddev = Math.sqrt(2 / (fans.fanIn + fans.fanOut));
  return tf.initializers.randomNormal({ mean: 0, stddev, seed });
}

/** Xavier (Glorot) uniform as PyTorch's `xavier_uniform_`: U(−a, a), a = sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(fans: Fans, seed?: number): Initializer {
  const limit = Math.sqrt(6 / (fans.fanIn + fans.fanOut));
  return tf.initializers.randomUniform({ minval: -limit, maxval: limit, seed });
}

/**
 * The padding mask of an id tensor: 1 where the id is a real id (> 0), 0 where it is padding (0).
 * THE convention of this project: 1 = VALID position. Every layer taking a mask takes this one.
 */
export function paddingMask(ids: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'webgpu' && ids.dtype === 'int32') return webGpuPaddingMask(ids); // 1 dispatch, not 2
  return tf.tidy(() => tf.cast(tf.greater(ids, 0), 'float32'));
}

/** A mask given as bool / int / float, as float32 (1 = valid). */
export function asFloatMask(mask: tf.Tensor): tf.Tensor {
  return mask.dtype === 'float32' ? mask : tf.cast(mask, 'float32');
}

/**
 * Inverted dropout (scaled by 1/(1−rate)) in training; identity at inference or with rate 0. Where the backend has
 * the project's one-pass kernel (`cpu`, `wasm`, native; src/engine/kernels/dropout.ts) it runs that, else
 * `tf.dropout`: the same distribution, other draws, so a run is exact against itself on one backend.
 */
export function dropoutIf(x: tf.Tensor, rate: number, training: boolean): tf.Tensor {
  if (!training || rate <= 0) return x;
  // Seeded from the trainer's per-step stream so that a run is a function of its seed (and resumes exactly).
  const seed = nextOpSeed();
  if (x.dtype === 'float32' && hasSeededDropout()) {
    return seededDropout(x, rate, seed ?? Math.floor(Math.random() * 0x7fffffff));
  }
  return tf.dropout(x, rate, undefined, seed);
}

/** Running statistics of a batch norm, as PyTorch keeps them. */
export interface RunningStats {
  mean: LayerVariable;
  variance: LayerVariable;
}

/**
 * Batch normalisation over the rows of a 2-D tensor, PyTorch semantics: in training normalise with the batch mean
 * and biased variance and update running = (1 − momentum)·running + momentum·batch, with the unbiased variance for
 * the running variance; at inference normalise with the running statistics. No affine part (callers add it).
 */
export function batchNormalize(
  x: tf.Tensor2D, // [rows, units]
  stats: RunningStats,
  epsilon: number,
  momentum: number,
  training: boolean,
): tf.Tensor2D {
  if (!training) {
    return tf.div(tf.sub(x, stats.mean.read()), tf.sqrt(tf.add(stats.variance.read(), epsilon))) as tf.Tensor2D;
  }
  const rows = x.shape[0];
  const { mean, variance } = tf.moments(x, 0); // [units], biased variance
  const unbiased = rows > 1 ? tf.mul(variance, rows / (rows - 1)) : variance;
  // write() keeps the new value alive past the caller's tidy; the update is not on the loss path (no gradient).
  stats.mean.write(
    tf.tidy(() => tf.add(tf.mul(stats.mean.read(), 1 - momentum), tf.mul(mean, momentum))),
  );
  stats.variance.write(
    tf.tidy(() => tf.add(tf.mul(stats.variance.read(), 1 - momentum), tf.mul(unbiased, momentum))),
  );
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))) as tf.Tensor2D;
}

/** The last dimension of a shape, which every layer here needs known at build time. */
export function lastDim(shape: tf.Shape, layer: string, what: string): number {
  const d = shape[shape.length - 1];
  if (d == null || d <= 0) {
    throw new LayerConfigError(`${layer}: the last dimension of ${what} must be known, got shape [${shape.join(', ')}]`);
  }
  return d;
}

/** Asserts an integer argument is ≥ min. */
export function requireInt(layer: string, arg: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new LayerConfigError(`${layer}: ${arg} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Asserts a rate is in [0, 1). */
export function requireRate(layer: string, arg: string, value: number): number {
  if (!(value >= 0 && value < 1)) throw new LayerConfigError(`${layer}: ${arg} must be in [0, 1), got ${value}`);
  return value;
}
