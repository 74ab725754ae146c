/**
 * Sizes and planted parameters of the synthetic MicroLens_1M_x1 generator, written down once.
 *
 * The story the parameters tell (see `../synth/index.ts` for the whole pipeline):
 * - every item has a content latent z ∈ R^latentDim (topic centre + item noise), a community (independent of z and
 *   invisible in text, image, tags and titles), a Zipf popularity and a small per-item bias;
 * - text and image embeddings are two different noisy linear views of overlapping parts of z;
 * - users have 1–4 weighted interests, each a (topic, community) pair; histories are drawn from the interests
 *   (topic pool, community pool, or global popularity), so same-community items co-occur in sequences;
 * - the click logit of (history, target) is b0 + βh · LME_τ(sim(h, target)) + βp · popularity + bias, with
 *   sim = wContent · cos(z_h, z_t) + wCommunity · [same community] and LME_τ a soft maximum over the history.
 */
import { MICROLENS_DIMS, MICROLENS_VOCAB } from '../schema';
import { MmctrError } from '../../errors';

export type SynthScale = 'tiny' | 'small' | 'full';

export const SYNTH_SCALES: readonly SynthScale[] = ['tiny', 'small', 'full'];

/** Default seed (the challenge baseline's seed). */
export const DEFAULT_SYNTH_SEED = 20242025;

export interface SynthSizes {
  /** Items 1..numItems. Full: 91,717. */
  numItems: number;
  /** Tags 1..numTags. Full: 11,739. */
  numTags: number;
  /** Users 1..numUsers. Full: 1,000,000. */
  numUsers: number;
  /** train.parquet rows. Full: 3,600,000. */
  trainRows: number;
  /** valid.parquet rows. Full: 10,000. */
  validRows: number;
  /** test.parquet rows. Full: 379,142. */
  testRows: number;
  /** item_seq.parquet rows. Full: 6,000,000. */
  itemSeqRows: number;
}

export interface ItemParams {
  /** Content topics K. Default 8 / 24 / 32 (tiny / small / full). */
  numTopics: number;
  /** Collaborative communities C (independent of topics, invisible in content). Default 8 / 32 / 64. */
  numCommunities: number;
  /** Dimension of the content latent z. Default 24. */
  latentDim: number;
  /** Std of the topic centres per latent coordinate. Default 1. */
  topicSpread: number;
  /** Std of an item around its topic centre per coordinate. Default 0.75. */
  itemNoise: number;
  /** Gamma shape of the topic and community size weights (larger = more equal sizes). Default 3. */
  groupSizeShape: number;
  /** Zipf exponent of item popularity (pop ∝ (rank + popularityOffset)^−α). Default 0.9. */
  popularityExponent: number;
  /** Rank offset of the Zipf law (flattens the head). Default 5. */
  popularityOffset: number;
  /** Std of the per-item click bias (logit units). Default 0.3. */
  itemBiasSd: number;
  /** P(an item has 1, 2, 3, 4, 5 tags). Default [0.25, 0.3, 0.2, 0.15, 0.1]. */
  tagCountProbs: number[];
  /** P(a tag is taken from the item's topic pool); otherwise uniform over all tags. Default 0.85. */
  tagFromTopic: number;
  /** Zipf exponent of tag popularity inside a topic pool. Default 1. */
  tagZipfExponent: number;
  /** Noise (in units of the log-popularity std) added before binning views_level. Default 0.35. */
  viewsLevelNoise: number;
  /** Weight of the (standardised) item bias in likes_level, beside log popularity. Default 0.5. */
  likesBiasWeight: number;
  /** Noise (in units of the log-popularity std) added before binning likes_level. Default 0.5. */
  likesLevelNoise: number;
}

export interface ModalityParams {
  /** Output width (768 for BERT, 1024 for CLIP RN50). */
  dim: number;
  /** Latent coordinates [from, to) this modality sees. */
  latentRange: [number, number];
  /** Std of the signal part per output coordinate. */
  signalSd: number;
  /** Std of the independent noise per output coordinate. */
  noiseSd: number;
  /** Std of the common offset vector (real embeddings are far from centred). */
  offsetSd: number;
  /** A few coordinates with a large common offset, as in BERT's outlier dimensions: [index, value]. */
  outliers: [number, number][];
}

