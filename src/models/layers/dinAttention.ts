/**
 * DIN target attention (FuxiCTR's `DIN_Attention`).
 * Reference: Zhou G, et al. Deep Interest Network for Click-Through Rate Prediction. KDD 2018.
 *
 * Inputs [target [batch, dim], history [batch, seqLen, dim], mask [batch, seqLen]] (mask optional; 1 = VALID
 * position, i.e. history id > 0, see `paddingMask`) → pooled [batch, dim].
 * score_j = MLP([t, h_j, t − h_j, t ⊙ h_j]) (hidden layers as `MlpBlock`, output 1, no output activation);
 * w = score · mask; with `useSoftmax`, w = softmax(w with −1e9 at padded positions) · mask; pooled = Σ_j w_j · h_j.
 * The trailing `· mask` after the softmax only matters for a row with no valid position: it gives zeros there,
 * where FuxiCTR would average the padding vectors.
 *
 * The first Linear is computed without building the [batch, seqLen, 4·dim] input: with its kernel stored in
 * FuxiCTR's concatenated layout [W_t; W_h; W_d; W_p] ([4·dim, units]),
 *   W_t·t + W_h·h + W_d·(t − h) + W_p·(t ⊙ h) = (W_t + W_d)·t + (W_h − W_d)·h + W_p·(t ⊙ h),
 * so the target part is computed once per row instead of once per position, and nothing is tiled or
 * concatenated. The parameters (and so Adam's updates and L2) are those of the concatenated layer.
 * Batch statistics (batch norm, Dice) in training are taken over all batch × seqLen positions, padded ones
 * included, as FuxiCTR does; at inference padded positions have no effect at all.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  LayerConfigError,
  asFloatMask,
  isTraining,
  lastDim,
  requireInt,
  requireRate,
  seedFor,
  toConfig,
  xavierNormal,
} from './common';
import { type DenseUnitSpec, type HiddenActivation, type WeightFactory, DenseUnit, checkActivation } from './mlpBlock';

export interface DinAttentionArgs extends BaseLayerArgs {
  /** Hidden units of the attention MLP. Default [512, 256] (the MMCTR baseline). */
  attentionUnits?: number[];
  /** Activation of the hidden layers. Default 'relu' (the baseline; 'dice' as in the DIN paper). */
  activation?: HiddenActivation;
  /** Dropout after each hidden activation, training only. Default 0.1 (the baseline). */
  dropoutRate?: number;
  /** Batch norm in the attention MLP. Default false. */
  batchNorm?: boolean;
  /** Softmax over the valid positions. Default false (the baseline and DIN use raw weights). */
  useSoftmax?: boolean;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

/** −1e9 as FuxiCTR's masked fill: exp underflows to exactly 0 in float32. */
const MASK_FILL = -1e9;

export class DinAttention extends tf.layers.Layer {
  static className = 'MmctrDinAttention';
  readonly attentionUnits: number[];
  readonly activation: HiddenActivation;
  readonly dropoutRate: number;
  readonly batchNorm: boolean;
  readonly useSoftmax: boolean;
  readonly seed?: number;
  private dim = 0;
  private hidden: DenseUnit[] = [];
  private outKernel!: LayerVariable; // [lastUnits, 1] (or [4·dim, 1] without hidden layers)
  private outBias!: LayerVariable; // [1]

