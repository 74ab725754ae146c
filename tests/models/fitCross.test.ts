/** Planted-rule fits of the cross-network models (see fitCheck.ts). */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { registerProjectKernels } from '../../src/engine';
import { expectLearns, fitModel } from './fitCheck';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerProjectKernels();
});

describe('fits the history rule (label = target appears in the history)', () => {
  it.each(['dcn', 'dcnv2', 'transformerDcn'] as const)('%s', (name) => expectLearns(fitModel(name, 'inHistory')));
});
