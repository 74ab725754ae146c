/**
 * The feature specs of the MicroLens models, as types, and the two encoders every model is built on.
 *
 * The challenge baseline (reczoo/WWW2025_MMCTR_Challenge, FuxiCTR DIN) describes one item by three fields,
 * concatenated in this order:
 *   item_id        categorical, own table (emb dim)                         → [emb]
 *   item_tags      5 tag ids, left-padded, own table, mean over valid ids    → [emb]
 *   item_emb_d128  frozen 128-d vector, bias-free Linear(128 → 128)          → [pretrainedDim]
 * The target item and every history position get the same vector from the same tables (`ItemEncoder`); the
 * target's likes_level / views_level are categorical context fields (`ContextEncoder`, vocab 11 = 0..9 + OOV).
 *
 * Padding: id 0 is padding everywhere and a position is valid where its id > 0 (1 = valid masks). An item vector
 * is multiplied by that mask, so a padded history position is exactly zero whatever row 0 of the item table holds
 * (the baseline's row 0 is zeros, which gives the same result). As in FuxiCTR, whose feature map declares
 * padding_idx 0 for every categorical field, level 0 of likes/views maps to the zero padding row.
 */
import * as tf from '@tensorflow/tfjs';
import { MICROLENS_DIMS, MICROLENS_VOCAB } from '../data/schema';
import { MmctrError } from '../errors';
import { featureConcatBindings, webGpuFeatureConcat } from '../engine/kernels/webgpu/featureConcat';
import { webGpuItemEncode } from '../engine/kernels/webgpu/itemEncoder';
import { maxStorageBuffers } from '../engine/kernels/webgpu/raw';
import { EmbeddingTable, MaskedMeanPooling, PretrainedProjection, paddingMask } from './layers';
import type { ItemTable, ModelInputs } from './types';

/** Raised for model arguments, feature maps or item tables a model cannot work with. */
export class ModelConfigError extends MmctrError {}

/** An id field with its own embedding table; id 0 is padding (zero vector, no gradient). */
export interface CategoricalFeature {
  kind: 'categorical';
  name: string;
  /** Rows of the table incl. padding row 0 and OOV. */
  vocabSize: number;
  paddingIdx: 0;
}

/** A fixed-length id list of each item (left-padded with 0), mean-pooled over its valid ids, own table. */
export interface PooledSequenceFeature {
  kind: 'pooledSequence';
  name: string;
  /** The item-table column holding the lists. */
  column: 'tags';
  vocabSize: number;
  maxLen: number;
  paddingIdx: 0;
  pooling: 'mean';
}

/** A frozen pretrained vector of each item, projected by a bias-free Linear. */
export interface PretrainedFeature {
  kind: 'pretrained';
  name: string;
  /** The item-table column holding the vectors. */
  column: 'emb';
  /** Stored width. */
  dim: number;
  /** Width after the projection. */
  outputDim: number;
}

/** The behaviour sequence: item ids (left-padded, newest rightmost) encoded by the item encoder. */
export interface SequenceFeature {
  kind: 'sequence';
  name: string;
  maxLen: number;
  sharesEmbeddingWith: 'item';
  paddingIdx: 0;
}

/** A field of the item vector. */
export type ItemFeature = CategoricalFeature | PooledSequenceFeature | PretrainedFeature;
export type FeatureSpec = ItemFeature | SequenceFeature;

/** The 1-D inputs a context field can read. */
export type ContextInput = 'likesLevel' | 'viewsLevel';

/** Everything a model embeds, in one place. */
export interface FeatureMap {
  /** Fields of the item vector, in concatenation order. */
  item: ItemFeature[];
  /** Fields of the target only, in concatenation order. */
  context: { feature: CategoricalFeature; input: ContextInput }[];
  history: SequenceFeature;
}

export interface FeatureMapOptions {
  /** Width of the projected pretrained vector. Default 128 (the baseline). */
  pretrainedDim?: number;
  /** History length the models are meant for (information; a batch may hold any length). Default 64. */
  seqLen?: number;
}

