/**
 * CrossNetV2 of DCN-V2, FuxiCTR's `CrossNetV2`.
 * Reference: Wang R, et al. DCN V2: Improved Deep & Cross Network and Practical Lessons for Web-scale Learning to
 * Rank Systems. WWW 2021.
 *
 * x_{l+1} = x_l + x_0 ⊙ (W_l x_l + b_l), W_l dim × dim (Xavier-normal, stored [in, out] as tfjs does), b_l zero;
 * input and output [batch, dim].
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  lastDim,
  requireInt,
  seedFor,
  toConfig,
  xavierNormal,
} from './common';

export interface CrossNetV2Args extends BaseLayerArgs {
  /** Number of cross layers. Default 3. */
  numLayers?: number;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

export class CrossNetV2 extends tf.layers.Layer {
  static className = 'MmctrCrossNetV2';
  readonly numLayers: number;
  readonly seed?: number;
  private kernels: LayerVariable[] = []; // each [dim, dim] = W_lᵀ
  private biases: LayerVariable[] = []; // each [dim]

  constructor(args: CrossNetV2Args = {}) {
    super(args);
    this.numLayers = requireInt('CrossNetV2', 'numLayers', args.numLayers ?? 3, 1);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const dim = lastDim(inputShape as tf.Shape, 'CrossNetV2', 'the input');
    for (let l = 0; l < this.numLayers; l++) {
      const init = xavierNormal({ fanIn: dim, fanOut: dim }, seedFor(this.seed, l));
      this.kernels.push(this.addWeight(`cross_${l}/kernel`, [dim, dim], 'float32', init));
      this.biases.push(this.addWeight(`cross_${l}/bias`, [dim], 'float32', tf.initializers.zeros()));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x0 = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D; // [batch, dim]
      let x = x0;
      for (let l = 0; l < this.numLayers; l++) {
        const z = tf.add(tf.matMul(x, this.kernels[l].read() as tf.Tensor2D), this.biases[l].read()); // [batch, dim]
        x = tf.add(x, tf.mul(x0, z)) as tf.Tensor2D;
      }
      return x;
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...toConfig({ numLayers: this.numLayers, seed: this.seed }) };
  }
}
tf.serialization.registerClass(CrossNetV2);
