/**
 * Transformer + DCN-V2, the 1st-place MMCTR solution (team "momo", valid AUC 0.9766, test 0.9839).
 * Reference: arXiv 2505.03543 (WWW 2025 MMCTR challenge, 1st-place technical report); public code
 * github.com/yinzm/WWW2025_MMCTR_rk1 (FuxiCTR `Transformer_DCN` / `Transformer_DCN_Quant`, `first_k_cols` = k).
 *
 *   S      = [h_j ‖ t]_j                                    [b, L, 2D]  each history item beside the target
 *   Z      = TransformerEncoder^n(S, keys masked at padding) · mask   (no positional encoding)
 *   seq    = Z[:, last k positions] flattened ‖ Linear(masked max over positions of Z)   [b, (k + 1)·2D]
 *   x0     = likes ‖ views ‖ t ‖ seq
 *   logit  = MLP(CrossNetV2(x0) ‖ DNN(x0))
 * Histories shorter than k are left-padded with zero outputs. The public code passed the 1 = valid mask where
 * PyTorch expects 1 = ignore; here the mask is 1 = valid end to end (the layer inverts nothing). A row without any
 * valid position max-pools to zeros.
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs, run } from './base';
import { CrossNetV2, type HiddenActivation, MlpBlock, TransformerEncoder } from './layers';
import type { ItemTable, ModelInputs } from './types';

export interface TransformerDcnArgs extends ItemSideArgs {
  /** Encoder layers. Default 2 (paper). */
  transformerLayers?: number;
  /** Attention heads. Default 1 (paper). */
  numHeads?: number;
  /** Feed-forward width. Default 256 (paper). */
  ffDim?: number;
  /** Dropout inside the encoder. Default 0.2 (paper). */
  transformerDropout?: number;
  /** Number of newest positions whose outputs are kept (flattened). Default 16 (paper). */
  lastK?: number;
  /** Add the projected masked max-pool of the outputs. Default true (paper). */
  maxPool?: boolean;
  /** CrossNetV2 layers. Default 3 (paper). */
  crossLayers?: number;
  /** Hidden units of the DNN beside the cross network. Default [1024, 512, 256] (paper). */
  dnnUnits?: number[];
  /** Activation of the DNN and the final MLP. Default 'relu'. */
  dnnActivation?: HiddenActivation;
  /** Dropout in the DNN. Default 0.2 (paper). */
  dropout?: number;
  /** Batch norm in the DNN. Default false (paper). */
  batchNorm?: boolean;
  /** Hidden units of the final MLP. Default [64, 32] (paper). */
  mlpUnits?: number[];
}

/** The paper's sizes. With D = 256 the cross network's input is 128 + 256 + 17·512 = 9,088 wide (~248M weights). */
export const transformerDcnPaper: Required<TransformerDcnArgs> = {
  ...ITEM_SIDE_DEFAULTS,
  transformerLayers: 2,
  numHeads: 1,
  ffDim: 256,
  transformerDropout: 0.2,
  lastK: 16,
  maxPool: true,
  crossLayers: 3,
  dnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  dropout: 0.2,
  batchNorm: false,
  mlpUnits: [64, 32],
};

/** Sized for 2 CPU cores: D = 48, d_model 96, last 2 positions (cross input 368 wide). */
export const transformerDcnSmall: TransformerDcnArgs = {
  embeddingDim: 16,
  pretrainedDim: 16,
  ffDim: 64,
  lastK: 2,
  crossLayers: 2,
  dnnUnits: [128, 64],
  mlpUnits: [32, 16],
};

export const TRANSFORMER_DCN_PRESETS = { transformerDcnPaper, transformerDcnSmall } as const;

export class TransformerDcn extends CtrModelBase<TransformerDcnArgs> {
  private readonly encoders: TransformerEncoder[] = [];
  private readonly poolLinear?: MlpBlock;
  private readonly cross: CrossNetV2;
  private readonly dnn: MlpBlock;
  private readonly mlp: MlpBlock;

  constructor(itemTable: ItemTable, args: TransformerDcnArgs = {}, options: ModelOptions = {}) {
    const a = resolveArgs('transformerDcn', transformerDcnPaper, args);
    super('transformerDcn', a, itemTable, options);
    for (let i = 0; i < a.transformerLayers; i++) {
      this.encoders.push(this.add(`transformer_${i}`, (name, seed) => new TransformerEncoder({
        name,
        seed,
        numHeads: a.numHeads,
        ffDim: a.ffDim,
        dropoutRate: a.transformerDropout,
      })));
    }
    const dModel = 2 * this.items.width;
    if (a.maxPool) this.poolLinear = this.add('pool_linear', (name, seed) => new MlpBlock({ name, seed, outputDim: dModel }));
    this.cross = this.add('crossnet', (name, seed) => new CrossNetV2({ name, seed, numLayers: a.crossLayers }));
    this.dnn = this.add('dnn', (name, seed) => new MlpBlock({
      name,
      seed,
      hiddenUnits: a.dnnUnits,
      activation: a.dnnActivation,
      batchNorm: a.batchNorm,
      dropoutRate: a.dropout,
    }));
    this.mlp = this.add('mlp', (name, seed) => new MlpBlock({
      name,
      seed,
      hiddenUnits: a.mlpUnits,
      activation: a.dnnActivation,
      outputDim: 1,
    }));
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history, mask } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D], [b, L]
    const [b, len, d] = history.shape;
    const k = this.args.lastK;
    let z: tf.Tensor = tf.concat([history, tf.broadcastTo(tf.expandDims(target, 1), [b, len, d])], -1); // [b, L, 2D]
    for (const encoder of this.encoders) z = run(encoder, [z, mask], training);
    const valid = tf.expandDims(mask, -1); // [b, L, 1], 1 = valid
    z = tf.mul(z, valid); // outputs at padded positions → 0
    const newest = len >= k ? tf.slice(z, [0, len - k, 0], [b, k, 2 * d]) : tf.pad(z, [[0, 0], [k - len, 0], [0, 0]]); // [b, k, 2D]
    const seq = [tf.reshape(newest, [b, k * 2 * d])];
    if (this.poolLinear) {
      const filled = tf.add(z, tf.mul(tf.sub(valid, 1), 1e9)); // −1e9 at padding
      const anyValid = tf.max(mask, 1, true); // [b, 1]: 0 for a fully padded row
      seq.push(run(this.poolLinear, tf.mul(tf.max(filled, 1), anyValid), training)); // [b, 2D]
    }
    const x0 = tf.concat([this.context.flat(inputs), target, ...seq], -1); // [b, 2·emb + D + (k + 1)·2D]
    const out = tf.concat([run(this.cross, x0, training), run(this.dnn, x0, training)], -1);
    return run(this.mlp, out, training); // [b, 1]
  }
}
