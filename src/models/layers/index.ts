/**
 * The layer library of the CTR model zoo: TensorFlow.js custom layers, one per file, each registered for
 * serialisation. Mask convention everywhere: 1 = VALID position (id > 0), 0 = padding; see `paddingMask`.
 */
export {
  type BaseLayerArgs,
  LayerConfigError,
  asFloatMask,
  isTraining,
  paddingMask,
  xavierNormal,
  xavierUniform,
} from './common';
export { EMBEDDING_INIT_STD, EmbeddingTable, type EmbeddingTableArgs, MaskedMeanPooling, type MaskedMeanPoolingArgs,
  PretrainedProjection, type PretrainedProjectionArgs } from './embedding';
export { DICE_EPSILON, DICE_MOMENTUM, Dice, type DiceArgs } from './dice';
export { type HiddenActivation, MlpBlock, type MlpBlockArgs, type OutputActivation } from './mlpBlock';
export { DinAttention, type DinAttentionArgs } from './dinAttention';
export { MultiHeadTargetAttention, type MultiHeadTargetAttentionArgs } from './multiHeadTargetAttention';
export { CrossNet, type CrossNetArgs } from './crossNet';
export { CrossNetV2, type CrossNetV2Args } from './crossNetV2';
export { CrossNetMix, type CrossNetMixArgs } from './crossNetMix';
export { type ExcitationActivation, SqueezeExcitation, type SqueezeExcitationArgs } from './squeezeExcitation';
export { type TransformerActivation, TransformerEncoder, type TransformerEncoderArgs } from './transformerEncoder';