/** The baseline's feature map for an item table (its vocabularies are read from the table). */
export function microlensFeatureMap(table: ItemTable, options: FeatureMapOptions = {}): FeatureMap {
  validateItemTable(table);
  const levels = MICROLENS_VOCAB.numLevels + 1; // 0..9 + OOV
  const level = (name: string): CategoricalFeature => ({ kind: 'categorical', name, vocabSize: levels, paddingIdx: 0 });
  return {
    item: [
      { kind: 'categorical', name: 'item_id', vocabSize: table.tags.rows, paddingIdx: 0 },
      {
        kind: 'pooledSequence',
        name: 'item_tags',
        column: 'tags',
        vocabSize: table.tagVocab,
        maxLen: table.tags.cols,
        paddingIdx: 0,
        pooling: 'mean',
      },
      {
        kind: 'pretrained',
        name: 'item_emb_d128',
        column: 'emb',
        dim: table.emb.cols,
        outputDim: options.pretrainedDim ?? MICROLENS_DIMS.itemEmbDim,
      },
    ],
    context: [
      { feature: level('likes_level'), input: 'likesLevel' },
      { feature: level('views_level'), input: 'viewsLevel' },
    ],
    history: {
      kind: 'sequence',
      name: 'item_seq',
      maxLen: options.seqLen ?? MICROLENS_DIMS.modelSeqLen,
      sharesEmbeddingWith: 'item',
      paddingIdx: 0,
    },
  };
}

/** Checks the shapes and id ranges of an item table once, where it enters a model. */
export function validateItemTable(table: ItemTable): void {
  const { tags, emb, tagVocab } = table;
  if (tags.rows < 2 || tags.rows !== emb.rows) {
    throw new ModelConfigError(`item table: tags has ${tags.rows} rows and emb ${emb.rows}; need equal, ≥ 2 (row 0 = padding)`);
  }
  if (tags.data.length !== tags.rows * tags.cols || emb.data.length !== emb.rows * emb.cols) {
    throw new ModelConfigError('item table: data length differs from rows × cols');
  }
  for (let i = 0; i < tags.data.length; i++) {
    const t = tags.data[i];
    if (t < 0 || t >= tagVocab) {
      throw new ModelConfigError(
        `item table: tag id ${t} at item ${Math.floor(i / tags.cols)} is outside 0..${tagVocab - 1} (tagVocab ${tagVocab})`,
      );
    }
  }
}

/** Width of one field's vector. */
function fieldWidth(f: ItemFeature, embeddingDim: number): number {
  switch (f.kind) {
    case 'categorical':
    case 'pooledSequence':
      return embeddingDim;
    case 'pretrained':
      return f.outputDim;
    default: {
      const never: never = f;
      throw new ModelConfigError(`unknown feature kind ${JSON.stringify(never)}`);
    }
  }
}

/**
 * How history vectors are computed. 'unique': once per distinct id of the batch (targets and histories
 * together), then gathered into place; 'perPosition': at every position, as the baseline does. Same values and
 * gradients; bench/itemLookup.ts measures which is faster.
 */
export type ItemLookup = 'unique' | 'perPosition';

/** A layer of an encoder with its stable key, or a frozen variable with its key. */
export interface EncoderParts {
  layers: [string, tf.layers.Layer][];
  frozen: [string, tf.Variable][];
}

type Encoded = (ids: tf.Tensor) => tf.Tensor; // ids [...] → [..., width]

export interface ItemEncoderArgs {
  /** Width of the id and pooled-sequence embeddings. Required. */
  embeddingDim: number;
  /** History lookup strategy. Default 'unique'. */
  lookup?: ItemLookup;
  /** Seed of the first initialiser; each table gets its own (seed + 1000·k). Default undefined (fresh randomness). */
  seed?: number;
}

/** Target and history item vectors from the item fields, sharing every table between the two. */
export class ItemEncoder {
  /** Width D of an item vector. */
  readonly width: number;
  readonly lookup: ItemLookup;
  private readonly numItems: number;
  private readonly fields: Encoded[] = [];
  private readonly parts: EncoderParts = { layers: [], frozen: [] };
  private readonly slots: Int32Array; // id → unique slot, −1 when unseen (reset after each batch)
  private readonly seen: Int32Array; // slot → id of the batch being indexed (scratch of uniqueIds)
  /** The parts of the baseline's field list (id, tags, pretrained), for the fused webgpu encoder. */
  private readonly fusable: Partial<{
    id: EmbeddingTable;
    tags: EmbeddingTable;
    lists: tf.Variable;
    vectors: tf.Variable;
    projection: PretrainedProjection;
  }> = {};
  private readonly fusableOrder: boolean;
  /** The item table's tag lists on the host (validated), for the fused gradient's tag index. */
  private readonly hostTags: Int32Array;

