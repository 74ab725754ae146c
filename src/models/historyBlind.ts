/**
 * History-blind control: a DNN over the target item and its context only. It cannot see `item_seq`, so whatever a
 * history model gains over it is what the history is worth (and a planted history rule must stay at AUC ≈ 0.5).
 * Reference: Covington P, Adams J, Sargin E. Deep Neural Networks for YouTube Recommendations. RecSys 2016 (the
 * embedding + MLP ranking model, here without the watch history).
 *
 *   logit = DNN(likes ‖ views ‖ t)
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs, run } from './base';
import { type HiddenActivation, MlpBlock } from './layers';
import type { ItemTable, ModelInputs } from './types';

export interface HistoryBlindArgs extends ItemSideArgs {
  /** Hidden units of the DNN. Default [1024, 512, 256] (the baseline's DNN). */
  dnnUnits?: number[];
  /** Activation of the DNN. Default 'relu'. */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the DNN. Default true. */
  batchNorm?: boolean;
  /** Dropout in the DNN. Default 0.1. */
  dropout?: number;
}

/** The baseline's item side and DNN without the history. */
export const historyBlindBase: Required<HistoryBlindArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  batchNorm: true,
  dropout: 0.1,
};

/** Sized for 2 CPU cores. */
export const historyBlindSmall: HistoryBlindArgs = { embeddingDim: 16, pretrainedDim: 32, dnnUnits: [128, 64] };

export const HISTORY_BLIND_PRESETS = { historyBlindBase, historyBlindSmall } as const;

export class HistoryBlind extends CtrModelBase<HistoryBlindArgs> {
  private readonly dnn: MlpBlock;

  constructor(itemTable: ItemTable, args: HistoryBlindArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('historyBlind', historyBlindBase, args);
    super('historyBlind', a, itemTable, options);
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
    const target = this.items.encodeTargets(inputs.itemId); // [b, D]; item_seq is never read
    return run(this.dnn, this.context.concatWith(inputs, [target]), training); // [b, 1]
  }
}
