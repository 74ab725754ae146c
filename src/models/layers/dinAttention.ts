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
 *
 * Padded positions skipped: a position whose mask is 0 gets weight score·0 = 0 (and −1e9 before the softmax), so
 * its score never matters. Where the MLP is row-wise (no batch statistics: no batch norm or Dice in training),
 * the MLP runs on the valid positions only (gathered; the scores are scattered back into [batch, seqLen] with 0
 * elsewhere, for the mask and softmax) and the pooling sums over them only — the same values and gradients (up
 * to float rounding), with the work of the valid positions only (on histories of 3–20 items out of 64, about a
 * quarter). Only on backends whose data lives on the host ('cpu', 'wasm',
 * 'tensorflow'), since it reads the mask.
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
import { webGpuDinFirstLinear } from '../../engine/kernels/webgpu/dinFirstLinear';
import { webGpuAttentionPool } from '../../engine/kernels/webgpu/attentionPool';
import type { DinBlockDice } from '../../engine/kernels/webgpu/dinBlock';
import { DICE_EPSILON, DICE_MOMENTUM } from './dice';

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

/** Backends whose tensors live in host memory: reading the mask there is a copy, not a device round trip. */
const HOST_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * out[r] = Σ x[i] over the rows i with rowIds[i] = r: x [n, dim] → [batch, dim]. Its gradient is a plain gather
 * (tfjs's UnsortedSegmentSum gradient also masks negative ids with a bool LogicalAnd/Select over the whole [n, dim],
 * which cost more than the rest of the pooling; the ids here are never negative).
 */
function sumRows(x: tf.Tensor2D, rowIds: tf.Tensor1D, batch: number): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.unsortedSegmentSum(args[0] as tf.Tensor, rowIds, batch),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.gather(dy as tf.Tensor, rowIds),
  }));
  return f(x) as tf.Tensor2D;
}

/** The MLP's inputs and scores over the n valid positions (see `compactScores`). */
interface Compact {
  /** Scores at every position, 0 at padded ones: [batch, seqLen]. */
  scores: tf.Tensor2D;
  /** History vectors of the valid positions: [n, dim]. */
  h: tf.Tensor2D;
  /** Their flat positions in [batch·seqLen]: [n] int32. */
  positions: tf.Tensor1D;
  /** Their batch rows: [n] int32. */
  rowIds: tf.Tensor1D;
}

/** Above this fraction of valid positions the MLP runs on all positions (the gathers would cost more than they save). */
const COMPACT_MAX_FRACTION = 0.9;

export class DinAttention extends tf.layers.Layer {
  static className = 'MmctrDinAttention';
  /** Skip padded positions where that computes the same (see the file comment). Default true; off for comparisons. */
  static compactPadding = true;
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

