/**
 * The variables a training run updates, as `train` sets them up and the training benchmarks repeat it: the
 * embedding tables first, then the rest, each named as in `namedWeights()` (its checkpoint key), with its L2
 * coefficient by group.
 */
import * as tf from '@tensorflow/tfjs';
import type { CtrModel } from '../models/types';
import { MmctrError } from '../errors';
import type { TrainConfig } from './config';

export interface TrainingVariables {
  trainable: tf.Variable[];
  /** Checkpoint name of each trainable variable. */
  names: string[];
  /** L2 coefficient of each trainable variable. */
  l2: number[];
}

/** The model's trainable variables, their names and L2 coefficients; throws on an unnamed or repeated variable. */
export function trainingVariables(model: CtrModel, cfg: Pick<TrainConfig, 'embeddingRegularizer' | 'netRegularizer'>): TrainingVariables {
  const nameOf = new Map<tf.Variable, string>();
  for (const [name, v] of model.namedWeights()) nameOf.set(v, name);
  const embVars = model.embeddingVariables();
  const netVars = model.networkVariables();
  const trainable = [...embVars, ...netVars];
  const names = trainable.map((v) => {
    const name = nameOf.get(v);
    if (name === undefined) throw new MmctrError(`train: model ${model.name} has a trainable variable (${v.name}) missing from namedWeights(); it could not be checkpointed`);
    return name;
  });
  if (new Set(trainable).size !== trainable.length) throw new MmctrError(`train: model ${model.name} lists a variable twice in embeddingVariables()/networkVariables()`);
  const l2 = [...embVars.map(() => cfg.embeddingRegularizer), ...netVars.map(() => cfg.netRegularizer)];
  return { trainable, names, l2 };
}
