/**
 * DIN, the MMCTR challenge baseline.
 * Reference: Zhou G, et al. Deep Interest Network for Click-Through Rate Prediction. KDD 2018.
 * Source: reczoo/WWW2025_MMCTR_Challenge (FuxiCTR's DIN with the item-info encoder); reported valid AUC 0.8655.
 *
 *   t = item(item_id) [b, D], H = item(item_seq) [b, L, D], mask = item_seq > 0
 *   pooled = DinAttention(t, H, mask)                       [b, D]   (MLP over [t, h, t−h, t⊙h], no softmax)
 *   logit  = MLP(likes ‖ views ‖ t ‖ pooled)                [b]      (2·emb + 2·D = 640 in the baseline)
 *
 * Option `matchHeads` = M > 0 (off in the baseline) adds an explicit max-like match of the target with the history,
 * for data where the click depends on the best-matching history item (a soft maximum) rather than a weighted sum:
 *   s_mj  = e^κ_m · ⟨(W_m t), h_j⟩ / √D                      [b, M, L]  (M bilinear forms, W = bias-free Linear D → M·D)
 *   f_m   = log(mean_j∈valid exp(s_mj))                      [b, M]     (log-mean-exp: a soft max)
 *   logit = MLP(likes ‖ views ‖ t ‖ pooled ‖ f) + a·f + c    (f also enters the logit linearly)
 * κ_m is a learnt log inverse temperature per head, initialised to log 10 as CLIP's logit scale (1/0.07): with
 * κ = 0 the scores start small and Adam needs far more steps to sharpen the pooling through W alone.
 * An MLP over [t, pooled] has to learn dot products from data, which it does poorly; the bilinear form has them.
 * `matchForm: 'diagonal'` replaces W_m by diag(w_m) (D weights per head instead of D²; the shared item projection
 * still rotates the pretrained vectors), which is learnt from far fewer rows.
 * Measured on data/small (seed 20242025, valid AUC, oracle 0.8692; bench/results/oracleGap.md): with the generator's
 * true item vectors as item_emb, dinSmall 0.828; full bilinear heads on the whole item vector (pretrainedDim 128)
 * 0.845; diagonal heads on item_emb with embedding L2 1e-3 0.860. On the fused-clusters Task 1 table: dinSmall
 * 0.802, diagonal heads 0.820; bilinear heads on the whole item vector overfit first (fused table: 0.773 vs 0.784).
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, oneOf, resolveArgs, run } from './base';
import { DIN_BLOCK_MAX_LEN, webGpuDinBlock } from '../engine/kernels/webgpu/dinBlock';
import { type ContextEncoder, type ItemEncoder, ModelConfigError } from './features';
import { DinAttention, type HiddenActivation, MlpBlock, PretrainedProjection } from './layers';
import type { ItemTable, ModelInputs } from './types';

export interface DinArgs extends ItemSideArgs {
  /** Hidden units of the attention MLP. Default [512, 256] (baseline). */
  attentionUnits?: number[];
  /** Activation of the attention MLP. Default 'relu' (baseline; the DIN paper uses 'dice'). */
  attentionActivation?: HiddenActivation;
  /** Dropout in the attention MLP. Default 0.1 (baseline). */
  attentionDropout?: number;
  /** Softmax over the valid attention scores. Default false (baseline). */
  useSoftmax?: boolean;
  /** Hidden units of the output MLP. Default [1024, 512, 256] (baseline). */
  dnnUnits?: number[];
  /** Activation of the output MLP. Default 'relu' (baseline). */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the output MLP. Default true (baseline). */
  batchNorm?: boolean;
  /** Dropout in the output MLP. Default 0.1 (baseline). */
  dropout?: number;
  /** Bilinear target–history match heads pooled by log-mean-exp (see the header); 0 = none. Default 0 (baseline). */
  matchHeads?: number;
  /**
   * What the match heads compare: 'item' = the whole item vector (ids, tags, projected item_emb); 'pretrained' = only
   * the projected item_emb part (frozen vectors shared by all items: no per-item parameter to overfit). Default 'item'.
   */
  matchOn?: MatchOn;
  /**
   * The form of each match head: 'bilinear' = ⟨W_m t, h⟩ with a full D×D matrix per head; 'diagonal' =
   * ⟨w_m ⊙ t, h⟩, one weight per coordinate (D per head instead of D², so it is learnt from far fewer rows; the
   * shared item projection still lets it weigh any directions of the pretrained vectors). Default 'bilinear'.
   */
  matchForm?: MatchForm;
}

export type MatchOn = 'item' | 'pretrained';
export type MatchForm = 'bilinear' | 'diagonal';

/** The challenge baseline: emb 64, attention [512, 256] ReLU, DNN [1024, 512, 256] BN ReLU, dropout 0.1. */
export const dinBaseline: Required<DinArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  attentionUnits: [512, 256],
  attentionActivation: 'relu',
  attentionDropout: 0.1,
  useSoftmax: false,
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  batchNorm: true,
  dropout: 0.1,
  matchHeads: 0,
  matchOn: 'item',
  matchForm: 'bilinear',
};

