/** Tiny arguments of every model for the tests (dropout off so fits are quick and deterministic). */
import type { ModelArgsMap, ModelName } from '../../src/models';

export const TINY_ARGS: { [N in ModelName]: ModelArgsMap[N] } = {
  din: { embeddingDim: 8, pretrainedDim: 8, attentionUnits: [16], dnnUnits: [32, 16], dropout: 0, attentionDropout: 0 },
  dcn: { embeddingDim: 8, pretrainedDim: 8, crossLayers: 2, dnnUnits: [32, 16], dropout: 0 },
  dcnv2: { embeddingDim: 8, pretrainedDim: 8, crossLayers: 2, stackedDnnUnits: [32, 16], parallelDnnUnits: [32, 16], dropout: 0 },
  dcnDin: { embeddingDim: 8, pretrainedDim: 8, attentionUnits: [16], crossLayers: 2, dnnUnits: [32, 16], dropout: 0, attentionDropout: 0 },
  transformerDcn: {
    embeddingDim: 4,
    pretrainedDim: 4,
    transformerLayers: 1,
    ffDim: 16,
    lastK: 3,
    crossLayers: 1,
    dnnUnits: [32, 16],
    mlpUnits: [16],
    dropout: 0,
    transformerDropout: 0,
  },
  dinMhaSe: { embeddingDim: 8, pretrainedDim: 8, attentionUnits: [16], numHeads: 2, dnnUnits: [32, 16], dropout: 0, attentionDropout: 0 },
  historyBlind: { embeddingDim: 8, pretrainedDim: 8, dnnUnits: [32, 16], dropout: 0 },
};
