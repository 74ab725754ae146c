/**
 * Training: the loop (`train`), its configuration, the optimiser, checkpoints, the run folder and run comparison.
 * Batches come from src/data/batches.ts; prediction and the submission writer are in src/eval/.
 */
export { DEFAULT_TRAIN_CONFIG, TrainConfigError, resolveTrainConfig, type EvalEvery, type Monitor, type TrainConfig } from './config';
export {
  TrainingDivergedError,
  TrainingInterruptedError,
  train,
  type BestEvaluation,
  type StopReason,
  type TrainData,
  type TrainOptions,
  type TrainResult,
} from './trainer';
export { Adam, defaultAdamMode, type AdamArgs, type AdamMode, type AdamStepOptions } from './adam';
export { initialSchedule, monitorValue, scheduleStep, type ScheduleState, type ScheduleStep } from './schedule';
export { lossAndGradients, type StepGradients } from './step';
export { trainingVariables, type TrainingVariables } from './variables';
export { batchInputs, batchLabels, disposeInputs } from './tensors';
export {
  CheckpointError,
  readCheckpoint,
  restoreVariables,
  snapshotVariables,
  writeCheckpoint,
  type CheckpointFile,
  type StoredTensor,
  type TensorMap,
} from './checkpoint';
export {
  RUN_FILES,
  RunFolderError,
  loadBestWeights,
  readJson,
  readMetrics,
  runPath,
  type BestCheckpointMeta,
  type EvalRecord,
  type RunConfig,
  type RunInfo,
  type ValidMetrics,
} from './runFolder';
export { compareRuns, findRuns, formatRunTable, readOracleAuc, type RunRow } from './compareRuns';
export { itemTableFromInfo, loadTrainingData, type TrainingData } from './data';
export { openRun, type OpenedRun } from './openRun';
export { ENSEMBLE_FILE, EnsembleRunError, readEnsemble, runEnsemble, type EnsembleMember, type EnsembleOptions, type EnsembleRecord } from './ensembleRun';
