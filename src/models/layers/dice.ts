/**
 * Dice, the data-adaptive activation of DIN.
 * Reference: Zhou G, et al. Deep Interest Network for Click-Through Rate Prediction. KDD 2018.
 *
 * p = σ(BN(x)) with a batch norm without affine part (eps 1e-9, momentum 0.01 in PyTorch's convention:
 * running = 0.99·running + 0.01·batch), out = p·x + α·(1 − p)·x, α per unit, initialised to 0 (FuxiCTR's `Dice`).
 * Training (`apply(x, { training: true })`) normalises with the batch statistics and updates the running ones;
 * inference uses the running statistics. The last axis holds the units; statistics are taken over every other axis.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  type RunningStats,
  batchNormalize,
  isTraining,
  lastDim,
  toConfig,
} from './common';

/** Dice's batch-norm epsilon (FuxiCTR). */
export const DICE_EPSILON = 1e-9;
/** Dice's batch-norm momentum, PyTorch convention (weight of the new batch). */
export const DICE_MOMENTUM = 0.01;

/** Dice on a 2-D tensor, given its α and running statistics; shared with the MLP block and DIN attention. */
export function diceActivate(
  x: tf.Tensor2D, // [rows, units]
  alpha: LayerVariable, // [units]
  stats: RunningStats,
  training: boolean,
  epsilon = DICE_EPSILON,
  momentum = DICE_MOMENTUM,
): tf.Tensor2D {
  const p = tf.sigmoid(batchNormalize(x, stats, epsilon, momentum, training)); // [rows, units]
  // p·x + α(1−p)·x = x·(p + α(1−p))
  return tf.mul(x, tf.add(p, tf.mul(alpha.read(), tf.sub(1, p)))) as tf.Tensor2D;
}

export interface DiceArgs extends BaseLayerArgs {
  /** Batch-norm epsilon. Default 1e-9 (FuxiCTR). */
  epsilon?: number;
  /** Weight of the current batch in the running statistics (PyTorch convention). Default 0.01 (FuxiCTR). */
  momentum?: number;
}

export class Dice extends tf.layers.Layer {
  static className = 'MmctrDice';
  readonly epsilon: number;
  readonly momentum: number;
  private alpha!: LayerVariable;
  private stats!: RunningStats;

  constructor(args: DiceArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? DICE_EPSILON;
    this.momentum = args.momentum ?? DICE_MOMENTUM;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const units = lastDim(inputShape as tf.Shape, 'Dice', 'the input');
    this.alpha = this.addWeight('alpha', [units], 'float32', tf.initializers.zeros());
    this.stats = {
      mean: this.addWeight('running_mean', [units], 'float32', tf.initializers.zeros(), undefined, false),
      variance: this.addWeight('running_var', [units], 'float32', tf.initializers.ones(), undefined, false),
    };
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs; // [..., units]
      const units = x.shape[x.shape.length - 1];
      const y = diceActivate(tf.reshape(x, [-1, units]), this.alpha, this.stats, isTraining(kwargs), this.epsilon, this.momentum);
      return tf.reshape(y, x.shape);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...toConfig({ epsilon: this.epsilon, momentum: this.momentum }) };
  }
}
tf.serialization.registerClass(Dice);
