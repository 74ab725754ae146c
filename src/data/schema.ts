/**
 * The MicroLens_1M_x1 schema (WWW 2025 MMCTR challenge), written once.
 *
 * Loaders, the validator and the synthetic generator all read this file; nothing else in the project names a
 * column, a list length or a vocabulary bound. Facts come from the challenge's baseline repository
 * (reczoo/WWW2025_MMCTR_Challenge) and public participant code; see `../shared/reference/microlens-mmctr.md`.
 *
 * Folder layout of a data root (the same for the real download and for `mmctr synth`):
 * ```
 * <root>/MicroLens_1M_x1/{train,valid,test,item_info}.parquet
 * <root>/{item_feature,item_emb,item_seq}.parquet
 * ```
 */

/** Physical kind of a column, independent of the integer width or list flavour a writer chose. */
export type ColumnKind =
  /** Any integer dtype (Int8..Int64, UInt8..UInt64). */
  | { kind: 'int'; min?: number; max?: number }
  /** 0/1 label: any integer dtype, or a float dtype whose values are exactly 0 or 1. */
  | { kind: 'label' }
  /** UTF-8 string. */
  | { kind: 'string' }
  /**
   * List of integers. `length` fixes the list length (every row); absent = variable length.
   * `min`/`max` bound the values (0 is always padding and always allowed).
   */
  | { kind: 'intList'; length?: number; min?: number; max?: number }
  /** List of floats of fixed length (Float32 or Float64 elements; finite values only). */
  | { kind: 'floatList'; length: number };

export interface ColumnSpec {
  name: string;
  type: ColumnKind;
  /** A loader accepts the file without this column (e.g. `label` in test.parquet). Default false. */
  optional?: boolean;
}

export type TableName =
  | 'train'
  | 'valid'
  | 'test'
  | 'item_info'
  | 'item_feature'
  | 'item_emb'
  | 'item_seq';

export interface TableSpec {
  name: TableName;
  /** Path relative to the data root. */
  path: string;
  columns: ColumnSpec[];
  /** Column whose values must be unique (item tables). */
  uniqueKey?: string;
  /** Row count of the real challenge files (for `full`-scale synthetic data and for information). */
  realRows: number;
}

/** Vocabulary bounds of the real data. Synthetic scales override the sizes, never the conventions. */
export const MICROLENS_VOCAB = {
  /** Real item ids are 1..91717; 0 is padding. */
  numItems: 91_717,
  /** Real tag ids are 1..11739 (the baseline's vocabulary 0..11738 plus OOV); 0 is padding. */
  numTags: 11_739,
  /** user_id 1..1,000,000. */
  numUsers: 1_000_000,
  /** likes_level / views_level take 0..9. */
  numLevels: 10,
} as const;

/** Fixed list lengths of the challenge files. */
export const MICROLENS_DIMS = {
  /** Stored length of `item_seq` in train/valid/test (left-padded with 0, newest item rightmost). */
  storedSeqLen: 100,
  /** History length the models use by default (the DIN baseline's max_len). */
  modelSeqLen: 64,
  /** `item_info.item_tags` length (left-padded with 0). */
  itemInfoTags: 5,
  textDim: 768,
  imageDim: 1024,
  itemEmbDim: 128,
} as const;

/** Names of the four vectors in item_emb.parquet (their meaning in the real data is undocumented). */
export const ITEM_EMB_COLUMNS = ['item_emb_d128_v1', 'item_emb_d128_v2', 'item_emb_d128_v3', 'item_emb_d128_e4'] as const;

/** Vocabulary sizes used to bound ids, so a validator can check "id out of vocabulary range". */
export interface Vocab {
  numItems: number;
  numTags: number;
  numUsers: number;
}

