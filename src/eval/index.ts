export {
  MetricError,
  auc,
  evaluate,
  gauc,
  groupAuc,
  logloss,
  oracleGap,
  type Evaluation,
  type GroupAuc,
  type Groups,
  type Labels,
  type OracleGap,
  type Scores,
} from './metrics';
export { sortFloats, type FloatArray } from './sortFloats';
export { COMBINE_MODES, EnsembleError, combinePredictions, normaliseWeights, type CombineMode, type CombineOptions } from './ensemble';
