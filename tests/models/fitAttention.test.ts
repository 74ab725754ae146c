/** Planted-rule fits of the attention models and the history-blind control (see fitCheck.ts). */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { registerProjectKernels } from '../../src/engine';
import { expectBlind, expectLearns, fitModel } from './fitCheck';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerProjectKernels();
});

describe('fits the history rule (label = target appears in the history)', () => {
  it.each(['din', 'dcnDin', 'dinMhaSe'] as const)('%s', (name) => expectLearns(fitModel(name, 'inHistory')));
});

describe('history-blind control', () => {
  it('cannot learn the history rule (held-out AUC ≈ 0.5)', () => expectBlind(fitModel('historyBlind', 'inHistory')));
  it('learns a rule on the target item alone', () => expectLearns(fitModel('historyBlind', 'targetGroup')));
});