  constructor(features: ItemFeature[], table: ItemTable, args: ItemEncoderArgs) {
    this.lookup = args.lookup ?? 'unique';
    this.numItems = table.tags.rows;
    this.slots = new Int32Array(this.numItems).fill(-1);
    this.seen = new Int32Array(this.numItems);
    const seed = (k: number) => (args.seed === undefined ? undefined : args.seed + 1000 * k);
    this.width = features.reduce((s, f) => s + fieldWidth(f, args.embeddingDim), 0);
    features.forEach((f, k) => this.fields.push(this.field(f, table, args.embeddingDim, seed(k))));
    const kinds = features.map((f) => f.kind).join(',');
    this.fusableOrder = kinds === 'categorical,pooledSequence,pretrained';
    this.hostTags = table.tags.data;
  }

  private field(f: ItemFeature, table: ItemTable, embeddingDim: number, seed: number | undefined): Encoded {
    switch (f.kind) {
      case 'categorical': {
        const t = this.layer(new EmbeddingTable({ name: `${f.name}_embedding`, vocabSize: f.vocabSize, embeddingDim, seed }));
        this.fusable.id = t;
        return (ids) => t.apply(ids) as tf.Tensor; // [..., emb]
      }
      case 'pooledSequence': {
        const m = table[f.column];
        const lists = this.freeze(`item_table/${f.column}`, tf.tensor2d(m.data, [m.rows, m.cols], 'int32'));
        const t = this.layer(new EmbeddingTable({ name: `${f.name}_embedding`, vocabSize: f.vocabSize, embeddingDim, seed }));
        const pool = this.layer(new MaskedMeanPooling({ name: `${f.name}_pooling` }));
        this.fusable.tags = t;
        this.fusable.lists = lists;
        return (ids) => {
          const listIds = tf.gather(lists, ids); // [..., maxLen]
          return pool.apply([t.apply(listIds) as tf.Tensor, listIds]) as tf.Tensor; // [..., emb]
        };
      }
      case 'pretrained': {
        const m = table[f.column];
        const vectors = this.freeze(`item_table/${f.column}`, tf.tensor2d(m.data, [m.rows, m.cols], 'float32'));
        const proj = this.layer(new PretrainedProjection({ name: `${f.name}_projection`, outputDim: f.outputDim, seed }));
        this.fusable.vectors = vectors;
        this.fusable.projection = proj;
        return (ids) => proj.apply(tf.gather(vectors, ids)) as tf.Tensor; // [..., outputDim]
      }
      default: {
        const never: never = f;
        throw new ModelConfigError(`unknown feature kind ${JSON.stringify(never)}`);
      }
    }
  }

  /** Registers a layer under its (explicit) tfjs name, which is its stable key. */
  private layer<L extends tf.layers.Layer>(layer: L): L {
    this.parts.layers.push([layer.name, layer]);
    return layer;
  }

  private freeze(key: string, value: tf.Tensor): tf.Variable {
    const v = tf.variable(value, false);
    value.dispose();
    this.parts.frozen.push([key, v]);
    return v;
  }

  /** The tables and layers, by stable key. */
  weightParts(): EncoderParts {
    return this.parts;
  }

  /**
   * ids [...] (int32) → item vectors [..., D], exactly zero where id == 0. `distinct`: the same ids on the host,
   * each id > 0 at most once (the unique lookup), which makes the fused webgpu gradient deterministic.
   */
  encodeIds(ids: tf.Tensor, distinct?: Int32Array): tf.Tensor {
    return tf.tidy(() => {
      // webgpu: the three baseline fields in one dispatch forward and two backward (kernels/webgpu/itemEncoder.ts),
      // once the layers are built (the first call builds them through the unfused path).
      const f = this.fusable;
      if (this.fusableOrder && tf.getBackend() === 'webgpu' && ids.dtype === 'int32' && f.id?.built && f.tags?.built && f.projection?.built) {
        return webGpuItemEncode(ids, {
          idTable: f.id.tableValue(),
          tagLists: f.lists!,
          tagTable: f.tags.tableValue(),
          vectors: f.vectors!,
          projection: f.projection.kernelValue(),
        }, distinct ? { ids: distinct, tagLists: this.hostTags } : undefined);
      }
      const parts = this.fields.map((encode) => encode(ids));
      const v = parts.length === 1 ? parts[0] : tf.concat(parts, -1); // [..., D]
      return tf.mul(v, tf.expandDims(paddingMask(ids), -1));
    });
  }

