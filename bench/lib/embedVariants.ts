/** The item-embedding strategies compared by bench/embed.ts (retrieval) and bench/embedAblation.ts (DIN AUC). */
import type { EmbedSpec } from '../../src/features';

export interface EmbedVariant {
  /** Short name used in tables and `--only` (no commas). */
  name: string;
  spec: Partial<EmbedSpec>;
}

export const EMBED_VARIANTS: readonly EmbedVariant[] = [
  { name: 'concat-pca', spec: { strategy: 'concat-pca' } },
  { name: 'per-modality-pca', spec: { strategy: 'per-modality-pca' } },
  { name: 'concat-pca + whiten after', spec: { strategy: 'concat-pca', content: { whiten: 'after' } } },
  { name: 'per-modality-pca + whiten after', spec: { strategy: 'per-modality-pca', content: { whiten: 'after' } } },
  { name: 'whiten before (256 per modality) + concat-pca', spec: { strategy: 'concat-pca', content: { whiten: 'before', whitenDim: 256 } } },
  { name: 'title only (hashed TF-IDF)', spec: { strategy: 'concat-pca', modalities: ['title'] } },
  {
    name: 'per-modality-pca text+image+title',
    spec: { strategy: 'per-modality-pca', modalities: ['text', 'image', 'title'], content: { perModalityDims: [48, 48, 32] } },
  },
  { name: 'word2vec', spec: { strategy: 'word2vec' } },
  { name: 'fuse weighted: concat-pca + word2vec', spec: { strategy: 'fuse', fusion: { mode: 'weighted' } } },
  {
    name: 'fuse weighted: per-modality-pca + word2vec',
    spec: { strategy: 'fuse', content: { reduction: 'per-modality-pca' }, fusion: { mode: 'weighted' } },
  },
  { name: 'fuse concat-pca: concat-pca + word2vec', spec: { strategy: 'fuse', fusion: { mode: 'concat-pca' } } },
  {
    name: 'fuse concat-pca: per-modality-pca + word2vec',
    spec: { strategy: 'fuse', content: { reduction: 'per-modality-pca' }, fusion: { mode: 'concat-pca' } },
  },
];
