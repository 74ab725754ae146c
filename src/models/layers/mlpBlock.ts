/**
 * MLP block as FuxiCTR's `MLP_Block`: per hidden layer Linear → [BatchNorm] → activation → [Dropout], then an
 * optional output Linear and output activation. Linear weights Xavier-normal, biases zero; batch norm as PyTorch's
 * `BatchNorm1d` (eps 1e-5, momentum 0.1, affine); PReLU per unit with α initialised to 0.1 (FuxiCTR); Dice as in
 * dice.ts. Dropout and batch statistics only when called with `{ training: true }`.
 * Input [..., inputDim] → output [..., outputDim ?? lastHidden]; batch statistics are taken over all leading axes.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Initializer,
  type Kwargs,
  type LayerVariable,
  type RunningStats,
  LayerConfigError,
  batchNormalize,
  dropoutIf,
  isTraining,
  lastDim,
  requireInt,
  requireRate,
  seedFor,
  toConfig,
  xavierNormal,
} from './common';
import { DICE_EPSILON, DICE_MOMENTUM, diceActivate } from './dice';
import { webGpuDensePost } from '../../engine/kernels/webgpu/densePost';
import { MLP_MAX_OUT, type MlpHiddenLayer, webGpuMlp } from '../../engine/kernels/webgpu/mlp';
import { NARROW_LINEAR_MAX_OUT, webGpuNarrowLinear } from '../../engine/kernels/webgpu/narrowLinear';
import { nextOpSeed } from '../../util/opSeeds';

/** Activations of hidden layers. 'linear' means none. */
export type HiddenActivation = 'relu' | 'dice' | 'prelu' | 'sigmoid' | 'tanh' | 'gelu' | 'linear';
/** Activations of an output layer (parameter-free ones). */
export type OutputActivation = 'linear' | 'sigmoid' | 'relu' | 'tanh';

const HIDDEN_ACTIVATIONS: readonly HiddenActivation[] = ['relu', 'dice', 'prelu', 'sigmoid', 'tanh', 'gelu', 'linear'];

/** PyTorch BatchNorm1d defaults, which FuxiCTR's MLP_Block uses. */
const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.1;
/** FuxiCTR's `nn.PReLU(units, init=0.1)`. */
const PRELU_INIT = 0.1;

/** Creates a weight on the owning layer: (name, shape, initializer, trainable). */
export type WeightFactory = (
  name: string,
  shape: number[],
  initializer: Initializer,
  trainable: boolean,
) => LayerVariable;

/** Applies a parameter-free activation. */
export function activateSimple(x: tf.Tensor, activation: OutputActivation | 'gelu'): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'gelu': // exact GELU as PyTorch's nn.GELU: 0.5·x·(1 + erf(x/√2))
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
    case 'linear':
      return x;
    default: {
      const never: never = activation;
      throw new LayerConfigError(`unknown activation ${String(never)}`);
    }
  }
}

/** One hidden layer's settings. */
export interface DenseUnitSpec {
  inputDim: number;
  units: number;
  activation: HiddenActivation;
  batchNorm: boolean;
  dropoutRate: number;
}

/**
 * The weights and arithmetic of one hidden layer (Linear → [BN] → activation → [dropout]), created on an owning
 * layer so that the owner's `weights` list them (tfjs does not track weights of nested layers).
 */
export class DenseUnit {
  readonly kernel: LayerVariable; // [inputDim, units]
  readonly bias: LayerVariable; // [units]
  private readonly bnAffine?: { gamma: LayerVariable; beta: LayerVariable };
  private readonly bnStats?: RunningStats;
  private readonly alpha?: LayerVariable; // PReLU / Dice α, [units]
  private readonly diceStats?: RunningStats;

