/**
 * Loaders of the MicroLens_1M_x1 files into the typed forms of `schema.ts`: typed arrays, flat row-major matrices
 * and CSR lists, never arrays of per-row objects. Every loader opens the file, checks its structure
 * (`checkTableColumns`), reads only the spec'd columns one at a time, and validates values on the way unless told
 * not to. Loaders are async only to let polars memory go between slices (see `releaseMemory`).
 */
import type { DataFrame } from 'nodejs-polars';
import {
  MICROLENS_DIMS,
  MICROLENS_VOCAB,
  ITEM_EMB_COLUMNS,
  microlensTables,
  type ColumnSpec,
  type FloatMatrix,
  type InteractionSplit,
  type ItemEmbeddings,
  type ItemFeatures,
  type ItemInfo,
  type ItemSequences,
  type TableName,
  type TableSpec,
  type Vocab,
} from './schema';
import { DataError, LoadOptionError } from './errors';
import { type ParquetTable, openTable } from './parquet';
import { releaseMemory } from '../util/memory';
import { checkNotEmpty, checkRowIndex, checkTableColumns, checkUniqueKey } from './validate';
import { floatListMatrix, intColumn, intListCsr, intListMatrix, labelColumn, readScalarFrame, stringColumn } from './columns';

export type SplitName = 'train' | 'valid' | 'test';

export interface LoadOptions {
  /**
   * History positions kept per row of `item_seq` in train/valid/test: the newest (rightmost) `seqLen` of the stored
   * positions, left padding preserved. Default 64 (`MICROLENS_DIMS.modelSeqLen`); at most the stored length (100).
   */
  seqLen?: number;
  /**
   * Vocabulary bounds for the range checks. Default: inferred from `item_info.parquet` under the root when it is
   * readable (numItems = its rows − 1), `MICROLENS_VOCAB` for the rest.
   */
  vocab?: Vocab;
  /**
   * Run the value checks: id ranges, finite embeddings, 0/1 labels, unique item keys. Default true. Structure is
   * always checked (file, columns, dtypes, nulls, list lengths, item_info's row index): loading depends on it.
   */
  validate?: boolean;
}

/** Options after defaults, as the loaders use them. */
export interface ResolvedLoadOptions {
  seqLen: number;
  vocab: Vocab;
  validate: boolean;
}

/** The seven specs with the real vocabulary (used for paths only). */
const REAL_TABLES = microlensTables(MICROLENS_VOCAB);

/**
 * The vocabulary a data root implies: `numItems` from item_info's row count (row 0 is padding), when item_info is
 * present and readable; the real data's bounds otherwise.
 */
export function inferVocab(root: string): Vocab {
  try {
    const info = openTable(root, REAL_TABLES.item_info);
    if (info.rows > 1) return { numItems: info.rows - 1, numTags: MICROLENS_VOCAB.numTags, numUsers: MICROLENS_VOCAB.numUsers };
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
  }
  return { numItems: MICROLENS_VOCAB.numItems, numTags: MICROLENS_VOCAB.numTags, numUsers: MICROLENS_VOCAB.numUsers };
}

/** Applies defaults and checks the options. */
export function resolveLoadOptions(root: string, options: LoadOptions = {}): ResolvedLoadOptions {
  const seqLen = options.seqLen ?? MICROLENS_DIMS.modelSeqLen;
  if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > MICROLENS_DIMS.storedSeqLen) {
    throw new LoadOptionError('seqLen', seqLen, `an integer in 1..${MICROLENS_DIMS.storedSeqLen} (the stored length)`);
  }
  const vocab = options.vocab ?? inferVocab(root);
  for (const key of ['numItems', 'numTags', 'numUsers'] as const) {
    if (!Number.isInteger(vocab[key]) || vocab[key] < 1) throw new LoadOptionError(`vocab.${key}`, vocab[key], 'a positive integer');
  }
  return { seqLen, vocab, validate: options.validate ?? true };
}