/** Sized for 2 CPU cores. */
export const dinSmall: DinArgs = {
  embeddingDim: 16,
  pretrainedDim: 32,
  attentionUnits: [64, 32],
  dnnUnits: [128, 64],
};

/**
 * dinSmall with 4 diagonal match heads on the projected item_emb, pooled by log-mean-exp (a max-like match; see the
 * header), the projection at full width 128. Train it with a stronger embedding L2 (`--emb-reg 1e-3`): together the
 * best DIN settings measured on data/small (bench/results/oracleGap.md, table fused-clusters-diag).
 */
export const dinMatchSmall: DinArgs = { ...dinSmall, pretrainedDim: 128, matchHeads: 4, matchOn: 'pretrained', matchForm: 'diagonal' };

export const DIN_PRESETS = { dinBaseline, dinSmall, dinMatchSmall } as const;

export class Din extends CtrModelBase<DinArgs> {
  private readonly attention: DinAttention;
  private readonly dnn: MlpBlock;
  private readonly match: MatchScores | null;
  private readonly matchOn: MatchOn;

  constructor(itemTable: ItemTable, args: DinArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('din', dinBaseline, args);
    super('din', a, itemTable, options);
    this.attention = this.add('attention', (name, seed) => new DinAttention({
      name,
      seed,
      attentionUnits: a.attentionUnits,
      activation: a.attentionActivation,
      dropoutRate: a.attentionDropout,
      useSoftmax: a.useSoftmax,
    }));
    this.dnn = this.add('dnn', (name, seed) => new MlpBlock({
      name,
      seed,
      hiddenUnits: a.dnnUnits,
      activation: a.dnnActivation,
      batchNorm: a.batchNorm,
      dropoutRate: a.dropout,
      outputDim: 1,
    }));
    // Registered last, so the other layers keep their seeds with or without it.
    this.matchOn = oneOf('din', 'matchOn', a.matchOn, ['item', 'pretrained'] as const);
    const matchWidth = this.matchOn === 'item' ? this.items.width : a.pretrainedDim;
    const matchForm = oneOf('din', 'matchForm', a.matchForm, ['bilinear', 'diagonal'] as const);
    this.match = a.matchHeads > 0 ? new MatchScores('din', a.matchHeads, matchWidth, (key, make) => this.add(key, make), matchForm) : null;
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const fused = training && !this.match && tf.getBackend() === 'webgpu' ? fusedDinFeatures(this.items, this.context, this.attention, inputs, false) : null;
    if (fused) return run(this.dnn, fused, training);
    const { target, history, mask } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D], [b, L]
    const pooled = run(this.attention, [target, history, mask], training); // [b, D]
    if (!this.match) {
      const features = this.context.concatWith(inputs, [target, pooled]); // [b, 2·emb + 2·D]
      return run(this.dnn, features, training); // [b, 1]
    }
    // The projected item_emb is the last field of the item vector (features.ts: item_id, item_tags, item_emb_d128).
    const from = this.matchOn === 'item' ? 0 : this.items.width - this.args.pretrainedDim;
    const f = this.match.scores(tf.slice(target, [0, from]), tf.slice(history, [0, 0, from]), mask, training); // [b, M]
    const features = tf.concat([this.context.flat(inputs), target, pooled, f], -1); // [b, 2·emb + 2·D + M]
    return tf.add(run(this.dnn, features, training), this.match.linear(f, training)); // [b, 1]
  }
}

/**
 * webgpu training step of DIN and of the DCN-DIN hybrid: item vectors → target attention → [likes ‖ views ‖ t ‖
 * pooled] as one fused op (kernels/webgpu/dinBlock.ts), when the attention is the block's shape (two ReLU layers, or
 * Dice ones with `allowDice`); null otherwise (the layers run). Every check comes before `fusedBlockWeights`, which
 * draws the dropout seeds the layers would otherwise draw, so a fallback cannot shift the op-seed stream.
 */
export function fusedDinFeatures(items: ItemEncoder, context: ContextEncoder, attention: DinAttention, inputs: ModelInputs, allowDice: boolean): tf.Tensor2D | null {
  const [b, len] = inputs.itemSeq.shape;
  if (len > DIN_BLOCK_MAX_LEN || items.lookup !== 'unique') return null;
  const fields = context.hostFields(inputs);
  if (!fields || fields.length !== 2) return null;
  const weights = attention.fusedBlockWeights(allowDice);
  if (!weights) return null;
  const enc = items.encodeSlots(inputs.itemId, inputs.itemSeq)!; // non-null with the 'unique' lookup
  return webGpuDinBlock({ ...weights, vectors: enc.vectors, slots: enc.slots, itemSeq: enc.itemSeq, context: [fields[0], fields[1]], batch: b, seqLen: len });
}

type AddLayer = <L extends tf.layers.Layer>(key: string, make: (name: string, seed: number) => L) => L;