  constructor(args: DinAttentionArgs = {}) {
    super(args);
    this.attentionUnits = (args.attentionUnits ?? [512, 256]).map((u, i) =>
      requireInt('DinAttention', `attentionUnits[${i}]`, u, 1),
    );
    this.activation = checkActivation('DinAttention', args.activation ?? 'relu');
    this.dropoutRate = requireRate('DinAttention', 'dropoutRate', args.dropoutRate ?? 0.1);
    this.batchNorm = args.batchNorm ?? false;
    this.useSoftmax = args.useSoftmax ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [targetShape, historyShape] = inputShape as tf.Shape[];
    this.dim = lastDim(targetShape, 'DinAttention', 'the target');
    const historyDim = lastDim(historyShape, 'DinAttention', 'the history');
    if (historyDim !== this.dim) {
      throw new LayerConfigError(`DinAttention: target dim ${this.dim} differs from history dim ${historyDim}`);
    }
    const make: WeightFactory = (name, shape, init, trainable) =>
      this.addWeight(name, shape, 'float32', init, undefined, trainable);
    let inputDim = 4 * this.dim;
    this.hidden = this.attentionUnits.map((units, i) => {
      const spec: DenseUnitSpec = {
        inputDim,
        units,
        activation: this.activation,
        batchNorm: this.batchNorm,
        dropoutRate: this.dropoutRate,
      };
      inputDim = units;
      return new DenseUnit(make, `dense_${i}`, spec, seedFor(this.seed, i));
    });
    const outSeed = seedFor(this.seed, this.attentionUnits.length);
    this.outKernel = make('output/kernel', [inputDim, 1], xavierNormal({ fanIn: inputDim, fanOut: 1 }, outSeed), true);
    this.outBias = make('output/bias', [1], tf.initializers.zeros(), true);
    this.built = true;
  }

  /** The first Linear over [t, h, t − h, t ⊙ h] without materialising it. */
  private firstLinear(target: tf.Tensor2D, history: tf.Tensor3D, kernel: tf.Tensor2D, bias: tf.Tensor): tf.Tensor2D {
    const [batch, seqLen, dim] = history.shape;
    const units = kernel.shape[1];
    const [wT, wH, wD, wP] = tf.split(kernel, 4, 0) as tf.Tensor2D[]; // each [dim, units]
    const targetPart = tf.add(tf.matMul(target, tf.add(wT, wD)), bias); // [batch, units]
    const flatHistory = tf.reshape(history, [batch * seqLen, dim]) as tf.Tensor2D; // [batch·seqLen, dim]
    const product = tf.reshape(tf.mul(tf.expandDims(target, 1), history), [batch * seqLen, dim]) as tf.Tensor2D;
    const historyPart = tf.add(tf.matMul(flatHistory, tf.sub(wH, wD)), tf.matMul(product, wP)); // [batch·seqLen, units]
    const z = tf.add(tf.reshape(historyPart, [batch, seqLen, units]), tf.expandDims(targetPart, 1)); // [batch, seqLen, units]
    return tf.reshape(z, [batch * seqLen, units]) as tf.Tensor2D;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length < 2) {
        throw new LayerConfigError('DinAttention: expects [target, history] or [target, history, mask]');
      }
      const target = inputs[0] as tf.Tensor2D; // [batch, dim]
      const history = inputs[1] as tf.Tensor3D; // [batch, seqLen, dim]
      const mask = inputs[2] ? asFloatMask(inputs[2]) : undefined; // [batch, seqLen], 1 = valid
      const [batch, seqLen] = history.shape;
      const training = isTraining(kwargs);

      let h: tf.Tensor2D; // [batch·seqLen, units]
      if (this.hidden.length > 0) {
        const first = this.hidden[0];
        h = first.post(this.firstLinear(target, history, first.kernel.read() as tf.Tensor2D, first.bias.read()), training);
        for (const unit of this.hidden.slice(1)) h = unit.apply(h, training);
        h = tf.add(tf.matMul(h, this.outKernel.read() as tf.Tensor2D), this.outBias.read()) as tf.Tensor2D;
      } else {
        h = this.firstLinear(target, history, this.outKernel.read() as tf.Tensor2D, this.outBias.read());
      }
      let weights: tf.Tensor = tf.reshape(h, [batch, seqLen]); // [batch, seqLen]
      if (mask) weights = tf.mul(weights, mask);
      if (this.useSoftmax) {
        if (mask) weights = tf.where(tf.greater(mask, 0), weights, tf.fill(weights.shape, MASK_FILL));
        weights = tf.softmax(weights, -1);
        if (mask) weights = tf.mul(weights, mask);
      }
      const pooled = tf.matMul(tf.expandDims(weights, 1), history); // [batch, 1, dim]
      return tf.reshape(pooled, [batch, history.shape[2]]);
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
        attentionUnits: this.attentionUnits,
        activation: this.activation,
        dropoutRate: this.dropoutRate,
        batchNorm: this.batchNorm,
        useSoftmax: this.useSoftmax,
        seed: this.seed,
      }),
    };
  }
}
tf.serialization.registerClass(DinAttention);