  constructor(
    make: WeightFactory,
    prefix: string,
    readonly spec: DenseUnitSpec,
    seed: number | undefined,
  ) {
    const { inputDim, units } = spec;
    this.kernel = make(`${prefix}/kernel`, [inputDim, units], xavierNormal({ fanIn: inputDim, fanOut: units }, seed), true);
    this.bias = make(`${prefix}/bias`, [units], tf.initializers.zeros(), true);
    if (spec.batchNorm) {
      this.bnAffine = {
        gamma: make(`${prefix}/bn_gamma`, [units], tf.initializers.ones(), true),
        beta: make(`${prefix}/bn_beta`, [units], tf.initializers.zeros(), true),
      };
      this.bnStats = {
        mean: make(`${prefix}/bn_running_mean`, [units], tf.initializers.zeros(), false),
        variance: make(`${prefix}/bn_running_var`, [units], tf.initializers.ones(), false),
      };
    }
    if (spec.activation === 'prelu') {
      this.alpha = make(`${prefix}/prelu_alpha`, [units], tf.initializers.constant({ value: PRELU_INIT }), true);
    } else if (spec.activation === 'dice') {
      this.alpha = make(`${prefix}/dice_alpha`, [units], tf.initializers.zeros(), true);
      this.diceStats = {
        mean: make(`${prefix}/dice_running_mean`, [units], tf.initializers.zeros(), false),
        variance: make(`${prefix}/dice_running_var`, [units], tf.initializers.ones(), false),
      };
    }
  }

  /** x·W + b. */
  linear(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.kernel.read() as tf.Tensor2D), this.bias.read()) as tf.Tensor2D; // [rows, units]
  }

  /** Everything after the Linear: [BN] → activation → [dropout]. */
  post(z: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.fusesOnWebGpu(training)) return this.webGpuPost(z, false);
    let h = z; // [rows, units]
    if (this.bnStats && this.bnAffine) {
      const normed = batchNormalize(h, this.bnStats, BN_EPSILON, BN_MOMENTUM, training);
      h = tf.add(tf.mul(normed, this.bnAffine.gamma.read()), this.bnAffine.beta.read()) as tf.Tensor2D;
    }
    const act = this.spec.activation;
    if (act === 'dice') {
      h = diceActivate(h, this.alpha!, this.diceStats!, training);
    } else if (act === 'prelu') {
      // PyTorch PReLU: max(0, x) + α·min(0, x)
      h = tf.add(tf.relu(h), tf.mul(this.alpha!.read(), tf.minimum(h, 0))) as tf.Tensor2D;
    } else {
      h = activateSimple(h, act) as tf.Tensor2D;
    }
    return dropoutIf(h, this.spec.dropoutRate, training) as tf.Tensor2D;
  }

  /**
   * The seed of this unit's dropout as `dropoutIf` draws it (same op-seed stream, same mask as the cpu path), for
   * fused webgpu ops; undefined without dropout (nothing drawn).
   */
  dropoutSeed(): number | undefined {
    return this.spec.dropoutRate > 0 ? (nextOpSeed() ?? Math.floor(Math.random() * 0x7fffffff)) : undefined;
  }

  /**
   * This unit as a hidden layer of the fused webgpu network (kernels/webgpu/mlp.ts: Linear → BN → ReLU → dropout),
   * with its dropout seed drawn as `post` would draw it; null when it is not that (no BN, another activation).
   */
  fusedMlpLayer(): MlpHiddenLayer | null {
    const act = this.spec.activation;
    if (!this.bnStats || !this.bnAffine || (act !== 'relu' && act !== 'dice')) return null;
    const dice = this.diceWeights();
    return {
      ...(dice ? { dice: { alpha: dice.alpha, runningMean: dice.runningMean, runningVar: dice.runningVar } } : {}),
      kernel: this.kernel.read(),
      bias: this.bias.read(),
      gamma: this.bnAffine.gamma.read(),
      beta: this.bnAffine.beta.read(),
      runningMean: this.bnStats.mean.read() as tf.Variable,
      runningVar: this.bnStats.variance.read() as tf.Variable,
      dropout: { rate: this.spec.dropoutRate, seed: this.dropoutSeed() ?? 0 },
    };
  }

  /** This unit's Dice α and running statistics for fused webgpu ops; null when its activation is not Dice. */
  diceWeights(): { alpha: tf.Tensor; runningMean: tf.Variable; runningVar: tf.Variable } | null {
    if (this.spec.activation !== 'dice' || !this.alpha || !this.diceStats) return null;
    return { alpha: this.alpha.read(), runningMean: this.diceStats.mean.read() as tf.Variable, runningVar: this.diceStats.variance.read() as tf.Variable };
  }

  /** webgpu training step: [bias →] [BN →] relu/linear → [dropout] as one fused op (kernels/webgpu/densePost.ts). */
  private fusesOnWebGpu(training: boolean): boolean {
    const act = this.spec.activation;
    return training && (act === 'relu' || act === 'linear') && tf.getBackend() === 'webgpu';
  }

  private webGpuPost(z: tf.Tensor2D, withBias: boolean): tf.Tensor2D {
    const rate = this.spec.dropoutRate;
    const seed = this.dropoutSeed();
    const bn = this.bnStats && this.bnAffine;
    return webGpuDensePost(z, {
      bias: withBias ? this.bias.read() : undefined,
      batchNorm: bn
        ? {
            gamma: this.bnAffine!.gamma.read(),
            beta: this.bnAffine!.beta.read(),
            runningMean: this.bnStats!.mean.read() as tf.Variable,
            runningVar: this.bnStats!.variance.read() as tf.Variable,
            epsilon: BN_EPSILON,
            momentum: BN_MOMENTUM,
          }
        : undefined,
      activation: this.spec.activation as 'relu' | 'linear',
      dropoutRate: rate,
      seed,
    });
  }

  /** post(z + b): the bias added in the fused tail on webgpu (z from a Linear computed without it). */
  postWithBias(z: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.fusesOnWebGpu(training)) return this.webGpuPost(z, true);
    return this.post(tf.add(z, this.bias.read()) as tf.Tensor2D, training);
  }

  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    if (this.fusesOnWebGpu(training)) return this.webGpuPost(tf.matMul(x, this.kernel.read() as tf.Tensor2D), true);
    return this.post(this.linear(x), training);
  }
}