/**
 * The bilinear match heads of `matchHeads` (registered on the model under 'match_query', 'match_linear' and
 * 'match_scale'): scores(t [b, D], H [b, L, D], mask [b, L]) → f [b, M], the log-mean-exp over valid positions of
 * e^κ_m ⟨W_m t, h_j⟩ / √D (0 for a row without a valid position); linear(f) → [b, 1] = a·f + c.
 */
export class MatchScores {
  private readonly query: PretrainedProjection | HeadDiagonal;
  private readonly scale: HeadLogScale;
  private readonly out: MlpBlock;

  constructor(
    model: string,
    readonly heads: number,
    readonly width: number,
    add: AddLayer,
    form: MatchForm = 'bilinear',
  ) {
    if (!Number.isInteger(heads) || heads < 1) throw new ModelConfigError(`${model}: matchHeads must be an integer ≥ 0, got ${heads}`);
    this.query =
      form === 'diagonal'
        ? add('match_query', (name, seed) => new HeadDiagonal({ name, seed, heads }))
        : add('match_query', (name, seed) => new PretrainedProjection({ name, seed, outputDim: heads * width }));
    this.out = add('match_linear', (name, seed) => new MlpBlock({ name, seed, outputDim: 1 }));
    this.scale = add('match_scale', (name) => new HeadLogScale({ name, heads, init: Math.log(MATCH_INIT_SCALE) }));
  }

  scores(target: tf.Tensor, history: tf.Tensor, mask: tf.Tensor, training: boolean): tf.Tensor2D {
    return tf.tidy(() => {
      const [b, len, d] = history.shape as [number, number, number];
      const q = tf.reshape(run(this.query, target, training), [b, this.heads, d]); // [b, M, D]
      const scale = tf.reshape(run(this.scale, q, training), [1, this.heads, 1]); // e^κ / √D
      const s = tf.mul(tf.matMul(q, history, false, true), tf.div(scale, Math.sqrt(d))); // [b, M, L]
      const valid = tf.expandDims(tf.greater(mask, 0), 1); // [b, 1, L]
      const masked = tf.where(tf.broadcastTo(valid, [b, this.heads, len]), s, tf.fill([b, this.heads, len], -1e9));
      const count = tf.sum(mask, -1, true); // [b, 1]
      const lme = tf.sub(tf.logSumExp(masked, -1), tf.log(tf.maximum(count, 1))); // [b, M]
      return tf.where(tf.broadcastTo(tf.greater(count, 0), [b, this.heads]), lme, tf.zerosLike(lme)) as tf.Tensor2D;
    });
  }

  linear(f: tf.Tensor, training: boolean): tf.Tensor {
    return run(this.out, f, training);
  }
}

/** Initial inverse temperature e^κ of the match heads (CLIP's logit scale starts at 1/0.07 ≈ 14). */
const MATCH_INIT_SCALE = 10;

/**
 * The diagonal match form: one weight vector w_m [D] per head; apply(t [b, D]) → [b, M·D] = (w_m ⊙ t) for m = 1..M.
 * Initialised at 1 + 0.1·N(0, 1) (seeded): near the plain dot product, and different per head so the heads can part.
 */
export class HeadDiagonal extends tf.layers.Layer {
  static className = 'MmctrHeadDiagonal';
  readonly heads: number;
  readonly seed?: number;
  private kernel!: tf.LayerVariable; // [M, D]

  constructor(args: { name: string; heads: number; seed?: number }) {
    super({ name: args.name });
    this.heads = args.heads;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const width = (inputShape as tf.Shape)[(inputShape as tf.Shape).length - 1];
    if (typeof width !== 'number') throw new ModelConfigError(`HeadDiagonal ${this.name}: the input's last dimension must be known`);
    const init = tf.initializers.randomNormal({ mean: 1, stddev: 0.1, seed: this.seed });
    this.kernel = this.addWeight('kernel', [this.heads, width], 'float32', init);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const t = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D; // [b, D]
      const [b, d] = t.shape;
      return tf.reshape(tf.mul(tf.expandDims(t, 1), tf.expandDims(this.kernel.read(), 0)), [b, this.heads * d]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = inputShape as tf.Shape;
    return [s[0], this.heads * (s[s.length - 1] as number)];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}
tf.serialization.registerClass(HeadDiagonal);

/** One learnt scalar κ_m per head; apply(anything) → e^κ [M]. */
export class HeadLogScale extends tf.layers.Layer {
  static className = 'MmctrHeadLogScale';
  readonly heads: number;
  readonly init: number;
  private logScale!: tf.LayerVariable;

  constructor(args: { name: string; heads: number; init: number }) {
    super({ name: args.name });
    this.heads = args.heads;
    this.init = args.init;
  }

  override build(): void {
    this.logScale = this.addWeight('log_scale', [this.heads], 'float32', tf.initializers.constant({ value: this.init }));
    this.built = true;
  }

  override call(): tf.Tensor {
    return tf.exp(this.logScale.read());
  }

  override computeOutputShape(): tf.Shape {
    return [this.heads];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, init: this.init };
  }
}
tf.serialization.registerClass(HeadLogScale);
