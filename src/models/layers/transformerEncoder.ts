/**
 * One Transformer encoder layer, post-norm, as PyTorch's `nn.TransformerEncoderLayer` with its defaults
 * (norm_first = false, batch_first): tfjs has no public one.
 * Reference: Vaswani A, et al. Attention Is All You Need. NeurIPS 2017.
 *
 *   x = LayerNorm1(x + Dropout(SelfAttention(x, keyPaddingMask)))
 *   x = LayerNorm2(x + Dropout(Linear2(Dropout(act(Linear1(x))))))
 *
 * Inputs [x [batch, seqLen, dModel], mask [batch, seqLen]] (mask optional) → [batch, seqLen, dModel].
 *
 * !!! MASK POLARITY: mask = 1 (or true) marks a VALID position (id > 0, see `paddingMask`), 0 marks PADDING. !!!
 * This is the opposite of PyTorch's `src_key_padding_mask`, where true means "ignore". A public top MMCTR solution
 * passed the valid-mask to PyTorch as the padding mask, so attention ran over padding only. Here the keys at
 * padding positions get −1e9 before the softmax and their weights are zeroed after it, so a fully padded row gives
 * zero attention (never NaN) and no padded key ever changes an output at a valid position. Outputs AT padded
 * positions are still computed (as PyTorch does) and depend on those positions' own inputs: mask them before
 * pooling over positions.
 *
 * Init: in-projection Xavier-uniform with zero bias and out-projection U(±1/√dModel) with zero bias (PyTorch's
 * MultiheadAttention); the feed-forward Linears Xavier-normal with zero bias (FuxiCTR's init of nn.Linear);
 * layer norms γ = 1, β = 0.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  LayerConfigError,
  asFloatMask,
  dropoutIf,
  isTraining,
  lastDim,
  requireInt,
  requireRate,
  seedFor,
  toConfig,
  xavierNormal,
  xavierUniform,
} from './common';
import { activateSimple } from './mlpBlock';

/** Activation of the feed-forward block. */
export type TransformerActivation = 'relu' | 'gelu';

export interface TransformerEncoderArgs extends BaseLayerArgs {
  /** Number of attention heads; must divide dModel. Default 1. */
  numHeads?: number;
  /** Hidden width of the feed-forward block. Default 2048 (PyTorch). */
  ffDim?: number;
  /** Dropout on attention weights, after attention, inside and after the feed-forward; training only. Default 0.1 (PyTorch). */
  dropoutRate?: number;
  /** Feed-forward activation. Default 'relu' (PyTorch). */
  activation?: TransformerActivation;
  /** Layer-norm epsilon. Default 1e-5 (PyTorch). */
  layerNormEpsilon?: number;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

const MASK_FILL = -1e9;

interface LayerNormWeights {
  gamma: LayerVariable; // [dModel]
  beta: LayerVariable; // [dModel]
}

export class TransformerEncoder extends tf.layers.Layer {
  static className = 'MmctrTransformerEncoder';
  readonly numHeads: number;
  readonly ffDim: number;
  readonly dropoutRate: number;
  readonly activation: TransformerActivation;
  readonly layerNormEpsilon: number;
  readonly seed?: number;
  private inKernel!: LayerVariable; // [dModel, 3·dModel]: Q | K | V
  private inBias!: LayerVariable; // [3·dModel]
  private outKernel!: LayerVariable; // [dModel, dModel]
  private outBias!: LayerVariable; // [dModel]
  private ff1Kernel!: LayerVariable; // [dModel, ffDim]
  private ff1Bias!: LayerVariable; // [ffDim]
  private ff2Kernel!: LayerVariable; // [ffDim, dModel]
  private ff2Bias!: LayerVariable; // [dModel]
  private norm1!: LayerNormWeights;
  private norm2!: LayerNormWeights;

  constructor(args: TransformerEncoderArgs = {}) {
    super(args);
    this.numHeads = requireInt('TransformerEncoder', 'numHeads', args.numHeads ?? 1, 1);
    this.ffDim = requireInt('TransformerEncoder', 'ffDim', args.ffDim ?? 2048, 1);
    this.dropoutRate = requireRate('TransformerEncoder', 'dropoutRate', args.dropoutRate ?? 0.1);
    const act = args.activation ?? 'relu';
    if (act !== 'relu' && act !== 'gelu') {
      throw new LayerConfigError(`TransformerEncoder: activation must be 'relu' or 'gelu', got '${act}'`);
    }
    this.activation = act;
    this.layerNormEpsilon = args.layerNormEpsilon ?? 1e-5;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = inputShape as tf.Shape[];
    const xShape = Array.isArray(shapes[0]) ? shapes[0] : (inputShape as tf.Shape);
    const d = lastDim(xShape, 'TransformerEncoder', 'the input');
    if (d % this.numHeads !== 0) {
      throw new LayerConfigError(`TransformerEncoder: dModel ${d} is not divisible by numHeads ${this.numHeads}`);
    }
    const f = this.ffDim;
    const zeros = tf.initializers.zeros();
    const outLimit = 1 / Math.sqrt(d);
    this.inKernel = this.addWeight('attention/in_kernel', [d, 3 * d], 'float32',
      xavierUniform({ fanIn: d, fanOut: 3 * d }, seedFor(this.seed, 0)));
    this.inBias = this.addWeight('attention/in_bias', [3 * d], 'float32', zeros);
    this.outKernel = this.addWeight('attention/out_kernel', [d, d], 'float32',
      tf.initializers.randomUniform({ minval: -outLimit, maxval: outLimit, seed: seedFor(this.seed, 1) }));
    this.outBias = this.addWeight('attention/out_bias', [d], 'float32', zeros);
    this.ff1Kernel = this.addWeight('ff/kernel1', [d, f], 'float32',
      xavierNormal({ fanIn: d, fanOut: f }, seedFor(this.seed, 2)));
    this.ff1Bias = this.addWeight('ff/bias1', [f], 'float32', zeros);
    this.ff2Kernel = this.addWeight('ff/kernel2', [f, d], 'float32',
      xavierNormal({ fanIn: f, fanOut: d }, seedFor(this.seed, 3)));
    this.ff2Bias = this.addWeight('ff/bias2', [d], 'float32', zeros);
    const norm = (name: string): LayerNormWeights => ({
      gamma: this.addWeight(`${name}/gamma`, [d], 'float32', tf.initializers.ones()),
      beta: this.addWeight(`${name}/beta`, [d], 'float32', zeros),
    });
    this.norm1 = norm('norm1');
    this.norm2 = norm('norm2');
    this.built = true;
  }