/** The seven table specs for a given vocabulary (the real one by default). */
export function microlensTables(vocab: Vocab = MICROLENS_VOCAB): Record<TableName, TableSpec> {
  const level: ColumnKind = { kind: 'int', min: 0, max: MICROLENS_VOCAB.numLevels - 1 };
  const itemId: ColumnKind = { kind: 'int', min: 1, max: vocab.numItems };
  const userId: ColumnKind = { kind: 'int', min: 1, max: vocab.numUsers };
  const history: ColumnKind = { kind: 'intList', length: MICROLENS_DIMS.storedSeqLen, min: 0, max: vocab.numItems };
  const interactions = (extra: ColumnSpec[]): ColumnSpec[] => [
    ...extra,
    { name: 'user_id', type: userId },
    { name: 'item_seq', type: history },
    { name: 'item_id', type: itemId },
    { name: 'likes_level', type: level },
    { name: 'views_level', type: level },
  ];
  const emb128: ColumnKind = { kind: 'floatList', length: MICROLENS_DIMS.itemEmbDim };
  return {
    train: {
      name: 'train',
      path: 'MicroLens_1M_x1/train.parquet',
      columns: [...interactions([]), { name: 'label', type: { kind: 'label' } }],
      realRows: 3_600_000,
    },
    valid: {
      name: 'valid',
      path: 'MicroLens_1M_x1/valid.parquet',
      columns: [...interactions([]), { name: 'label', type: { kind: 'label' } }],
      realRows: 10_000,
    },
    test: {
      name: 'test',
      path: 'MicroLens_1M_x1/test.parquet',
      columns: [
        ...interactions([{ name: 'ID', type: { kind: 'int', min: 0 } }]),
        { name: 'label', type: { kind: 'label' }, optional: true },
      ],
      realRows: 379_142,
    },
    item_info: {
      name: 'item_info',
      path: 'MicroLens_1M_x1/item_info.parquet',
      // Row index == item_id; row 0 is the padding row (zeros).
      columns: [
        { name: 'item_id', type: { kind: 'int', min: 0, max: vocab.numItems } },
        { name: 'item_tags', type: { kind: 'intList', length: MICROLENS_DIMS.itemInfoTags, min: 0, max: vocab.numTags } },
        { name: 'item_emb_d128', type: emb128 },
      ],
      uniqueKey: 'item_id',
      realRows: 91_718,
    },
    item_feature: {
      name: 'item_feature',
      path: 'item_feature.parquet',
      columns: [
        { name: 'item_id', type: itemId },
        { name: 'item_title', type: { kind: 'string' } },
        { name: 'item_tags', type: { kind: 'intList', min: 0, max: vocab.numTags } },
        { name: 'likes_level', type: level },
        { name: 'views_level', type: level },
        { name: 'txt_emb_BERT', type: { kind: 'floatList', length: MICROLENS_DIMS.textDim } },
        { name: 'img_emb_CLIPRN50', type: { kind: 'floatList', length: MICROLENS_DIMS.imageDim } },
      ],
      uniqueKey: 'item_id',
      realRows: 91_717,
    },
    item_emb: {
      name: 'item_emb',
      path: 'item_emb.parquet',
      columns: [{ name: 'item_id', type: itemId }, ...ITEM_EMB_COLUMNS.map((name) => ({ name, type: emb128 }))],
      uniqueKey: 'item_id',
      realRows: 91_717,
    },
    item_seq: {
      name: 'item_seq',
      path: 'item_seq.parquet',
      // Variable length accepted; zeros are padding.
      columns: [
        { name: 'user_id', type: userId },
        { name: 'item_seq', type: { kind: 'intList', min: 0, max: vocab.numItems } },
      ],
      realRows: 6_000_000,
    },
  };
}

export const TABLE_NAMES: readonly TableName[] = [
  'train',
  'valid',
  'test',
  'item_info',
  'item_feature',
  'item_emb',
  'item_seq',
];

// ---------------------------------------------------------------------------------------------------------------
// Typed, loaded forms. Columns are typed arrays; sequences are flat row-major matrices [rows × len].
// ---------------------------------------------------------------------------------------------------------------

/** A flat row-major int matrix: `data[r * cols + c]`. */
export interface IntMatrix {
  data: Int32Array;
  rows: number;
  cols: number;
}

/** A flat row-major float matrix: `data[r * cols + c]`. */
export interface FloatMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * train / valid / test after loading. `itemSeq` keeps the stored convention (left padding with 0, newest item
 * rightmost, valid where id > 0), cut to the newest `seqLen` positions.
 */
export interface InteractionSplit {
  split: 'train' | 'valid' | 'test';
  rows: number;
  userId: Int32Array;
  itemId: Int32Array;
  likesLevel: Int32Array;
  viewsLevel: Int32Array;
  /** [rows × seqLen] */
  itemSeq: IntMatrix;
  /** 0/1 labels; null for a test split shipped without labels. */
  label: Uint8Array | null;
  /** Present for test only (the submission's row key). */
  id: Int32Array | null;
}

/** item_info.parquet: row index == item_id, row 0 is padding. */
export interface ItemInfo {
  /** rows = numItems + 1 */
  rows: number;
  /** [rows × 5], left-padded */
  itemTags: IntMatrix;
  /** [rows × 128] */
  itemEmb: FloatMatrix;
}

/** item_feature.parquet (item_id 1..N, no padding row), in file row order. */
export interface ItemFeatures {
  rows: number;
  itemId: Int32Array;
  title: string[];
  /** Variable-length tags: values of row r are `tags.values[tags.offsets[r] .. tags.offsets[r+1])`. */
  tags: { offsets: Int32Array; values: Int32Array };
  likesLevel: Int32Array;
  viewsLevel: Int32Array;
  /** [rows × 768] */
  text: FloatMatrix;
  /** [rows × 1024] */
  image: FloatMatrix;
}

/** item_emb.parquet, in file row order. */
export interface ItemEmbeddings {
  rows: number;
  itemId: Int32Array;
  vectors: Record<(typeof ITEM_EMB_COLUMNS)[number], FloatMatrix>;
}

/** item_seq.parquet: variable-length sequences (padding zeros dropped), CSR layout. */
export interface ItemSequences {
  rows: number;
  userId: Int32Array;
  offsets: Int32Array;
  values: Int32Array;
}