  /** Target vectors only: itemId [b] → [b, D]. */
  encodeTargets(itemId: tf.Tensor1D): tf.Tensor2D {
    this.hostIds(itemId, 'itemId');
    return this.encodeIds(itemId) as tf.Tensor2D;
  }

  /** itemId [b], itemSeq [b, L] → target [b, D], history [b, L, D], mask [b, L] (float, 1 = valid). */
  encode(itemId: tf.Tensor1D, itemSeq: tf.Tensor2D): { target: tf.Tensor2D; history: tf.Tensor3D; mask: tf.Tensor2D } {
    return tf.tidy(() => {
      const [b, len] = itemSeq.shape;
      const mask = paddingMask(itemSeq) as tf.Tensor2D;
      const check = this.lookup === 'perPosition'; // else uniqueIds checks the ids in its pass
      const targetIds = this.hostIds(itemId, 'itemId', check);
      const historyIds = this.hostIds(itemSeq, 'itemSeq', check);
      if (this.lookup === 'perPosition') {
        return { target: this.encodeIds(itemId) as tf.Tensor2D, history: this.encodeIds(itemSeq) as tf.Tensor3D, mask };
      }
      const { unique, index } = this.uniqueIds([targetIds, historyIds], ['itemId', 'itemSeq']);
      const vectors = this.encodeIds(tf.tensor1d(unique, 'int32'), unique); // [U, D]
      const target = tf.gather(vectors, tf.tensor1d(index.subarray(0, b), 'int32')) as tf.Tensor2D; // [b, D]
      const history = tf.gather(vectors, tf.tensor2d(index.subarray(b), [b, len], 'int32')) as tf.Tensor3D; // [b, L, D]
      return { target, history, mask };
    });
  }

  /**
   * The 'unique' lookup without the gathers, for fused ops that read slots on load: the distinct items' vectors
   * [U, D] and every target's then history position's slot (host arrays), with the host item_seq. Null with the
   * 'perPosition' lookup.
   */
  encodeSlots(itemId: tf.Tensor1D, itemSeq: tf.Tensor2D): { vectors: tf.Tensor2D; slots: Int32Array; itemSeq: Int32Array } | null {
    if (this.lookup !== 'unique') return null;
    const targetIds = this.hostIds(itemId, 'itemId', false);
    const historyIds = this.hostIds(itemSeq, 'itemSeq', false);
    const { unique, index } = this.uniqueIds([targetIds, historyIds], ['itemId', 'itemSeq']); // checks the ids
    const vectors = tf.tidy(() => this.encodeIds(tf.tensor1d(unique, 'int32'), unique) as tf.Tensor2D); // [U, D]
    return { vectors, slots: index, itemSeq: historyIds };
  }

  /**
   * Distinct ids of the arrays (in first-seen order) and, for every element, its slot among them; each id checked
   * against the table (the check `hostIds` skips for the 'unique' lookup, done here in the same pass). `names` name
   * the arrays in the error. Typed arrays and the encoder's reused id → slot map only: no per-step Map, Set or
   * array of numbers (bench/gpu/hostIndex.ts times it).
   */
  private uniqueIds(arrays: Int32Array[], names: string[]): { unique: Int32Array; index: Int32Array } {
    const total = arrays.reduce((s, a) => s + a.length, 0);
    const index = new Int32Array(total);
    let count = 0;
    let at = 0;
    for (let k = 0; k < arrays.length; k++) {
      const a = arrays[k];
      count = assignSlots(a, index, at, this.slots, this.seen, count);
      if (count < 0) {
        this.slots.fill(-1); // the ids seen before the bad one
        const i = a.findIndex((id) => !(id >= 0 && id < this.numItems));
        throw new ModelConfigError(`${names[k]}: item id ${a[i]} at flat position ${i} is outside 0..${this.numItems - 1}`);
      }
      at += a.length;
    }
    const unique = this.seen.slice(0, count);
    for (let i = 0; i < count; i++) this.slots[unique[i]] = -1;
    return { unique, index };
  }

