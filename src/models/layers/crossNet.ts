/**
 * CrossNet of DCN (v1), FuxiCTR's `CrossNet`.
 * Reference: Wang R, et al. Deep & Cross Network for Ad Click Predictions. ADKDD 2017.
 *
 * x_{l+1} = x_l + x_0 · (x_lᵀ w_l) + b_l, for numLayers layers; input and output [batch, dim].
 * w_l is Linear(dim → 1, bias-free) Xavier-normal, b_l zero.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  isTraining,
  lastDim,
  requireInt,
  seedFor,
  toConfig,
  xavierNormal,
} from './common';
import { CROSS_NET_MAX_DIM, CROSS_NET_MAX_LAYERS, webGpuCrossNet } from '../../engine/kernels/webgpu/crossNet';

export interface CrossNetArgs extends BaseLayerArgs {
  /** Number of cross layers. Default 3. */
  numLayers?: number;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

export class CrossNet extends tf.layers.Layer {
  static className = 'MmctrCrossNet';
  readonly numLayers: number;
  readonly seed?: number;
  private w: LayerVariable[] = []; // each [dim, 1]
  private b: LayerVariable[] = []; // each [dim]

  constructor(args: CrossNetArgs = {}) {
    super(args);
    this.numLayers = requireInt('CrossNet', 'numLayers', args.numLayers ?? 3, 1);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const dim = lastDim(inputShape as tf.Shape, 'CrossNet', 'the input');
    for (let l = 0; l < this.numLayers; l++) {
      const init = xavierNormal({ fanIn: dim, fanOut: 1 }, seedFor(this.seed, l));
      this.w.push(this.addWeight(`cross_${l}/w`, [dim, 1], 'float32', init));
      this.b.push(this.addWeight(`cross_${l}/b`, [dim], 'float32', tf.initializers.zeros()));
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x0 = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D; // [batch, dim]
      const dim = x0.shape[1];
      if (isTraining(kwargs) && tf.getBackend() === 'webgpu' && dim <= CROSS_NET_MAX_DIM && this.numLayers <= CROSS_NET_MAX_LAYERS) {
        // webgpu training step: every layer in 1 dispatch forward and 2 backward (kernels/webgpu/crossNet.ts).
        return webGpuCrossNet(x0, this.w.map((w) => w.read()), this.b.map((b) => b.read()));
      }
      let x = x0;
      for (let l = 0; l < this.numLayers; l++) {
        const s = tf.matMul(x, this.w[l].read() as tf.Tensor2D); // [batch, 1]
        x = tf.add(x, tf.add(tf.mul(x0, s), this.b[l].read())) as tf.Tensor2D;
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
tf.serialization.registerClass(CrossNet);
