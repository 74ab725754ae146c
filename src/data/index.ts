/**
 * Public entry point of the data layer: the MicroLens schema, the loaders to typed arrays, the validator and its
 * typed errors, and descriptive statistics.
 */
export * from './schema';
export * from './errors';
export {
  DEFAULT_DATASET_TABLES,
  inferVocab,
  loadDataset,
  loadItemEmbeddings,
  loadItemFeatures,
  loadItemInfo,
  loadItemSequences,
  loadSplit,
  resolveLoadOptions,
  type Dataset,
  type DatasetOptions,
  type LoadOptions,
  type ResolvedLoadOptions,
  type SplitName,
} from './load';
export {
  checkColumnDtype,
  checkFinite,
  checkIntRange,
  checkLabels,
  checkNotEmpty,
  checkRowIndex,
  checkTableColumns,
  checkUniqueKey,
  dtypeName,
  type CheckSite,
  type IntBounds,
} from './validate';
export { validateDataset, validateTable, type TableReport, type TableStatus, type ValidateDatasetOptions } from './validateDataset';
export * from './stats';