/** Opens a table and checks its structure; returns it with a lookup of its spec'd columns. */
function openChecked(root: string, spec: TableSpec): { table: ParquetTable; column: (name: string) => ColumnSpec; has: (name: string) => boolean } {
  const table = openTable(root, spec);
  const present = checkTableColumns(table.file, spec, table.schema);
  checkNotEmpty(table.file, spec, table.rows);
  const byName = new Map(present.map((c) => [c.name, c]));
  const column = (name: string): ColumnSpec => {
    const c = byName.get(name);
    // Names come from schema.ts; a miss is a bug in this file, not in the data.
    if (c === undefined) throw new Error(`column ${name} is not in the ${spec.name} spec`);
    return c;
  };
  return { table, column, has: (name) => byName.has(name) };
}

/** Reads scalar columns into one frame that lives only while `fn` runs (then polars may free it). */
function withFrame<T>(table: ParquetTable, specs: ColumnSpec[], fn: (frame: DataFrame) => T): T {
  return fn(readScalarFrame(table, specs));
}

/** train / valid / test → `InteractionSplit` (test with or without `label`). */
export async function loadSplit(root: string, split: SplitName, options: LoadOptions = {}): Promise<InteractionSplit> {
  const opts = resolveLoadOptions(root, options);
  const spec = microlensTables(opts.vocab)[split];
  const { table, column, has } = openChecked(root, spec);
  const scalars = spec.columns.filter((c) => c.type.kind !== 'intList' && has(c.name));
  const result = withFrame(table, scalars, (frame): Omit<InteractionSplit, 'itemSeq'> => {
    const int = (name: string) => intColumn(table, column(name), frame, opts.validate);
    return {
      split,
      rows: table.rows,
      userId: int('user_id'),
      itemId: int('item_id'),
      likesLevel: int('likes_level'),
      viewsLevel: int('views_level'),
      label: has('label') ? labelColumn(table, column('label'), frame, opts.validate) : null,
      id: has('ID') ? int('ID') : null,
    };
  });
  await releaseMemory();
  const itemSeq = await intListMatrix(table, column('item_seq'), opts.seqLen, opts.validate);
  return { ...result, itemSeq };
}

/** item_info.parquet → `ItemInfo` (row index == item_id, row 0 is padding; checked). */
export async function loadItemInfo(root: string, options: LoadOptions = {}): Promise<ItemInfo> {
  const opts = resolveLoadOptions(root, options);
  const { table, column } = openChecked(root, microlensTables(opts.vocab).item_info);
  const ids = intColumn(table, column('item_id'), readScalarFrame(table, [column('item_id')]), opts.validate);
  checkRowIndex({ file: table.file, column: 'item_id' }, ids);
  await releaseMemory();
  const itemTags = await intListMatrix(table, column('item_tags'), MICROLENS_DIMS.itemInfoTags, opts.validate);
  const itemEmb = await floatListMatrix(table, column('item_emb_d128'), opts.validate);
  return { rows: table.rows, itemTags, itemEmb };
}

/** item_feature.parquet → `ItemFeatures`, in file row order. */
export async function loadItemFeatures(root: string, options: LoadOptions = {}): Promise<ItemFeatures> {
  const opts = resolveLoadOptions(root, options);
  const spec = microlensTables(opts.vocab).item_feature;
  const { table, column } = openChecked(root, spec);
  const scalars = spec.columns.filter((c) => c.type.kind === 'int' || c.type.kind === 'string');
  const { itemId, likesLevel, viewsLevel, title } = withFrame(table, scalars, (frame) => ({
    itemId: intColumn(table, column('item_id'), frame, opts.validate),
    likesLevel: intColumn(table, column('likes_level'), frame, opts.validate),
    viewsLevel: intColumn(table, column('views_level'), frame, opts.validate),
    title: stringColumn(column('item_title'), frame),
  }));
  if (opts.validate) checkUniqueKey({ file: table.file, column: 'item_id' }, itemId);
  await releaseMemory();
  const tags = await intListCsr(table, column('item_tags'), { dropZeros: false, validate: opts.validate });
  const text = await floatListMatrix(table, column('txt_emb_BERT'), opts.validate);
  const image = await floatListMatrix(table, column('img_emb_CLIPRN50'), opts.validate);
  return { rows: table.rows, itemId, title, tags, likesLevel, viewsLevel, text, image };
}

