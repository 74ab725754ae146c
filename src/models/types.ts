/**
 * The contract between CTR models and everything around them (trainer, prediction, benchmarks, notebooks).
 *
 * A model receives a batch of typed tensors and returns logits; it never reads files. What a batch holds is
 * decided here, in one place. The item side information (tags, pretrained 128-d vectors, indexed by item_id) is
 * given to a model once, at construction, as an `ItemTable` — the model keeps it as non-trainable weights.
 */
import type * as tf from '@tensorflow/tfjs';
import type { FloatMatrix, IntMatrix } from '../data/schema';

/** One batch as tensors. All id tensors are int32; histories keep the stored convention (left padding, id > 0 valid). */
export interface ModelInputs {
  /** [batch] target item ids */
  itemId: tf.Tensor1D;
  /** [batch] likes level of the target, 0..9 */
  likesLevel: tf.Tensor1D;
  /** [batch] views level of the target, 0..9 */
  viewsLevel: tf.Tensor1D;
  /** [batch, seqLen] history item ids, newest rightmost, 0 = padding */
  itemSeq: tf.Tensor2D;
}

/** Item side information, row index == item_id, row 0 = padding (from item_info.parquet or `mmctr embed`). */
export interface ItemTable {
  /** [numItems + 1, 5] tag ids, left-padded with 0 */
  tags: IntMatrix;
  /** [numItems + 1, 128] pretrained item vectors */
  emb: FloatMatrix;
  /** Size of the tag vocabulary incl. padding (max tag id + 1). */
  tagVocab: number;
}

/** The names every model is registered under. */
export type ModelName = 'din' | 'dcn' | 'dcnv2' | 'dcnDin' | 'transformerDcn' | 'dinMhaSe' | 'historyBlind';

export interface CtrModel {
  readonly name: ModelName;
  /** The preset or args the model was built from, JSON-serialisable (written to the run folder). */
  readonly config: Record<string, unknown>;
  /** Logits [batch]. `training` switches dropout and batch statistics. Runs inside the caller's tidy. */
  call(inputs: ModelInputs, training: boolean): tf.Tensor1D;
  /** Trainable variables of embedding tables (for the embedding L2 regulariser). */
  embeddingVariables(): tf.Variable[];
  /** All other trainable variables (for the network L2 regulariser). */
  networkVariables(): tf.Variable[];
  /** Every weight incl. non-trainable state (BN running statistics, item table), by unique name: for checkpoints. */
  namedWeights(): Map<string, tf.Variable>;
  /** Number of trainable parameters. */
  paramCount(): number;
  dispose(): void;
}