  /**
   * The weights of the fused webgpu block (kernels/webgpu/dinBlock.ts) when this layer is what it computes — two
   * ReLU hidden layers (or Dice ones, with `allowDice`), no batch norm, no softmax, built — with the two dropout
   * seeds drawn as the unfused units would draw them; null otherwise (nothing drawn).
   */
  fusedBlockWeights(allowDice = false): {
    w1: tf.Tensor; b1: tf.Tensor; w2: tf.Tensor; b2: tf.Tensor; w3: tf.Tensor; b3: tf.Tensor;
    dropout: [{ rate: number; seed: number }, { rate: number; seed: number }];
    dice?: DinBlockDice;
  } | null {
    const act = this.activation;
    if (!this.built || this.hidden.length !== 2 || !(act === 'relu' || (allowDice && act === 'dice')) || this.batchNorm || this.useSoftmax) return null;
    const [u1, u2] = this.hidden;
    const d1 = u1.diceWeights();
    const d2 = u2.diceWeights();
    const dice: DinBlockDice | undefined =
      d1 && d2
        ? {
            alpha: [d1.alpha, d2.alpha],
            running: [{ mean: d1.runningMean, variance: d1.runningVar }, { mean: d2.runningMean, variance: d2.runningVar }],
            epsilon: DICE_EPSILON,
            momentum: DICE_MOMENTUM,
          }
        : undefined;
    const seed1 = u1.dropoutSeed() ?? 0;
    const seed2 = u2.dropoutSeed() ?? 0;
    return {
      w1: u1.kernel.read(),
      b1: u1.bias.read(),
      w2: u2.kernel.read(),
      b2: u2.bias.read(),
      w3: this.outKernel.read(),
      b3: this.outBias.read(),
      dropout: [
        { rate: this.dropoutRate, seed: seed1 },
        { rate: this.dropoutRate, seed: seed2 },
      ],
      ...(dice ? { dice } : {}),
    };
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

  /**
   * The scores [batch, seqLen] computed at the valid positions only (see the file comment), or null where that does
   * not apply (batch statistics in training, no valid or no padded position, a device backend).
   */
  private compactScores(
    target: tf.Tensor2D,
    history: tf.Tensor3D,
    mask: tf.Tensor,
    training: boolean,
  ): Compact | null {
    if (!DinAttention.compactPadding || (training && (this.batchNorm || this.activation === 'dice'))) return null;
    if (!HOST_BACKENDS.has(tf.getBackend())) return null;
    const [batch, seqLen, dim] = history.shape;
    const m = mask.dataSync(); // [batch·seqLen], 0 = padded
    const total = batch * seqLen;
    let n = 0;
    for (let i = 0; i < total; i++) if (m[i] !== 0) n++;
    if (n === 0 || n > COMPACT_MAX_FRACTION * total) return null;
    const positions = new Int32Array(n); // flat position of each valid entry
    const rows = new Int32Array(n); // its batch row
    const slot = new Int32Array(total).fill(n); // position → valid entry, n (a zero score) where padded
    for (let i = 0, k = 0; i < total; i++) {
      if (m[i] !== 0) {
        positions[k] = i;
        rows[k] = Math.floor(i / seqLen);
        slot[i] = k++;
      }
    }
    const rowIds = tf.tensor1d(rows, 'int32');
    const positionIds = tf.tensor1d(positions, 'int32');
    const h = tf.gather(tf.reshape(history, [total, dim]), positionIds) as tf.Tensor2D; // [n, dim]
    const t = tf.gather(target, rowIds) as tf.Tensor2D; // [n, dim]
    let s: tf.Tensor2D; // [n, 1]
    if (this.hidden.length > 0) {
      const first = this.hidden[0];
      const z = this.firstLinearRows(target, t, h, rowIds, first.kernel.read() as tf.Tensor2D, first.bias.read());
      s = first.post(z, training);
      for (const unit of this.hidden.slice(1)) s = unit.apply(s, training);
      s = tf.add(tf.matMul(s, this.outKernel.read() as tf.Tensor2D), this.outBias.read()) as tf.Tensor2D;
    } else {
      s = this.firstLinearRows(target, t, h, rowIds, this.outKernel.read() as tf.Tensor2D, this.outBias.read());
    }
    const withZero = tf.concat([tf.reshape(s, [n]), tf.zeros([1])]); // [n + 1]
    const scores = tf.reshape(tf.gather(withZero, tf.tensor1d(slot, 'int32')), [batch, seqLen]) as tf.Tensor2D;
    return { scores, h, positions: positionIds, rowIds };
  }

  /** `firstLinear` for n (target row, history vector) pairs: t and h [n, dim] (t gathered by `rowIds` [n]). */
  private firstLinearRows(
    target: tf.Tensor2D,
    t: tf.Tensor2D,
    h: tf.Tensor2D,
    rowIds: tf.Tensor1D,
    kernel: tf.Tensor2D,
    bias: tf.Tensor,
  ): tf.Tensor2D {
    const [wT, wH, wD, wP] = tf.split(kernel, 4, 0) as tf.Tensor2D[]; // each [dim, units]
    const targetPart = tf.add(tf.matMul(target, tf.add(wT, wD)), bias); // [batch, units], once per row
    const historyPart = tf.add(tf.matMul(h, tf.sub(wH, wD)), tf.matMul(tf.mul(t, h), wP)); // [n, units]
    return tf.add(historyPart, tf.gather(targetPart, rowIds)) as tf.Tensor2D;
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

      const compact = mask ? this.compactScores(target, history, mask, training) : null;
      let weights: tf.Tensor | null = compact ? compact.scores : null; // [batch, seqLen]
      if (!weights) {
        let h: tf.Tensor2D; // [batch·seqLen, units]
        if (this.hidden.length > 0) {
          const first = this.hidden[0];
          if (tf.getBackend() === 'webgpu') {
            // Fused weight parts and [h, t ⊙ h] (kernels/webgpu/dinFirstLinear.ts); the bias in the fused tail.
            h = first.postWithBias(webGpuDinFirstLinear(target, history, first.kernel.read() as tf.Tensor2D), training);
          } else {
            h = first.post(this.firstLinear(target, history, first.kernel.read() as tf.Tensor2D, first.bias.read()), training);
          }
          for (const unit of this.hidden.slice(1)) h = unit.apply(h, training);
          if (tf.getBackend() === 'webgpu' && mask && !this.useSoftmax) {
            // Output Linear, mask and weighted sum fused (kernels/webgpu/attentionPool.ts).
            return webGpuAttentionPool(h, this.outKernel.read(), this.outBias.read(), mask, history);
          }
          h = tf.add(tf.matMul(h, this.outKernel.read() as tf.Tensor2D), this.outBias.read()) as tf.Tensor2D;
        } else {
          h = this.firstLinear(target, history, this.outKernel.read() as tf.Tensor2D, this.outBias.read());
        }
        weights = tf.reshape(h, [batch, seqLen]);
      }
      if (mask) weights = tf.mul(weights, mask);
      if (this.useSoftmax) {
        if (mask) weights = tf.where(tf.greater(mask, 0), weights, tf.fill(weights.shape, MASK_FILL));
        weights = tf.softmax(weights, -1);
        if (mask) weights = tf.mul(weights, mask);
      }
      if (compact) {
        // Σ_j w_j·h_j over the valid positions only: the gradient reaches the history through one gather.
        const w = tf.gather(tf.reshape(weights, [batch * seqLen]), compact.positions); // [n]
        return sumRows(tf.mul(compact.h, tf.expandDims(w, 1)) as tf.Tensor2D, compact.rowIds, batch); // [batch, dim]
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
