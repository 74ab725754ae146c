/**
 * DCN-DIN hybrid with Dice: DIN's target attention pools the history, and a DCN (cross network ‖ DNN) reads the
 * pooled interest with the target and the context. The model of the CLIP ViT-B/32 + Word2Vec pipeline (a public
 * MMCTR participant notebook; valid AUC 0.8765, leaderboard 0.88); its exact sizes are not published, so the
 * full preset is sized like the challenge baseline.
 * References: Zhou G, et al. Deep Interest Network for Click-Through Rate Prediction. KDD 2018 (attention, Dice);
 * Wang R, et al. Deep & Cross Network for Ad Click Predictions. ADKDD 2017 (CrossNet);
 * Wang R, et al. DCN V2. WWW 2021 (CrossNetV2, with `crossNet: 'v2'`).
 *
 *   pooled = DinAttention_dice(t, H, mask)
 *   x0     = likes ‖ views ‖ t ‖ pooled
 *   logit  = Linear(Cross(x0) ‖ DNN_dice(x0))
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, oneOf, resolveArgs, run } from './base';
import { fusedDinFeatures } from './din';
import { CrossNet, CrossNetV2, DinAttention, type HiddenActivation, MlpBlock } from './layers';
import type { ItemTable, ModelInputs } from './types';

/** Which cross network. */
export type CrossNetVersion = 'v1' | 'v2';

export interface DcnDinArgs extends ItemSideArgs {
  /** Hidden units of the attention MLP. Default [512, 256]. */
  attentionUnits?: number[];
  /** Activation of the attention MLP. Default 'dice'. */
  attentionActivation?: HiddenActivation;
  /** Dropout in the attention MLP. Default 0.1. */
  attentionDropout?: number;
  /** Cross network: 'v1' (CrossNet) or 'v2' (CrossNetV2). Default 'v1'. */
  crossNet?: CrossNetVersion;
  /** Number of cross layers. Default 3. */
  crossLayers?: number;
  /** Hidden units of the DNN. Default [1024, 512, 256]. */
  dnnUnits?: number[];
  /** Activation of the DNN. Default 'dice'. */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the DNN. Default true. */
  batchNorm?: boolean;
  /** Dropout in the DNN. Default 0.1. */
  dropout?: number;
}

/** Sized like the baseline (emb 64, attention [512, 256], DNN [1024, 512, 256]), Dice everywhere. */
export const dcnDinBase: Required<DcnDinArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  attentionUnits: [512, 256],
  attentionActivation: 'dice',
  attentionDropout: 0.1,
  crossNet: 'v1',
  crossLayers: 3,
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'dice',
  batchNorm: true,
  dropout: 0.1,
};

/** Sized for 2 CPU cores. */
export const dcnDinSmall: DcnDinArgs = {
  embeddingDim: 16,
  pretrainedDim: 32,
  attentionUnits: [64, 32],
  crossLayers: 2,
  dnnUnits: [128, 64],
};

export const DCN_DIN_PRESETS = { dcnDinBase, dcnDinSmall } as const;

export class DcnDin extends CtrModelBase<DcnDinArgs> {
  private readonly attention: DinAttention;
  private readonly cross: CrossNet | CrossNetV2;
  private readonly dnn: MlpBlock;
  private readonly fc: MlpBlock;

  constructor(itemTable: ItemTable, args: DcnDinArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('dcnDin', dcnDinBase, args);
    const version = oneOf<CrossNetVersion>('dcnDin', 'crossNet', a.crossNet, ['v1', 'v2']);
    super('dcnDin', a, itemTable, options);
    this.attention = this.add('attention', (name, seed) => new DinAttention({
      name,
      seed,
      attentionUnits: a.attentionUnits,
      activation: a.attentionActivation,
      dropoutRate: a.attentionDropout,
    }));
    this.cross = this.add('crossnet', (name, seed) =>
      version === 'v1' ? new CrossNet({ name, seed, numLayers: a.crossLayers }) : new CrossNetV2({ name, seed, numLayers: a.crossLayers }),
    );
    this.dnn = this.add('dnn', (name, seed) => new MlpBlock({
      name,
      seed,
      hiddenUnits: a.dnnUnits,
      activation: a.dnnActivation,
      batchNorm: a.batchNorm,
      dropoutRate: a.dropout,
    }));
    this.fc = this.add('fc', (name, seed) => new MlpBlock({ name, seed, outputDim: 1 }));
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    // webgpu training step: the fused DIN block, Dice attention included (din.ts `fusedDinFeatures`).
    const fused = training && tf.getBackend() === 'webgpu' ? fusedDinFeatures(this.items, this.context, this.attention, inputs, true) : null;
    const x0 = fused ?? this.unfusedFeatures(inputs, training); // [b, 2·emb + 2·D]
    const out = tf.concat([run(this.cross, x0, training), run(this.dnn, x0, training)], -1); // [b, dim(x0) + last units]
    return run(this.fc, out, training); // [b, 1]
  }

  /** x0 = [likes ‖ views ‖ t ‖ pooled] through the layers. */
  private unfusedFeatures(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history, mask } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D], [b, L]
    const pooled = run(this.attention, [target, history, mask], training); // [b, D]
    return this.context.concatWith(inputs, [target, pooled]); // [b, 2·emb + 2·D]
  }
}
