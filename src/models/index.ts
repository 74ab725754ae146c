/**
 * The CTR model zoo: the contract (types), feature specs and encoders, the models, the registry, and the layer
 * library they are built from.
 */
export * from './types';
export * from './layers';
export {
  ContextEncoder,
  type ContextInput,
  type CategoricalFeature,
  type EncoderParts,
  type FeatureMap,
  type FeatureMapOptions,
  type FeatureSpec,
  type ItemFeature,
  ItemEncoder,
  type ItemEncoderArgs,
  type ItemLookup,
  ModelConfigError,
  type PooledSequenceFeature,
  type PretrainedFeature,
  type SequenceFeature,
  microlensFeatureMap,
  validateItemTable,
} from './features';
export { CtrModelBase, DEFAULT_SEED, ITEM_SIDE_DEFAULTS, type ItemSideArgs, type ModelOptions, resolveArgs } from './base';
export { DIN_PRESETS, Din, type DinArgs, dinBaseline, dinSmall } from './din';
export { DCN_PRESETS, Dcn, type DcnArgs, dcnBase, dcnSmall } from './dcn';
export { DCNV2_PRESETS, DCNV2_STRUCTURES, Dcnv2, type Dcnv2Args, type Dcnv2Structure, dcnv2Base, dcnv2Mix, dcnv2Small } from './dcnv2';
export { type CrossNetVersion, DCN_DIN_PRESETS, DcnDin, type DcnDinArgs, dcnDinBase, dcnDinSmall } from './dcnDin';
export {
  TRANSFORMER_DCN_PRESETS,
  TransformerDcn,
  type TransformerDcnArgs,
  transformerDcnPaper,
  transformerDcnSmall,
} from './transformerDcn';
export { DIN_MHA_SE_PRESETS, DinMhaSe, type DinMhaSeArgs, dinMhaSePaper, dinMhaSeSmall } from './dinMhaSe';
export { HISTORY_BLIND_PRESETS, HistoryBlind, type HistoryBlindArgs, historyBlindBase, historyBlindSmall } from './historyBlind';
export {
  MODEL_NAMES,
  MODEL_PRESETS,
  type ModelArgsMap,
  type ModelDescription,
  type PresetName,
  createModel,
  describeModels,
  isModelName,
  presetArgs,
} from './registry';
