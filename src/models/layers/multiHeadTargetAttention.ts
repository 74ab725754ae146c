/**
 * Multi-head target attention (FuxiCTR's `MultiHeadTargetAttention`): the target item is the single query over the
 * history sequence.
 * Reference: Vaswani A, et al. Attention Is All You Need. NeurIPS 2017 (scaled dot-product, multi-head).
 *
 * Inputs [target [batch, inputDim], history [batch, seqLen, inputDim], mask [batch, seqLen]] (mask optional;
 * 1 = VALID position, i.e. history id > 0, see `paddingMask`) → [batch, inputDim].
 * Q = t·W_q, K = H·W_k, V = H·W_v (bias-free, [inputDim, attentionDim]); per head scores = q·kᵀ / √headDim (when
 * `useScale`), −1e9 at padded positions, softmax, dropout (training), · V; heads concatenated; output W_o
 * ([attentionDim, inputDim], bias-free). Attention weights are multiplied by the mask after the softmax: a no-op on
 * rows with a valid position, and zeros (not FuxiCTR's average of padding, never NaN) on fully padded rows.
 * `useResidual` adds the target to the output; FuxiCTR's layer has no residual, so it is off by default.
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
} from './common';

export interface MultiHeadTargetAttentionArgs extends BaseLayerArgs {
  /** Number of heads; must divide `attentionDim`. Default 1 (FuxiCTR). */
  numHeads?: number;
  /** Width of Q/K/V over all heads. Default: the input dim. */
  attentionDim?: number;
  /** Dropout on the attention weights, training only. Default 0. */
  dropoutRate?: number;
  /** Divide scores by √headDim. Default true (FuxiCTR). */
  useScale?: boolean;
  /** Add the target to the output (FuxiCTR has none). Default false. */
  useResidual?: boolean;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

const MASK_FILL = -1e9;

export class MultiHeadTargetAttention extends tf.layers.Layer {
  static className = 'MmctrMultiHeadTargetAttention';
  readonly numHeads: number;
  readonly attentionDimArg?: number;
  readonly dropoutRate: number;
  readonly useScale: boolean;
  readonly useResidual: boolean;
  readonly seed?: number;
  private attentionDim = 0;
  private wQ!: LayerVariable; // [inputDim, attentionDim]
  private wK!: LayerVariable;
  private wV!: LayerVariable;
  private wO!: LayerVariable; // [attentionDim, inputDim]

  constructor(args: MultiHeadTargetAttentionArgs = {}) {
    super(args);
    this.numHeads = requireInt('MultiHeadTargetAttention', 'numHeads', args.numHeads ?? 1, 1);
    if (args.attentionDim !== undefined) {
      this.attentionDimArg = requireInt('MultiHeadTargetAttention', 'attentionDim', args.attentionDim, 1);
    }
    this.dropoutRate = requireRate('MultiHeadTargetAttention', 'dropoutRate', args.dropoutRate ?? 0);
    this.useScale = args.useScale ?? true;
    this.useResidual = args.useResidual ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [targetShape, historyShape] = inputShape as tf.Shape[];
    const inputDim = lastDim(targetShape, 'MultiHeadTargetAttention', 'the target');
    if (lastDim(historyShape, 'MultiHeadTargetAttention', 'the history') !== inputDim) {
      throw new LayerConfigError(`MultiHeadTargetAttention: target and history widths differ (${inputDim})`);
    }
    this.attentionDim = this.attentionDimArg ?? inputDim;
    if (this.attentionDim % this.numHeads !== 0) {
      throw new LayerConfigError(
        `MultiHeadTargetAttention: attentionDim ${this.attentionDim} is not divisible by numHeads ${this.numHeads}`,
      );
    }
    const inFans = { fanIn: inputDim, fanOut: this.attentionDim };
    const add = (name: string, shape: number[], k: number, fans = inFans) =>
      this.addWeight(name, shape, 'float32', xavierNormal(fans, seedFor(this.seed, k)));
    this.wQ = add('w_q', [inputDim, this.attentionDim], 0);
    this.wK = add('w_k', [inputDim, this.attentionDim], 1);
    this.wV = add('w_v', [inputDim, this.attentionDim], 2);
    this.wO = add('w_o', [this.attentionDim, inputDim], 3, { fanIn: this.attentionDim, fanOut: inputDim });
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length < 2) {
        throw new LayerConfigError('MultiHeadTargetAttention: expects [target, history] or [target, history, mask]');
      }
      const target = inputs[0] as tf.Tensor2D; // [batch, inputDim]
      const history = inputs[1] as tf.Tensor3D; // [batch, seqLen, inputDim]
      const mask = inputs[2] ? asFloatMask(inputs[2]) : undefined; // [batch, seqLen], 1 = valid
      const [batch, seqLen, inputDim] = history.shape;
      const heads = this.numHeads;
      const headDim = this.attentionDim / heads;

      const q = tf.reshape(tf.matMul(target, this.wQ.read() as tf.Tensor2D), [batch, heads, 1, headDim]);
      const flatHistory = tf.reshape(history, [batch * seqLen, inputDim]) as tf.Tensor2D;
      const splitHeads = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [batch, seqLen, heads, headDim]), [0, 2, 1, 3]);
      const k = splitHeads(tf.matMul(flatHistory, this.wK.read() as tf.Tensor2D)); // [batch, heads, seqLen, headDim]
      const v = splitHeads(tf.matMul(flatHistory, this.wV.read() as tf.Tensor2D)); // [batch, heads, seqLen, headDim]

      let scores: tf.Tensor = tf.matMul(q, k, false, true); // [batch, heads, 1, seqLen]
      if (this.useScale) scores = tf.div(scores, Math.sqrt(headDim));
      let valid: tf.Tensor | undefined;
      if (mask) {
        valid = tf.reshape(mask, [batch, 1, 1, seqLen]);
        scores = tf.where(tf.greater(tf.broadcastTo(valid, scores.shape), 0), scores, tf.fill(scores.shape, MASK_FILL));
      }
      let attention = tf.softmax(scores, -1); // [batch, heads, 1, seqLen]
      if (valid) attention = tf.mul(attention, valid);
      attention = dropoutIf(attention, this.dropoutRate, isTraining(kwargs));
      const context = tf.reshape(tf.matMul(attention, v), [batch, this.attentionDim]); // heads concatenated
      let out: tf.Tensor = tf.matMul(context as tf.Tensor2D, this.wO.read() as tf.Tensor2D); // [batch, inputDim]
      if (this.useResidual) out = tf.add(out, target);
      return out;
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [targetShape] = inputShape as tf.Shape[];
    return [...targetShape];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({
        numHeads: this.numHeads,
        attentionDim: this.attentionDimArg,
        dropoutRate: this.dropoutRate,
        useScale: this.useScale,
        useResidual: this.useResidual,
        seed: this.seed,
      }),
    };
  }
}
tf.serialization.registerClass(MultiHeadTargetAttention);
