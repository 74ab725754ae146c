/**
 * Squeeze-and-excitation over fields, FuxiCTR's `SqueezeExcitation` (as used by FiBiNET).
 * Reference: Huang T, et al. FiBiNET: Combining Feature Importance and Bilinear Feature Interaction for
 * Click-Through Rate Prediction. RecSys 2019.
 *
 * Input [batch, fields, dim]: z = mean over dim [batch, fields] → Linear(fields → r') → ReLU → Linear(r' → fields)
 * → activation → a [batch, fields]; output = input · a (each field rescaled), [batch, fields, dim].
 * r' = max(1, floor(fields / reductionRatio)); both Linears bias-free (as FuxiCTR) and Xavier-normal.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  LayerConfigError,
  requireInt,
  seedFor,
  toConfig,
  xavierNormal,
} from './common';

/** Activation of the excitation output. */
export type ExcitationActivation = 'relu' | 'sigmoid';

export interface SqueezeExcitationArgs extends BaseLayerArgs {
  /** Reduction ratio r of the bottleneck. Default 3 (FuxiCTR). */
  reductionRatio?: number;
  /** Activation of the excitation weights. Default 'relu' (FuxiCTR). */
  excitationActivation?: ExcitationActivation;
  /** Seed of the initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

export class SqueezeExcitation extends tf.layers.Layer {
  static className = 'MmctrSqueezeExcitation';
  readonly reductionRatio: number;
  readonly excitationActivation: ExcitationActivation;
  readonly seed?: number;
  private w1!: LayerVariable; // [fields, reduced]
  private w2!: LayerVariable; // [reduced, fields]

  constructor(args: SqueezeExcitationArgs = {}) {
    super(args);
    const ratio = args.reductionRatio ?? 3;
    if (!(ratio > 0)) throw new LayerConfigError(`SqueezeExcitation: reductionRatio must be > 0, got ${ratio}`);
    this.reductionRatio = ratio;
    const act = args.excitationActivation ?? 'relu';
    if (act !== 'relu' && act !== 'sigmoid') {
      throw new LayerConfigError(`SqueezeExcitation: excitationActivation must be 'relu' or 'sigmoid', got '${act}'`);
    }
    this.excitationActivation = act;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    if (shape.length !== 3) {
      throw new LayerConfigError(`SqueezeExcitation: input must be [batch, fields, dim], got [${shape.join(', ')}]`);
    }
    const fields = requireInt('SqueezeExcitation', 'fields (input axis 1)', shape[1] ?? 0, 1);
    const reduced = Math.max(1, Math.floor(fields / this.reductionRatio));
    this.w1 = this.addWeight('excitation/w1', [fields, reduced], 'float32',
      xavierNormal({ fanIn: fields, fanOut: reduced }, seedFor(this.seed, 0)));
    this.w2 = this.addWeight('excitation/w2', [reduced, fields], 'float32',
      xavierNormal({ fanIn: reduced, fanOut: fields }, seedFor(this.seed, 1)));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D; // [batch, fields, dim]
      const z = tf.mean(x, -1) as tf.Tensor2D; // [batch, fields]
      const hidden = tf.relu(tf.matMul(z, this.w1.read() as tf.Tensor2D)); // [batch, reduced]
      const logits = tf.matMul(hidden, this.w2.read() as tf.Tensor2D); // [batch, fields]
      const a = this.excitationActivation === 'relu' ? tf.relu(logits) : tf.sigmoid(logits);
      return tf.mul(x, tf.expandDims(a, -1)); // [batch, fields, dim]
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return inputShape as tf.Shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({
        reductionRatio: this.reductionRatio,
        excitationActivation: this.excitationActivation,
        seed: this.seed,
      }),
    };
  }
}
tf.serialization.registerClass(SqueezeExcitation);