/** Resolves a per-layer setting given as one value or one value per layer. */
export function perLayer<T>(value: T | T[], count: number, layer: string, arg: string): T[] {
  if (!Array.isArray(value)) return Array.from({ length: count }, () => value);
  if (value.length !== count) {
    throw new LayerConfigError(`${layer}: ${arg} has ${value.length} entries for ${count} hidden layers`);
  }
  return value;
}

/** Validates a hidden activation name (config may come from JSON). */
export function checkActivation(layer: string, value: string): HiddenActivation {
  if (!(HIDDEN_ACTIVATIONS as readonly string[]).includes(value)) {
    throw new LayerConfigError(`${layer}: unknown activation '${value}' (one of ${HIDDEN_ACTIVATIONS.join(', ')})`);
  }
  return value as HiddenActivation;
}

export interface MlpBlockArgs extends BaseLayerArgs {
  /** Units of each hidden layer. Default [] (then the block is just the output layer, if any). */
  hiddenUnits?: number[];
  /** Activation of the hidden layers, one for all or one per layer. Default 'relu'. */
  activation?: HiddenActivation | HiddenActivation[];
  /** Batch norm after each hidden Linear (before the activation). Default false. */
  batchNorm?: boolean;
  /** Dropout rate after each hidden activation, one for all or one per layer; training only. Default 0. */
  dropoutRate?: number | number[];
  /** Units of a final Linear layer; none when undefined. Default undefined. */
  outputDim?: number;
  /** Activation after the output layer (only used with `outputDim`). Default 'linear'. */
  outputActivation?: OutputActivation;
  /** Seed for the weight initialisers; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

export class MlpBlock extends tf.layers.Layer {
  static className = 'MmctrMlpBlock';
  readonly hiddenUnits: number[];
  readonly activations: HiddenActivation[];
  readonly batchNorm: boolean;
  readonly dropoutRates: number[];
  readonly outputDim?: number;
  readonly outputActivation: OutputActivation;
  readonly seed?: number;
  private readonly args: MlpBlockArgs;
  private units: DenseUnit[] = [];
  private outKernel?: LayerVariable;
  private outBias?: LayerVariable;

  constructor(args: MlpBlockArgs = {}) {
    super(args);
    this.args = args;
    this.hiddenUnits = (args.hiddenUnits ?? []).map((u, i) => requireInt('MlpBlock', `hiddenUnits[${i}]`, u, 1));
    const n = this.hiddenUnits.length;
    this.activations = perLayer(args.activation ?? 'relu', n, 'MlpBlock', 'activation').map((a) =>
      checkActivation('MlpBlock', a),
    );
    this.dropoutRates = perLayer(args.dropoutRate ?? 0, n, 'MlpBlock', 'dropoutRate').map((r, i) =>
      requireRate('MlpBlock', `dropoutRate[${i}]`, r),
    );
    this.batchNorm = args.batchNorm ?? false;
    if (args.outputDim !== undefined) this.outputDim = requireInt('MlpBlock', 'outputDim', args.outputDim, 1);
    this.outputActivation = args.outputActivation ?? 'linear';
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    let inputDim = lastDim(inputShape as tf.Shape, 'MlpBlock', 'the input');
    const make: WeightFactory = (name, shape, init, trainable) =>
      this.addWeight(name, shape, 'float32', init, undefined, trainable);
    this.units = this.hiddenUnits.map((units, i) => {
      const spec: DenseUnitSpec = {
        inputDim,
        units,
        activation: this.activations[i],
        batchNorm: this.batchNorm,
        dropoutRate: this.dropoutRates[i],
      };
      inputDim = units;
      return new DenseUnit(make, `dense_${i}`, spec, seedFor(this.seed, i));
    });
    if (this.outputDim !== undefined) {
      const fans = { fanIn: inputDim, fanOut: this.outputDim };
      const seed = seedFor(this.seed, this.hiddenUnits.length);
      this.outKernel = make('output/kernel', [inputDim, this.outputDim], xavierNormal(fans, seed), true);
      this.outBias = make('output/bias', [this.outputDim], tf.initializers.zeros(), true);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs; // [..., inputDim]
      const training = isTraining(kwargs);
      let h = tf.reshape(x, [-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D; // [rows, inputDim]
      const fused = training ? this.fusedOnWebGpu(h) : null;
      if (fused) return tf.reshape(fused, [...x.shape.slice(0, -1), fused.shape[1]]);
      for (const unit of this.units) h = unit.apply(h, training);
      if (this.outKernel && this.outBias) {
        const kernel = this.outKernel.read() as tf.Tensor2D;
        // webgpu: a narrow output (the logit) in 1 dispatch forward and 1 backward (kernels/webgpu/narrowLinear.ts).
        if (tf.getBackend() === 'webgpu' && kernel.shape[1] <= NARROW_LINEAR_MAX_OUT) {
          h = webGpuNarrowLinear(h, kernel, this.outBias.read() as tf.Tensor1D);
        } else {
          h = tf.add(tf.matMul(h, kernel), this.outBias.read()) as tf.Tensor2D;
        }
        h = activateSimple(h, this.outputActivation) as tf.Tensor2D;
      }
      return tf.reshape(h, [...x.shape.slice(0, -1), h.shape[1]]); // [..., outDim]
    });
  }

  /**
   * webgpu training step: the whole network as one fused op (kernels/webgpu/mlp.ts) when every hidden unit is
   * Linear → BN → Dice → dropout with no output layer (the Dice network), or when every hidden unit is
   * Linear → BN → ReLU → dropout and a narrow linear output follows; null otherwise. The units' dropout seeds are
   * drawn in their order, as the unfused units draw them.
   */
  private fusedOnWebGpu(x: tf.Tensor2D): tf.Tensor2D | null {
    if (tf.getBackend() !== 'webgpu' || this.units.length === 0) return null;
    if (!this.outKernel && this.units.every((u) => u.spec.batchNorm && u.spec.activation === 'dice')) {
      // Linear → BN → Dice → dropout per layer, no output layer (dcnDin's DNN): mlp.ts's Dice network.
      const hidden = this.units.map((u) => u.fusedMlpLayer()!);
      return webGpuMlp({ x, hidden, epsilon: BN_EPSILON, momentum: BN_MOMENTUM, diceEpsilon: DICE_EPSILON, diceMomentum: DICE_MOMENTUM });
    }
    if (!this.outKernel || !this.outBias) return null;
    if (this.outputActivation !== 'linear' || (this.outputDim ?? 0) > MLP_MAX_OUT) return null;
    if (!this.units.every((u) => u.spec.batchNorm && u.spec.activation === 'relu')) return null;
    if ((this.outputDim ?? 0) > this.units[this.units.length - 1].spec.units) return null;
    const hidden = this.units.map((u) => u.fusedMlpLayer()!);
    return webGpuMlp({ x, hidden, outKernel: this.outKernel.read(), outBias: this.outBias.read(), epsilon: BN_EPSILON, momentum: BN_MOMENTUM });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = inputShape as tf.Shape;
    const inputDim = shape[shape.length - 1];
    const outDim = this.outputDim ?? this.hiddenUnits[this.hiddenUnits.length - 1] ?? inputDim;
    return [...shape.slice(0, -1), outDim];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({
        hiddenUnits: this.hiddenUnits,
        activation: this.args.activation ?? 'relu',
        batchNorm: this.batchNorm,
        dropoutRate: this.args.dropoutRate ?? 0,
        outputDim: this.outputDim,
        outputActivation: this.outputActivation,
        seed: this.seed,
      }),
    };
  }
}
tf.serialization.registerClass(MlpBlock);