export interface EmbeddingParams {
  /**
   * txt_emb_BERT. Default: latent [0, 16), signal 0.25, noise 0.55, offset 0.25, outliers at 308 (−4.5) and 381 (2.5):
   * per-coordinate sd ≈ 0.68 around a non-zero mean, like mean-pooled BERT outputs.
   */
  text: ModalityParams;
  /**
   * img_emb_CLIPRN50. Default: latent [8, 24), signal 0.125, noise 0.28, offset 0.08, outlier at 42 (1.8): about half
   * the text's scale, so PCA of the raw concatenation leans on text and per-modality standardisation (e4) helps.
   */
  image: ModalityParams;
  /** Width of item_emb_d128 and the item_emb columns. Default 128. */
  pcaDim: number;
}

export interface UserParams {
  /** P(a user has 1, 2, 3, 4 interests). Default [0.2, 0.35, 0.3, 0.15]. */
  interestCountProbs: number[];
  /** Dirichlet concentration of the interest weights. Default 1. */
  interestConcentration: number;
  /** P(a history item of an interest comes from its topic pool). Default 0.45. */
  fromTopic: number;
  /** P(... from its community pool). Default 0.45. The rest comes from global popularity. */
  fromCommunity: number;
  /** Exponent on popularity when drawing inside a pool or globally (1 = proportional). Default 1. */
  poolPopularityExponent: number;
  /** Shortest user sequence (must be ≥ 4: train prefixes start at 3 and eval uses the whole sequence). Default 4. */
  minSeqLen: number;
  /** Longest user sequence (the stored history keeps the newest 100). Default 120. */
  maxSeqLen: number;
  /** Sequence length = minSeqLen + floor(LogNormal(mu, sigma)), capped. Default mu 1.3. */
  seqLenLogMean: number;
  /** Default sigma 0.95. */
  seqLenLogSd: number;
}

export interface ClickParams {
  /** Weight of cos(z_h, z_t) in the history–target similarity. Default 1.5 (content and community matter about equally). */
  wContent: number;
  /** Weight of [community(h) = community(t)]. Default 1. */
  wCommunity: number;
  /** Temperature of the soft maximum over the history (→0: max; →∞: mean). Default 0.15. */
  temperature: number;
  /** Logit weight of the history match. Default 4. */
  betaHistory: number;
  /** Logit weight of the standardised log popularity of the target. Default 0.3. */
  betaPopularity: number;
  /** P(a target comes from the user's interests); otherwise from global popularity^targetPopExponent. Default 0.5. */
  targetFromInterest: number;
  /** Exponent of popularity for the random targets (flatter than histories). Default 0.5. */
  targetPopExponent: number;
  /** Redraw a target that is already in the visible history (up to 10 times). Default true. */
  avoidHistoryTargets: boolean;
  /** Mean click probability over train rows; the intercept b0 is solved for it. Default 0.25. */
  positiveRate: number;
}

export interface DiagnosticParams {
  /** Items used as nearest-neighbour queries for precision@10. Default 1,000 (tiny: all, full: 400). */
  nnQueries: number;
  /** Neighbours per query. Default 10. */
  nnK: number;
  /** Users whose sequences feed the co-occurrence sketch (the first ones). Default 1,000,000 (all when fewer). */
  cooccurUsers: number;
  /** Width of the random-projection sketch of co-occurrence rows. Default 256. */
  cooccurDim: number;
}

