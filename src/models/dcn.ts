/**
 * DCN: a CrossNet (v1) and a DNN in parallel over the same input, concatenated into a Linear → logit.
 * Reference: Wang R, Fu B, Fu G, Wang M. Deep & Cross Network for Ad Click Predictions. ADKDD 2017.
 * Semantics of FuxiCTR's `DCN`; the history enters as the masked mean of its item vectors:
 *
 *   x0    = likes ‖ views ‖ t ‖ mean(H over valid positions)     [b, 2·emb + 2·D]
 *   logit = Linear(CrossNet(x0) ‖ DNN(x0))                      [b]
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs, run } from './base';
import { CrossNet, type HiddenActivation, MaskedMeanPooling, MlpBlock } from './layers';
import type { ItemTable, ModelInputs } from './types';

export interface DcnArgs extends ItemSideArgs {
  /** Number of cross layers. Default 3. */
  crossLayers?: number;
  /** Hidden units of the DNN; [] leaves the cross network alone. Default [1024, 512, 256]. */
  dnnUnits?: number[];
  /** Activation of the DNN. Default 'relu'. */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the DNN. Default true. */
  batchNorm?: boolean;
  /** Dropout in the DNN. Default 0.1. */
  dropout?: number;
}

/** Sized like the baseline's DNN (emb 64, item vector 256). */
export const dcnBase: Required<DcnArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  crossLayers: 3,
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  batchNorm: true,
  dropout: 0.1,
};

/** Sized for 2 CPU cores. */
export const dcnSmall: DcnArgs = { embeddingDim: 16, pretrainedDim: 32, crossLayers: 2, dnnUnits: [128, 64] };

export const DCN_PRESETS = { dcnBase, dcnSmall } as const;

export class Dcn extends CtrModelBase<DcnArgs> {
  private readonly pooling: MaskedMeanPooling;
  private readonly cross: CrossNet;
  private readonly dnn?: MlpBlock;
  private readonly fc: MlpBlock;

  constructor(itemTable: ItemTable, args: DcnArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('dcn', dcnBase, args);
    super('dcn', a, itemTable, options);
    this.pooling = this.add('history_pooling', (name) => new MaskedMeanPooling({ name }));
    this.cross = this.add('crossnet', (name, seed) => new CrossNet({ name, seed, numLayers: a.crossLayers }));
    if (a.dnnUnits.length > 0) {
      this.dnn = this.add('dnn', (name, seed) => new MlpBlock({
        name,
        seed,
        hiddenUnits: a.dnnUnits,
        activation: a.dnnActivation,
        batchNorm: a.batchNorm,
        dropoutRate: a.dropout,
      }));
    }
    this.fc = this.add('fc', (name, seed) => new MlpBlock({ name, seed, outputDim: 1 }));
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D]
    const pooled = run(this.pooling, [history, inputs.itemSeq], training); // [b, D], mean over ids > 0
    const x0 = this.context.concatWith(inputs, [target, pooled]); // [b, 2·emb + 2·D]
    const parts = [run(this.cross, x0, training)];
    if (this.dnn) parts.push(run(this.dnn, x0, training));
    return run(this.fc, parts.length > 1 ? tf.concat(parts, -1) : parts[0], training); // [b, 1]
  }
}
