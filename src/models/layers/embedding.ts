/**
 * Embeddings as FuxiCTR builds them: a table whose row 0 is the padding row, initialised N(0, (1e-4)²) with row 0
 * zero; masked mean pooling over a sequence of ids; and the bias-free Linear that projects pretrained vectors.
 *
 * Padding: id 0 is padding everywhere in this project, and a padded position is one whose id is 0 (mask = id > 0,
 * see `paddingMask`). The lookup multiplies its output by that mask, so id 0 always gives a zero vector and row 0
 * gets no gradient: it stays zero through training without any constraint.
 * Sharing: one `EmbeddingTable` applied to several id tensors (the target item_id and the history item_seq) shares
 * its table.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BaseLayerArgs,
  type Kwargs,
  type LayerVariable,
  LayerConfigError,
  lastDim,
  paddingMask,
  requireInt,
  toConfig,
  xavierNormal,
} from './common';
import { webGpuLookup, webGpuMaskedMean } from '../../engine/kernels/webgpu/embedding';

/** FuxiCTR's embedding initialiser: N(0, std²) with std 1e-4. */
export const EMBEDDING_INIT_STD = 1e-4;

export interface EmbeddingTableArgs extends BaseLayerArgs {
  /** Rows of the table, padding row 0 included: valid ids are 0..vocabSize−1. Required. */
  vocabSize: number;
  /** Width of each vector. Required. */
  embeddingDim: number;
  /** Standard deviation of the normal initialiser. Default 1e-4 (FuxiCTR). */
  initStd?: number;
  /** Seed of the initialiser; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

/** ids [...] (int32; 0 = padding) → vectors [..., embeddingDim], zero where id == 0. */
export class EmbeddingTable extends tf.layers.Layer {
  static className = 'MmctrEmbeddingTable';
  readonly vocabSize: number;
  readonly embeddingDim: number;
  readonly initStd: number;
  readonly seed?: number;
  private table!: LayerVariable; // [vocabSize, embeddingDim]

  constructor(args: EmbeddingTableArgs) {
    super(args);
    this.vocabSize = requireInt('EmbeddingTable', 'vocabSize', args.vocabSize, 2);
    this.embeddingDim = requireInt('EmbeddingTable', 'embeddingDim', args.embeddingDim, 1);
    this.initStd = args.initStd ?? EMBEDDING_INIT_STD;
    this.seed = args.seed;
  }

  override build(_inputShape: tf.Shape | tf.Shape[]): void {
    const init = tf.initializers.randomNormal({ mean: 0, stddev: this.initStd, seed: this.seed });
    this.table = this.addWeight('embeddings', [this.vocabSize, this.embeddingDim], 'float32', init);
    // Row 0 starts at zero (FuxiCTR zeroes the padding row after initialising).
    this.table.write(
      tf.tidy(() => {
        const rowMask = tf.concat([tf.zeros([1, 1]), tf.ones([this.vocabSize - 1, 1])]); // [vocabSize, 1]
        return tf.mul(this.table.read(), rowMask);
      }),
    );
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const ids = Array.isArray(inputs) ? inputs[0] : inputs; // [...]
      const intIds = ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32');
      // webgpu: lookup and padding mask as one fused op (kernels/webgpu/embedding.ts).
      if (tf.getBackend() === 'webgpu') return webGpuLookup(this.table.read() as tf.Tensor2D, intIds);
      const vectors = tf.gather(this.table.read(), intIds); // [..., embeddingDim]
      return tf.mul(vectors, tf.expandDims(paddingMask(intIds), -1)); // [..., embeddingDim], zero at padding
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...(inputShape as tf.Shape), this.embeddingDim];
  }

