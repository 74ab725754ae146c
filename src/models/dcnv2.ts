/**
 * DCN-V2: CrossNetV2 (full-rank, or the low-rank mixture CrossNetMix) and a DNN in one of four structures.
 * Reference: Wang R, et al. DCN V2: Improved Deep & Cross Network and Practical Lessons for Web-scale Learning to
 * Rank Systems. WWW 2021.
 * Semantics of FuxiCTR's `DCNv2`; the history enters as the masked mean of its item vectors:
 *
 *   x0 = likes ‖ views ‖ t ‖ mean(H over valid positions)
 *   crossnetOnly:    Linear(Cross(x0))
 *   stacked:         Linear(StackedDNN(Cross(x0)))
 *   parallel:        Linear(Cross(x0) ‖ ParallelDNN(x0))
 *   stackedParallel: Linear(StackedDNN(Cross(x0)) ‖ ParallelDNN(x0))
 */
import * as tf from '@tensorflow/tfjs';
import { CtrModelBase, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, oneOf, resolveArgs, run } from './base';
import { CrossNetMix, CrossNetV2, type HiddenActivation, MaskedMeanPooling, MlpBlock } from './layers';
import type { ItemTable, ModelInputs } from './types';

/** How the cross network and the DNN(s) are wired (FuxiCTR's `model_structure`). */
export type Dcnv2Structure = 'crossnetOnly' | 'stacked' | 'parallel' | 'stackedParallel';
export const DCNV2_STRUCTURES: readonly Dcnv2Structure[] = ['crossnetOnly', 'stacked', 'parallel', 'stackedParallel'];

export interface Dcnv2Args extends ItemSideArgs {
  /** Wiring of cross network and DNNs. Default 'parallel' (FuxiCTR). */
  structure?: Dcnv2Structure;
  /** Number of cross layers. Default 3. */
  crossLayers?: number;
  /** Use CrossNetMix (low-rank mixture of experts) instead of CrossNetV2. Default false. */
  lowRankMixture?: boolean;
  /** Rank of each CrossNetMix expert. Default 32 (FuxiCTR). */
  lowRank?: number;
  /** CrossNetMix experts. Default 4 (FuxiCTR). */
  numExperts?: number;
  /** Hidden units of the DNN after the cross network ('stacked', 'stackedParallel'). Default [1024, 512, 256]. */
  stackedDnnUnits?: number[];
  /** Hidden units of the DNN beside the cross network ('parallel', 'stackedParallel'). Default [1024, 512, 256]. */
  parallelDnnUnits?: number[];
  /** Activation of the DNNs. Default 'relu'. */
  dnnActivation?: HiddenActivation;
  /** Batch norm in the DNNs. Default true. */
  batchNorm?: boolean;
  /** Dropout in the DNNs. Default 0.1. */
  dropout?: number;
}

/** Parallel DCN-V2 sized like the baseline's DNN. */
export const dcnv2Base: Required<Dcnv2Args> = {
  ...ITEM_SIDE_DEFAULTS,
  structure: 'parallel',
  crossLayers: 3,
  lowRankMixture: false,
  lowRank: 32,
  numExperts: 4,
  stackedDnnUnits: [1024, 512, 256],
  parallelDnnUnits: [1024, 512, 256],
  dnnActivation: 'relu',
  batchNorm: true,
  dropout: 0.1,
};

/** The 3rd-place cross network: CrossNetMix rank 32, 4 experts, 6 layers, beside a DNN [1024, 1024]. */
export const dcnv2Mix: Dcnv2Args = {
  lowRankMixture: true,
  crossLayers: 6,
  lowRank: 32,
  numExperts: 4,
  parallelDnnUnits: [1024, 1024],
};

/** Sized for 2 CPU cores. */
export const dcnv2Small: Dcnv2Args = {
  embeddingDim: 16,
  pretrainedDim: 32,
  crossLayers: 2,
  stackedDnnUnits: [128, 64],
  parallelDnnUnits: [128, 64],
};

export const DCNV2_PRESETS = { dcnv2Base, dcnv2Mix, dcnv2Small } as const;

export class Dcnv2 extends CtrModelBase<Dcnv2Args> {
  private readonly pooling: MaskedMeanPooling;
  private readonly cross: CrossNetV2 | CrossNetMix;
  private readonly stackedDnn?: MlpBlock;
  private readonly parallelDnn?: MlpBlock;
  private readonly fc: MlpBlock;

  constructor(itemTable: ItemTable, args: Dcnv2Args = {}, options: ModelOptions = {}) {
    const a = resolveArgs('dcnv2', dcnv2Base, args);
    const structure = oneOf('dcnv2', 'structure', a.structure, DCNV2_STRUCTURES);
    super('dcnv2', a, itemTable, options);
    this.pooling = this.add('history_pooling', (name) => new MaskedMeanPooling({ name }));
    this.cross = this.add('crossnet', (name, seed) =>
      a.lowRankMixture
        ? new CrossNetMix({ name, seed, numLayers: a.crossLayers, lowRank: a.lowRank, numExperts: a.numExperts })
        : new CrossNetV2({ name, seed, numLayers: a.crossLayers }),
    );
    const dnn = (key: string, units: number[]) =>
      this.add(key, (name, seed) => new MlpBlock({
        name,
        seed,
        hiddenUnits: units,
        activation: a.dnnActivation,
        batchNorm: a.batchNorm,
        dropoutRate: a.dropout,
      }));
    if (structure === 'stacked' || structure === 'stackedParallel') this.stackedDnn = dnn('stacked_dnn', a.stackedDnnUnits);
    if (structure === 'parallel' || structure === 'stackedParallel') this.parallelDnn = dnn('parallel_dnn', a.parallelDnnUnits);
    this.fc = this.add('fc', (name, seed) => new MlpBlock({ name, seed, outputDim: 1 }));
    this.build();
  }

  protected forward(inputs: ModelInputs, training: boolean): tf.Tensor {
    const { target, history } = this.items.encode(inputs.itemId, inputs.itemSeq); // [b, D], [b, L, D]
    const pooled = run(this.pooling, [history, inputs.itemSeq], training); // [b, D]
    const x0 = this.context.concatWith(inputs, [target, pooled]); // [b, 2·emb + 2·D]
    let crossOut = run(this.cross, x0, training); // [b, dim(x0)]
    if (this.stackedDnn) crossOut = run(this.stackedDnn, crossOut, training); // [b, stacked units]
    const out = this.parallelDnn ? tf.concat([crossOut, run(this.parallelDnn, x0, training)], -1) : crossOut;
    return run(this.fc, out, training); // [b, 1]
  }
}