/** item_emb.parquet → `ItemEmbeddings`, in file row order. */
export async function loadItemEmbeddings(root: string, options: LoadOptions = {}): Promise<ItemEmbeddings> {
  const opts = resolveLoadOptions(root, options);
  const { table, column } = openChecked(root, microlensTables(opts.vocab).item_emb);
  const itemId = intColumn(table, column('item_id'), readScalarFrame(table, [column('item_id')]), opts.validate);
  if (opts.validate) checkUniqueKey({ file: table.file, column: 'item_id' }, itemId);
  await releaseMemory();
  const vectors = {} as Record<(typeof ITEM_EMB_COLUMNS)[number], FloatMatrix>;
  for (const name of ITEM_EMB_COLUMNS) vectors[name] = await floatListMatrix(table, column(name), opts.validate);
  return { rows: table.rows, itemId, vectors };
}

/** item_seq.parquet → `ItemSequences` (CSR, padding zeros dropped). */
export async function loadItemSequences(root: string, options: LoadOptions = {}): Promise<ItemSequences> {
  const opts = resolveLoadOptions(root, options);
  const { table, column } = openChecked(root, microlensTables(opts.vocab).item_seq);
  const userId = intColumn(table, column('user_id'), readScalarFrame(table, [column('user_id')]), opts.validate);
  await releaseMemory();
  const { offsets, values } = await intListCsr(table, column('item_seq'), { dropZeros: true, validate: opts.validate });
  return { rows: table.rows, userId, offsets, values };
}

export interface DatasetOptions extends LoadOptions {
  /** Tables to load. Default: train, valid, test and item_info (what a CTR model needs). */
  tables?: readonly TableName[];
}

/** What `loadDataset` returns: the tables asked for; the others are absent. */
export interface Dataset {
  root: string;
  /** The options in force (vocab as given or inferred). */
  options: ResolvedLoadOptions;
  train?: InteractionSplit;
  valid?: InteractionSplit;
  test?: InteractionSplit;
  itemInfo?: ItemInfo;
  itemFeatures?: ItemFeatures;
  itemEmbeddings?: ItemEmbeddings;
  itemSequences?: ItemSequences;
}

export const DEFAULT_DATASET_TABLES: readonly TableName[] = ['train', 'valid', 'test', 'item_info'];

/** Loads the tables asked for, one after the other (so only one file's temporaries are alive at a time). */
export async function loadDataset(root: string, options: DatasetOptions = {}): Promise<Dataset> {
  const resolved = resolveLoadOptions(root, options);
  const opts: LoadOptions = resolved;
  const dataset: Dataset = { root, options: resolved };
  for (const name of options.tables ?? DEFAULT_DATASET_TABLES) {
    switch (name) {
      case 'train':
      case 'valid':
      case 'test':
        dataset[name] = await loadSplit(root, name, opts);
        break;
      case 'item_info':
        dataset.itemInfo = await loadItemInfo(root, opts);
        break;
      case 'item_feature':
        dataset.itemFeatures = await loadItemFeatures(root, opts);
        break;
      case 'item_emb':
        dataset.itemEmbeddings = await loadItemEmbeddings(root, opts);
        break;
      case 'item_seq':
        dataset.itemSequences = await loadItemSequences(root, opts);
        break;
      default: {
        const never: never = name;
        throw new LoadOptionError('tables', never, 'table names of the MicroLens schema');
      }
    }
  }
  return dataset;
}