  private layerNorm(x: tf.Tensor, w: LayerNormWeights): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true); // [rows, 1] each, biased variance
    const normed = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.layerNormEpsilon)));
    return tf.add(tf.mul(normed, w.gamma.read()), w.beta.read());
  }

  private dense(x: tf.Tensor2D, kernel: LayerVariable, bias: LayerVariable): tf.Tensor2D {
    return tf.add(tf.matMul(x, kernel.read() as tf.Tensor2D), bias.read()) as tf.Tensor2D;
  }

  /** Multi-head self-attention over the rows of x, keys masked by `valid` ([batch, 1, 1, seqLen], 1 = valid). */
  private selfAttention(
    x: tf.Tensor2D, // [batch·seqLen, d]
    batch: number,
    seqLen: number,
    valid: tf.Tensor | undefined,
    training: boolean,
  ): tf.Tensor2D {
    const d = x.shape[1];
    const heads = this.numHeads;
    const headDim = d / heads;
    const qkv = this.dense(x, this.inKernel, this.inBias); // [batch·seqLen, 3d]
    const [q, k, v] = tf.split(qkv, 3, 1).map((t) =>
      tf.transpose(tf.reshape(t, [batch, seqLen, heads, headDim]), [0, 2, 1, 3]),
    ) as tf.Tensor4D[]; // each [batch, heads, seqLen, headDim]
    let scores: tf.Tensor = tf.div(tf.matMul(q, k, false, true), Math.sqrt(headDim)); // [batch, heads, seqLen, seqLen]
    if (valid) {
      scores = tf.where(tf.greater(tf.broadcastTo(valid, scores.shape), 0), scores, tf.fill(scores.shape, MASK_FILL));
    }
    let attention = tf.softmax(scores, -1);
    if (valid) attention = tf.mul(attention, valid); // fully padded rows → 0, not a uniform average of padding
    attention = dropoutIf(attention, this.dropoutRate, training);
    const context = tf.transpose(tf.matMul(attention, v), [0, 2, 1, 3]); // [batch, seqLen, heads, headDim]
    return this.dense(tf.reshape(context, [batch * seqLen, d]) as tf.Tensor2D, this.outKernel, this.outBias);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const x = list[0] as tf.Tensor3D; // [batch, seqLen, d]
      const [batch, seqLen, d] = x.shape;
      // 1 = VALID key, 0 = padding (see the header).
      const valid = list[1] ? tf.reshape(asFloatMask(list[1]), [batch, 1, 1, seqLen]) : undefined;
      const training = isTraining(kwargs);
      const flat = tf.reshape(x, [batch * seqLen, d]) as tf.Tensor2D; // [batch·seqLen, d]

      const attended = dropoutIf(this.selfAttention(flat, batch, seqLen, valid, training), this.dropoutRate, training);
      const h1 = this.layerNorm(tf.add(flat, attended), this.norm1) as tf.Tensor2D; // [batch·seqLen, d]

      let ff: tf.Tensor2D = this.dense(h1, this.ff1Kernel, this.ff1Bias); // [batch·seqLen, ffDim]
      ff = activateSimple(ff, this.activation) as tf.Tensor2D;
      ff = dropoutIf(ff, this.dropoutRate, training) as tf.Tensor2D;
      ff = dropoutIf(this.dense(ff, this.ff2Kernel, this.ff2Bias), this.dropoutRate, training) as tf.Tensor2D;
      const h2 = this.layerNorm(tf.add(h1, ff), this.norm2); // [batch·seqLen, d]
      return tf.reshape(h2, [batch, seqLen, d]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = inputShape as tf.Shape[];
    return [...(Array.isArray(shapes[0]) ? shapes[0] : (inputShape as tf.Shape))];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({
        numHeads: this.numHeads,
        ffDim: this.ffDim,
        dropoutRate: this.dropoutRate,
        activation: this.activation,
        layerNormEpsilon: this.layerNormEpsilon,
        seed: this.seed,
      }),
    };
  }
}
tf.serialization.registerClass(TransformerEncoder);