export interface SynthConfig {
  scale: SynthScale;
  sizes: SynthSizes;
  items: ItemParams;
  embeddings: EmbeddingParams;
  users: UserParams;
  clicks: ClickParams;
  diagnostics: DiagnosticParams;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Any subset of the config; arrays replace, objects merge. */
export type SynthOverrides = DeepPartial<Omit<SynthConfig, 'scale'>>;

export class SynthConfigError extends MmctrError {}

/** Overridden sizes the users' sequences cannot supply without repeating rows or sharing valid/test users. */
export class SynthSizeError extends SynthConfigError {
  constructor(
    /** The size asked for, e.g. `trainRows`. */
    readonly size: SynthSizeOverrideKey,
    /** The value asked for (valid + test rows for the evaluation users). */
    readonly asked: number,
    /** The most the sequences can supply. */
    readonly possible: number,
    message: string,
  ) {
    super(message);
  }
}

const SIZES: Record<SynthScale, SynthSizes> = {
  tiny: { numItems: 400, numTags: 60, numUsers: 500, trainRows: 4_000, validRows: 1_000, testRows: 1_000, itemSeqRows: 3_000 },
  small: {
    numItems: 4_000,
    numTags: 500,
    numUsers: 32_000,
    trainRows: 150_000,
    validRows: 10_000,
    testRows: 20_000,
    itemSeqRows: 200_000,
  },
  full: {
    numItems: MICROLENS_VOCAB.numItems,
    numTags: MICROLENS_VOCAB.numTags,
    numUsers: MICROLENS_VOCAB.numUsers,
    trainRows: 3_600_000,
    validRows: 10_000,
    testRows: 379_142,
    itemSeqRows: 6_000_000,
  },
};

/** The fixed sizes of a scale (a copy). */
export function scaleSizes(scale: SynthScale): SynthSizes {
  return { ...SIZES[scale] };
}

/** Sizes that may be overridden on the command line (items and tags stay the scale's), with their flags. */
export type SynthSizeOverrideKey = 'numUsers' | 'trainRows' | 'validRows' | 'testRows' | 'itemSeqRows';

/** `mmctr synth` flag of each overridable size, in the order the flags are listed. */
export const SYNTH_SIZE_FLAGS: Readonly<Record<SynthSizeOverrideKey, string>> = {
  numUsers: '--users',
  trainRows: '--train-rows',
  validRows: '--valid-rows',
  testRows: '--test-rows',
  itemSeqRows: '--item-seq-rows',
};

/** The sizes of a resolved config that differ from its scale's fixed sizes (empty when none does). */
export function sizeOverridesOf(cfg: Pick<SynthConfig, 'scale' | 'sizes'>): Partial<SynthSizes> {
  const base = SIZES[cfg.scale];
  const out: Partial<SynthSizes> = {};
  for (const k of Object.keys(base) as (keyof SynthSizes)[]) if (cfg.sizes[k] !== base[k]) out[k] = cfg.sizes[k];
  return out;
}

function baseConfig(scale: SynthScale): SynthConfig {
  const groups: Record<SynthScale, [number, number]> = { tiny: [8, 8], small: [24, 32], full: [32, 64] };
  const [numTopics, numCommunities] = groups[scale];
  return {
    scale,
    sizes: { ...SIZES[scale] },
    items: {
      numTopics,
      numCommunities,
      latentDim: 24,
      topicSpread: 1,
      itemNoise: 0.75,
      groupSizeShape: 3,
      popularityExponent: 0.9,
      popularityOffset: 5,
      itemBiasSd: 0.3,
      tagCountProbs: [0.25, 0.3, 0.2, 0.15, 0.1],
      tagFromTopic: 0.85,
      tagZipfExponent: 1,
      viewsLevelNoise: 0.35,
      likesBiasWeight: 0.5,
      likesLevelNoise: 0.5,
    },
    embeddings: {
      text: {
        dim: MICROLENS_DIMS.textDim,
        latentRange: [0, 16],
        signalSd: 0.25,
        noiseSd: 0.55,
        offsetSd: 0.25,
        outliers: [
          [308, -4.5],
          [381, 2.5],
        ],
      },
      image: {
        dim: MICROLENS_DIMS.imageDim,
        latentRange: [8, 24],
        signalSd: 0.125,
        noiseSd: 0.28,
        offsetSd: 0.08,
        outliers: [[42, 1.8]],
      },
      pcaDim: MICROLENS_DIMS.itemEmbDim,
    },
    users: {
      interestCountProbs: [0.2, 0.35, 0.3, 0.15],
      interestConcentration: 1,
      fromTopic: 0.45,
      fromCommunity: 0.45,
      poolPopularityExponent: 1,
      minSeqLen: 4,
      maxSeqLen: 120,
      seqLenLogMean: 1.3,
      seqLenLogSd: 0.95,
    },
    clicks: {
      wContent: 1.5,
      wCommunity: 1,
      temperature: 0.15,
      betaHistory: 4,
      betaPopularity: 0.3,
      targetFromInterest: 0.5,
      targetPopExponent: 0.5,
      avoidHistoryTargets: true,
      positiveRate: 0.25,
    },
    diagnostics: {
      nnQueries: scale === 'full' ? 400 : 1_000,
      nnK: 10,
      cooccurUsers: 1_000_000,
      cooccurDim: 256,
    },
  };
}

function merge<T>(base: T, over: unknown, where: string): T {
  if (over === undefined) return base;
  if (Array.isArray(base) || typeof base !== 'object' || base === null) return over as T;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) {
    throw new SynthConfigError(`synth config: ${where} must be an object`);
  }
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    if (!(k in out)) throw new SynthConfigError(`synth config: unknown option ${where ? `${where}.` : ''}${k}`);
    out[k] = merge(out[k], v, where ? `${where}.${k}` : k);
  }
  return out as T;
}