  /**
   * The ids on the host (they come from host arrays; on cpu/wasm this is a view), checked: int32, in the table
   * (`check` false: the range check is left to the caller, `uniqueIds`).
   */
  private hostIds(ids: tf.Tensor, input: string, check = true): Int32Array {
    if (ids.dtype !== 'int32') throw new ModelConfigError(`${input}: item ids must be int32, got ${ids.dtype}`);
    const data = ids.dataSync() as Int32Array;
    if (!check) return data;
    const n = this.numItems;
    for (let i = 0; i < data.length; i++) {
      if (!(data[i] >= 0 && data[i] < n)) {
        throw new ModelConfigError(`${input}: item id ${data[i]} at flat position ${i} is outside 0..${n - 1}`);
      }
    }
    return data;
  }
}

/**
 * Slots of `ids` into `index` from `at`: `slots` maps an id to its slot (−1 = not seen yet; the new ones get
 * `count`, `count` + 1, … and are listed in `seen`). Returns the new count, or −1 at an id outside `slots`
 * (the caller names it). A function of its own, on typed arrays: one tight loop.
 */
function assignSlots(ids: Int32Array, index: Int32Array, at: number, slots: Int32Array, seen: Int32Array, count: number): number {
  const n = ids.length;
  const rows = slots.length;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < rows)) return -1;
    let slot = slots[id];
    if (slot < 0) {
      slot = count++;
      slots[id] = slot;
      seen[slot] = id;
    }
    index[at + i] = slot;
  }
  return count;
}

/** The target's context fields (likes_level, views_level), each with its own table. */
export class ContextEncoder {
  /** Number of fields. */
  readonly count: number;
  readonly embeddingDim: number;
  private readonly tables: { table: EmbeddingTable; input: ContextInput }[];

  constructor(fields: FeatureMap['context'], embeddingDim: number, seed?: number) {
    this.count = fields.length;
    this.embeddingDim = embeddingDim;
    this.tables = fields.map(({ feature, input }, k) => ({
      input,
      table: new EmbeddingTable({
        name: `${feature.name}_embedding`,
        vocabSize: feature.vocabSize,
        embeddingDim,
        seed: seed === undefined ? undefined : seed + 1000 * k,
      }),
    }));
  }

  weightParts(): EncoderParts {
    return { layers: this.tables.map(({ table }) => [table.name, table]), frozen: [] };
  }

  /** [b, count, emb]: one row per field. */
  fields(inputs: ModelInputs): tf.Tensor3D {
    return tf.tidy(() => tf.stack(this.tables.map(({ table, input }) => table.apply(inputs[input]) as tf.Tensor), 1) as tf.Tensor3D);
  }

  /**
   * [b, count · emb + Σ w]: the fields, then `dense` ([b, w] each), concatenated — on webgpu as one fused op
   * (kernels/webgpu/featureConcat.ts: 1 dispatch forward and 1 backward instead of 4 and 4) when the tables are built.
   */
  concatWith(inputs: ModelInputs, dense: tf.Tensor[]): tf.Tensor2D {
    const built = this.tables.every(({ table }) => table.built);
    if (tf.getBackend() === 'webgpu' && built && featureConcatBindings(this.count, dense.length) <= maxStorageBuffers()) {
      const fields = this.tables.map(({ table, input }) => ({ table: table.tableValue(), ids: inputs[input] }));
      if (fields.every((f) => f.ids.dtype === 'int32' && f.ids.rank === 1)) return webGpuFeatureConcat(fields, dense);
    }
    return tf.tidy(() => tf.concat([this.flat(inputs), ...dense], -1) as tf.Tensor2D);
  }

  /** The tables and the host ids of each field (for fused webgpu ops), or null when not built. */
  hostFields(inputs: ModelInputs): { table: tf.Tensor; ids: Int32Array }[] | null {
    if (!this.tables.every(({ table }) => table.built)) return null;
    const out: { table: tf.Tensor; ids: Int32Array }[] = [];
    for (const { table, input } of this.tables) {
      const ids = inputs[input];
      if (ids.dtype !== 'int32' || ids.rank !== 1) return null;
      out.push({ table: table.tableValue(), ids: ids.dataSync() as Int32Array }); // host values: no GPU read
    }
    return out;
  }

  /** [b, count · emb]: the fields concatenated. */
  flat(inputs: ModelInputs): tf.Tensor2D {
    return tf.tidy(() => tf.concat(this.tables.map(({ table, input }) => table.apply(inputs[input]) as tf.Tensor2D), -1));
  }
}