  /** The table [vocabSize, embeddingDim] (the variable itself: fused ops read it and send it gradients). */
  tableValue(): tf.Tensor2D {
    if (!this.built) throw new LayerConfigError(`EmbeddingTable ${this.name}: not built yet`);
    return this.table.read() as tf.Tensor2D;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...toConfig({ vocabSize: this.vocabSize, embeddingDim: this.embeddingDim, initStd: this.initStd, seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(EmbeddingTable);

export type MaskedMeanPoolingArgs = BaseLayerArgs;

/**
 * Masked mean over a sequence: inputs [vectors [..., len, dim], ids [..., len]] → [..., dim], the mean of the
 * vectors whose id > 0. A row with no valid id gives a zero vector (not NaN). Works at any rank, e.g. the 5 tags of
 * each history item: vectors [batch, seqLen, 5, dim], ids [batch, seqLen, 5] → [batch, seqLen, dim].
 */
export class MaskedMeanPooling extends tf.layers.Layer {
  static className = 'MmctrMaskedMeanPooling';

  constructor(args: MaskedMeanPoolingArgs = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) {
        throw new LayerConfigError('MaskedMeanPooling: expects [vectors, ids]');
      }
      const [vectors, ids] = inputs; // [..., len, dim], [..., len]
      if (tf.getBackend() === 'webgpu' && ids.dtype === 'int32') return webGpuMaskedMean(vectors, ids); // fused (kernels/webgpu)
      const mask = tf.expandDims(paddingMask(ids), -1); // [..., len, 1]
      const sum = tf.sum(tf.mul(vectors, mask), -2); // [..., dim]
      const count = tf.maximum(tf.sum(mask, -2), 1); // [..., 1]; all-padding rows divide 0 by 1
      return tf.div(sum, count);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [vectors] = inputShape as tf.Shape[];
    return [...vectors.slice(0, -2), vectors[vectors.length - 1]];
  }
}
tf.serialization.registerClass(MaskedMeanPooling);

export interface PretrainedProjectionArgs extends BaseLayerArgs {
  /** Width of the projected vectors. Required. */
  outputDim: number;
  /** Seed of the Xavier-normal initialiser; fresh randomness when undefined. Default undefined. */
  seed?: number;
}

/**
 * Bias-free Linear for pretrained vectors (the baseline's Linear(128 → 128, bias=False) over item_emb_d128):
 * [..., inputDim] → [..., outputDim], Xavier-normal. Without a bias a zero (padding) vector stays zero. The frozen
 * pretrained table itself is an `EmbeddingTable` with `trainable: false` whose weights are set from the file.
 */
export class PretrainedProjection extends tf.layers.Layer {
  static className = 'MmctrPretrainedProjection';
  readonly outputDim: number;
  readonly seed?: number;
  private kernel!: LayerVariable; // [inputDim, outputDim]

  constructor(args: PretrainedProjectionArgs) {
    super(args);
    this.outputDim = requireInt('PretrainedProjection', 'outputDim', args.outputDim, 1);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const inputDim = lastDim(inputShape as tf.Shape, 'PretrainedProjection', 'the input');
    const init = xavierNormal({ fanIn: inputDim, fanOut: this.outputDim }, this.seed);
    this.kernel = this.addWeight('kernel', [inputDim, this.outputDim], 'float32', init);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs; // [..., inputDim]
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]]) as tf.Tensor2D; // [rows, inputDim]
      const y = tf.matMul(flat, this.kernel.read() as tf.Tensor2D); // [rows, outputDim]
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outputDim]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...(inputShape as tf.Shape).slice(0, -1), this.outputDim];
  }

  /** The kernel [inputDim, outputDim] (the variable itself: fused ops read it and send it gradients). */
  kernelValue(): tf.Tensor2D {
    if (!this.built) throw new LayerConfigError(`PretrainedProjection ${this.name}: not built yet`);
    return this.kernel.read() as tf.Tensor2D;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...toConfig({ outputDim: this.outputDim, seed: this.seed }) };
  }
}
tf.serialization.registerClass(PretrainedProjection);
