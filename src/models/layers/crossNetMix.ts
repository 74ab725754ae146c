/**
 * CrossNetMix of DCN-V2, FuxiCTR's `CrossNetMix`: a mixture of low-rank cross experts with a nonlinearity in the
 * low-rank space.
 * Reference: Wang R, et al. DCN V2: Improved Deep & Cross Network and Practical Lessons for Web-scale Learning to
 * Rank Systems. WWW 2021.
 *
 * Per layer l and expert e: E_e(x_l) = x_0 ⊙ (U_e · tanh(C_e · tanh(V_eᵀ x_l)) + b_l);
 * gates g = softmax_e(G_e x_l) (one bias-free Linear(dim → 1) per expert, shared by all layers as in FuxiCTR);
 * x_{l+1} = Σ_e g_e · E_e(x_l) + x_l. Input and output [batch, dim].
 * U, V [experts, dim, rank] and C [experts, rank, rank] are Xavier-normal with PyTorch's fans of a 3-D tensor
 * (fan_in = size(1)·size(2), fan_out = size(0)·size(2)); biases zero.
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

export interface CrossNetMixArgs extends BaseLayerArgs {
  /** Number of cross layers. Default 2 (FuxiCTR). */
  numLayers?: number;
  /** Rank of each expert's low-rank projection. Default 32 (FuxiCTR). */
  lowRank?: number;
  /** Number of experts. Default 4 (FuxiCTR). */
  numExperts?: number;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

interface MixLayerWeights {
  u: LayerVariable; // [experts, dim, rank]
  v: LayerVariable; // [experts, dim, rank]
  c: LayerVariable; // [experts, rank, rank]
  bias: LayerVariable; // [dim]
}

export class CrossNetMix extends tf.layers.Layer {
  static className = 'MmctrCrossNetMix';
  readonly numLayers: number;
  readonly lowRank: number;
  readonly numExperts: number;
  readonly seed?: number;
  private layerWeights: MixLayerWeights[] = [];
  private gating!: LayerVariable; // [dim, experts]

  constructor(args: CrossNetMixArgs = {}) {
    super(args);
    this.numLayers = requireInt('CrossNetMix', 'numLayers', args.numLayers ?? 2, 1);
    this.lowRank = requireInt('CrossNetMix', 'lowRank', args.lowRank ?? 32, 1);
    this.numExperts = requireInt('CrossNetMix', 'numExperts', args.numExperts ?? 4, 1);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const dim = lastDim(inputShape as tf.Shape, 'CrossNetMix', 'the input');
    const [e, r] = [this.numExperts, this.lowRank];
    const uvFans = { fanIn: dim * r, fanOut: e * r };
    const cFans = { fanIn: r * r, fanOut: e * r };
    let k = 0;
    const add = (name: string, shape: number[], fans: { fanIn: number; fanOut: number }) =>
      this.addWeight(name, shape, 'float32', xavierNormal(fans, seedFor(this.seed, k++)));
    for (let l = 0; l < this.numLayers; l++) {
      this.layerWeights.push({
        u: add(`cross_${l}/U`, [e, dim, r], uvFans),
        v: add(`cross_${l}/V`, [e, dim, r], uvFans),
        c: add(`cross_${l}/C`, [e, r, r], cFans),
        bias: this.addWeight(`cross_${l}/bias`, [dim], 'float32', tf.initializers.zeros()),
      });
    }
    this.gating = add('gating', [dim, e], { fanIn: dim, fanOut: 1 });
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x0 = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D; // [batch, dim]
      const [batch, dim] = x0.shape;
      const [e, r] = [this.numExperts, this.lowRank];
      let x = x0;
      for (const w of this.layerWeights) {
        // All experts' V in one matmul: V as [dim, experts·rank].
        const vFlat = tf.reshape(tf.transpose(w.v.read(), [1, 0, 2]), [dim, e * r]) as tf.Tensor2D;
        let low: tf.Tensor = tf.reshape(tf.matMul(x, vFlat), [batch, e, r]);
        low = tf.tanh(tf.transpose(low, [1, 0, 2])); // [experts, batch, rank]
        low = tf.tanh(tf.matMul(low as tf.Tensor3D, w.c.read() as tf.Tensor3D, false, true)); // [experts, batch, rank]
        const back = tf.matMul(low as tf.Tensor3D, w.u.read() as tf.Tensor3D, false, true); // [experts, batch, dim]
        const experts = tf.mul(x0, tf.add(back, w.bias.read())); // [experts, batch, dim]
        const gates = tf.softmax(tf.matMul(x, this.gating.read() as tf.Tensor2D), -1); // [batch, experts]
        const gatesT = tf.expandDims(tf.transpose(gates), -1); // [experts, batch, 1]
        x = tf.add(tf.sum(tf.mul(experts, gatesT), 0), x) as tf.Tensor2D; // [batch, dim]
      }
      return x;
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({ numLayers: this.numLayers, lowRank: this.lowRank, numExperts: this.numExperts, seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(CrossNetMix);