/** The config of a scale with overrides applied and checked. */
export function resolveSynthConfig(scale: SynthScale, overrides?: SynthOverrides): SynthConfig {
  if (!SYNTH_SCALES.includes(scale)) {
    throw new SynthConfigError(`unknown scale '${String(scale)}' (expected ${SYNTH_SCALES.join(', ')})`);
  }
  const cfg = merge(baseConfig(scale), overrides, '');
  validateConfig(cfg);
  return cfg;
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new SynthConfigError(`synth config: ${msg}`);
}

function validateConfig(c: SynthConfig): void {
  const s = c.sizes;
  for (const [k, v] of Object.entries(s)) check(Number.isInteger(v) && v >= 1, `sizes.${k} must be a positive integer, got ${v}`);
  check(s.numItems >= 20, `sizes.numItems must be ≥ 20, got ${s.numItems}`);
  check(s.numTags >= c.items.numTopics, `sizes.numTags (${s.numTags}) must be ≥ items.numTopics (${c.items.numTopics})`);
  check(c.items.numTopics >= 1 && c.items.numCommunities >= 1, 'items.numTopics and items.numCommunities must be ≥ 1');
  check(c.items.tagCountProbs.length >= 1 && c.items.tagCountProbs.length <= MICROLENS_DIMS.itemInfoTags,
    `items.tagCountProbs must have 1..${MICROLENS_DIMS.itemInfoTags} entries`);
  check(c.users.interestCountProbs.length >= 1, 'users.interestCountProbs must not be empty');
  check(c.users.minSeqLen >= 4, `users.minSeqLen must be ≥ 4, got ${c.users.minSeqLen}`);
  check(c.users.maxSeqLen >= c.users.minSeqLen, 'users.maxSeqLen must be ≥ users.minSeqLen');
  check(c.users.fromTopic + c.users.fromCommunity <= 1, 'users.fromTopic + users.fromCommunity must be ≤ 1');
  check(c.clicks.temperature > 0, 'clicks.temperature must be > 0');
  check(c.clicks.positiveRate > 0 && c.clicks.positiveRate < 1, 'clicks.positiveRate must be in (0, 1)');
  for (const m of [c.embeddings.text, c.embeddings.image]) {
    const [a, b] = m.latentRange;
    check(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b <= c.items.latentDim && b > a,
      `embedding latentRange [${a}, ${b}) must lie in [0, ${c.items.latentDim})`);
    for (const [i] of m.outliers) check(i >= 0 && i < m.dim, `outlier index ${i} outside 0..${m.dim - 1}`);
  }
  check(c.embeddings.text.dim === MICROLENS_DIMS.textDim && c.embeddings.image.dim === MICROLENS_DIMS.imageDim,
    'embedding widths are fixed by the schema (768 text, 1024 image)');
  check(c.embeddings.pcaDim === MICROLENS_DIMS.itemEmbDim, `embeddings.pcaDim is fixed to ${MICROLENS_DIMS.itemEmbDim}`);
  check(c.embeddings.pcaDim <= s.numItems - 1, `numItems (${s.numItems}) must exceed pcaDim (${c.embeddings.pcaDim})`);
}
