import { describe, expect, it } from 'vitest';
import type { CtrModel } from '../../src/models/types';
import { checkSameModel } from '../../src/train/runFolder';

/** Only what checkSameModel reads. */
function model(config: Record<string, unknown>): CtrModel {
  return { name: 'din', config } as unknown as CtrModel;
}

describe('checkSameModel', () => {
  const saved = { name: 'din', config: { embeddingDim: 16, attentionUnits: [8, 4], dropout: 0.1 } };

  it('accepts the same config in any key order', () => {
    expect(() => checkSameModel('f', saved, model({ dropout: 0.1, attentionUnits: [8, 4], embeddingDim: 16 }))).not.toThrow();
  });

  it('accepts options added to the model after the checkpoint (restoreVariables checks the weights)', () => {
    expect(() => checkSameModel('f', saved, model({ ...saved.config, matchHeads: 0 }))).not.toThrow();
  });

  it('rejects another model, a changed value and an option the model no longer has', () => {
    expect(() => checkSameModel('f', saved, { name: 'dcn', config: saved.config } as unknown as CtrModel)).toThrow(/holds a din model, not dcn/);
    expect(() => checkSameModel('f', saved, model({ ...saved.config, dropout: 0.2 }))).toThrow(/was written by din with config/);
    const { dropout: _dropped, ...rest } = saved.config;
    expect(() => checkSameModel('f', saved, model(rest))).toThrow(/was written by din/);
  });
});
