/**
 * DIN, the MMCTR challenge baseline.
 * Reference: Zhou G, et al. Deep Interest Network for Click-Through Rate Prediction. KDD 2018.
 * Source: reczoo/WWW2025_MMCTR_Challenge (FuxiCTR's DIN with the item-info encoder); reported valid AUC 0.8655.
 *
 *   t = item(item_id) [b, D], H = item(item_seq) [b, L, D], mask = item_seq > 0
 *   pooled = DinAttention(t, H, mask)                       [b, D]   (MLP over [t, h, t−h, t⊙h], no softmax)
 *   logit  = MLP(likes ‖ views ‖ t ‖ pooled)                [b]      (2·emb + 2·D = 640 in the baseline)
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs, run } from './base';
import { DinAttention, type HiddenActivation, MlpBlock } from './layers';
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
}

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
};

/** Sized for 2 CPU cores. */
export const dinSmall: DinArgs = {
  embeddingDim: 16,
  pretrainedDim: 32,
  attentionUnits: [64, 32],
  dnnUnits: [128, 64],
};

export const DIN_PRESETS = { dinBaseline, dinSmall } as const;

export class Din extends CtrModelBase<DinArgs> {
  private readonly attention: DinAttention;
  private readonly dnn: MlpBlock;

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
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history, mask } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D], [b, L]
    const pooled = run(this.attention, [target, history, mask], training); // [b, D]
    const features = tf.concat([this.context.flat(inputs), target, pooled], -1); // [b, 2·emb + 2·D]
    return run(this.dnn, features, training); // [b, 1]
  }
}
