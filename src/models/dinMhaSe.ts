/**
 * DIN + multi-head target attention + squeeze-excitation over fields + DNN: the MMCTR Task 2 winner's model
 * (AUC 0.9306; its item vectors were PCA per modality — BERT, CLIP — concatenated, which is the item table's
 * business, not the model's).
 * Reference: arXiv 2504.18961 (WWW 2025 MMCTR challenge, Task 2 winner's report); attention from Zhou G, et al.
 * Deep Interest Network for Click-Through Rate Prediction, KDD 2018; field-wise squeeze-excitation from Huang T,
 * et al. FiBiNET, RecSys 2019. The report's layer sizes are not all given; the paper-like preset is sized like
 * the baseline, with the 3rd-place solution's 4 attention heads.
 *
 *   din = DinAttention(t, H, mask), mha = MultiHeadTargetAttention(t, H, mask)      [b, D] each
 *   fields = likes, views, and t, din, mha each cut into D / emb fields of width emb  [b, 2 + 3·D/emb, emb]
 *   logit  = DNN(flatten(SE(fields)))
 * The item vector must split into whole fields: pretrainedDim a multiple of embeddingDim.
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs, run } from './base';
import { ModelConfigError } from './features';
import {
  DinAttention,
  type ExcitationActivation,
  type HiddenActivation,
  MlpBlock,
  MultiHeadTargetAttention,
  SqueezeExcitation,
} from './layers';
import type { ItemTable, ModelInputs } from './types';

export interface DinMhaSeArgs extends ItemSideArgs {
  /** Hidden units of the DIN attention MLP. Default [512, 256]. */
  attentionUnits?: number[];
  /** Activation of the DIN attention MLP. Default 'relu'. */
  attentionActivation?: HiddenActivation;
  /** Dropout in the DIN attention MLP and on the multi-head attention weights. Default 0.1. */
  attentionDropout?: number;
  /** Heads of the multi-head target attention; must divide the item width D. Default 4. */
  numHeads?: number;
  /** Reduction ratio of the squeeze-excitation. Default 3 (FuxiCTR). */
  reductionRatio?: number;
  /**
   * Activation of the excitation weights. Default 'sigmoid' (SENet's gate). FuxiCTR's FiBiNET default 'relu' starts
   * with many dead gates here: id embeddings start at N(0, 1e-4), so the squeezed field means are ≈ 0.
   */
  excitationActivation?: ExcitationActivation;
  /** Hidden units of the DNN. Default [1024, 512, 256]. */
  dnnUnits?: number[];
  /** Activation of the DNN. Default 'relu'. */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the DNN. Default true. */
  batchNorm?: boolean;
  /** Dropout in the DNN. Default 0.1. */
  dropout?: number;
}

/** Paper-like: the baseline's sizes plus 4-head target attention and SE (r = 3); 14 fields of 64. */
export const dinMhaSePaper: Required<DinMhaSeArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  attentionUnits: [512, 256],
  attentionActivation: 'relu',
  attentionDropout: 0.1,
  numHeads: 4,
  reductionRatio: 3,
  excitationActivation: 'sigmoid',
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  batchNorm: true,
  dropout: 0.1,
};

/** Sized for 2 CPU cores: D = 64, 14 fields of 16. */
export const dinMhaSeSmall: DinMhaSeArgs = {
  embeddingDim: 16,
  pretrainedDim: 32,
  attentionUnits: [64, 32],
  numHeads: 2,
  dnnUnits: [128, 64],
};

export const DIN_MHA_SE_PRESETS = { dinMhaSePaper, dinMhaSeSmall } as const;

export class DinMhaSe extends CtrModelBase<DinMhaSeArgs> {
  private readonly din: DinAttention;
  private readonly mha: MultiHeadTargetAttention;
  private readonly se: SqueezeExcitation;
  private readonly dnn: MlpBlock;

  constructor(itemTable: ItemTable, args: DinMhaSeArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('dinMhaSe', dinMhaSePaper, args);
    if (a.pretrainedDim % a.embeddingDim !== 0) {
      throw new ModelConfigError(`dinMhaSe: pretrainedDim ${a.pretrainedDim} must be a multiple of embeddingDim ${a.embeddingDim}`);
    }
    super('dinMhaSe', a, itemTable, options);
    this.din = this.add('din_attention', (name, seed) => new DinAttention({
      name,
      seed,
      attentionUnits: a.attentionUnits,
      activation: a.attentionActivation,
      dropoutRate: a.attentionDropout,
    }));
    this.mha = this.add('mha_attention', (name, seed) => new MultiHeadTargetAttention({
      name,
      seed,
      numHeads: a.numHeads,
      dropoutRate: a.attentionDropout,
    }));
    this.se = this.add('squeeze_excitation', (name, seed) => new SqueezeExcitation({
      name,
      seed,
      reductionRatio: a.reductionRatio,
      excitationActivation: a.excitationActivation,
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
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history, mask } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D], [b, L]
    const din = run(this.din, [target, history, mask], training); // [b, D]
    const mha = run(this.mha, [target, history, mask], training); // [b, D]
    const [b, d] = target.shape;
    const e = this.args.embeddingDim;
    const itemFields = tf.reshape(tf.concat([target, din, mha], -1), [b, (3 * d) / e, e]); // [b, 3·D/e, e]
    const fields = tf.concat([this.context.fields(inputs), itemFields], 1); // [b, F, e]
    const weighted = run(this.se, fields, training); // [b, F, e]
    return run(this.dnn, tf.reshape(weighted, [b, -1]), training); // [b, 1]
  }
}
