import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { registerProjectKernels } from '../../src/engine';
import { DCNV2_STRUCTURES, MODEL_NAMES, type ModelName, createModel } from '../../src/models';
import { type ModelCase, checkModel, withDirtyRowZero } from './modelCheck';
import { tinyItemTable } from './synthetic';
import { TINY_ARGS } from './tinyArgs';

const table = tinyItemTable();
const dirty = withDirtyRowZero(table);

const cases: ModelCase[] = [
  ...MODEL_NAMES.map((name: ModelName): ModelCase => ({
    label: name,
    make: (t, seed) => createModel(name, TINY_ARGS[name], t, { seed }),
    historyBlind: name === 'historyBlind',
  })),
  ...MODEL_NAMES.filter((n) => n !== 'historyBlind').map((name: ModelName): ModelCase => ({
    label: `${name}, per-position lookup`,
    make: (t, seed) => createModel(name, TINY_ARGS[name], t, { seed, lookup: 'perPosition' }),
  })),
  ...DCNV2_STRUCTURES.map((structure): ModelCase => ({
    label: `dcnv2 ${structure}`,
    make: (t, seed) => createModel('dcnv2', { ...TINY_ARGS.dcnv2, structure }, t, { seed }),
  })),
  {
    label: 'dcnv2 stackedParallel + CrossNetMix',
    make: (t, seed) =>
      createModel('dcnv2', { ...TINY_ARGS.dcnv2, structure: 'stackedParallel', lowRankMixture: true, lowRank: 4, numExperts: 2 }, t, { seed }),
  },
  { label: 'dcnDin, CrossNetV2', make: (t, seed) => createModel('dcnDin', { ...TINY_ARGS.dcnDin, crossNet: 'v2' }, t, { seed }) },
  {
    label: 'din, softmax + Dice + BN',
    make: (t, seed) => createModel('din', { ...TINY_ARGS.din, useSoftmax: true, attentionActivation: 'dice', batchNorm: true }, t, { seed }),
  },
  { label: 'din, 2 match heads', make: (t, seed) => createModel('din', { ...TINY_ARGS.din, matchHeads: 2 }, t, { seed }) },
  {
    label: 'din, match heads on item_emb only',
    make: (t, seed) => createModel('din', { ...TINY_ARGS.din, matchHeads: 1, matchOn: 'pretrained' }, t, { seed }),
  },
  {
    label: 'din, 2 diagonal match heads on item_emb',
    make: (t, seed) => createModel('din', { ...TINY_ARGS.din, matchHeads: 2, matchOn: 'pretrained', matchForm: 'diagonal' }, t, { seed }),
  },
  {
    label: 'transformerDcn, no max-pool, 2 heads, dropout',
    make: (t, seed) => createModel('transformerDcn', { ...TINY_ARGS.transformerDcn, maxPool: false, numHeads: 2, transformerDropout: 0.2 }, t, { seed }),
  },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerProjectKernels();
});

describe('model check (shape, names, save/load, leaks, padding)', () => {
  it.each(cases)('$label', (c) => checkModel(c, table, dirty));
});
