/**
 * What the generator reports about its own output: the diagnostics of the planted signal (also written to
 * oracle/ground_truth.json) and the ground-truth document itself.
 */
import type { Rng } from '../../util/rng';
import { MICROLENS_DIMS } from '../schema';
import { exactAuc } from './auc';
import { logitsWithoutIntercept, scoreRows } from './clicks';
import { sizeOverridesOf, type SynthConfig } from './config';
import {
  chancePrecision,
  cooccurrenceSketch,
  historyLengthStats,
  latentsFromEmbedding,
  neighbourPrecision,
  pickQueries,
  proxyAucs,
  topicMeanLatents,
  trainTables,
  type LengthStats,
  type ProxyAucs,
  type SplitEval,
} from './diagnostics';
import { ITEM_VECTOR_DERIVATIONS, type ItemTruth, type ItemVectors } from './items';
import { MIN_PREFIX, type RowSet } from './rows';
import type { UserTruth } from './users';

/** How well topics and communities can be recovered from item vectors (nearest-neighbour precision@k). */
export interface RetrievalDiagnostics {
  queries: number;
  k: number;
  topic: { itemEmbD128: number; text: number; image: number; balanced: number; trueLatent: number; chance: number };
  community: { itemEmbD128: number; cooccurrence: number; trueLatent: number; chance: number };
  /** Co-occurrence sketch: users used, sketch width, how queries were picked. */
  cooccurrence: { users: number; dim: number; queryMinOccurrences: number };
}

export interface SynthDiagnostics {
  auc: { train: ProxyAucs; valid: ProxyAucs; test: ProxyAucs };
  retrieval: RetrievalDiagnostics | null;
  /** Share of variance kept by the 128 PCA axes. */
  pcaExplained: ItemVectors['explained'];
  /** R² of the ridge read-out of the true latent from item_emb_d128 (see ProxyAucs.latentFromItemEmb). */
  latentR2FromItemEmb: number;
  historyLength: { itemSeq: LengthStats; train: LengthStats; valid: LengthStats; test: LengthStats };
  /** Share of rows whose target came from the user's interests. */
  targetFromInterest: { train: number; valid: number; test: number };
}

export const round = (x: number, d = 6) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);

export function roundDeep<T>(x: T): T {
  if (typeof x === 'number') return round(x) as T;
  if (Array.isArray(x)) return x.map(roundDeep) as T;
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, roundDeep(v)])) as T;
  return x;
}

export const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length ? s / a.length : Number.NaN;
};

export interface DiagnosticsInput {
  cfg: SynthConfig;
  items: ItemTruth;
  users: UserTruth;
  vectors: ItemVectors;
  seqRows: RowSet;
  train: SplitEval;
  valid: SplitEval;
  test: SplitEval;
  root: Rng;
  /** Run the nearest-neighbour and co-occurrence checks. */
  retrieval: boolean;
}

export function synthDiagnostics(inp: DiagnosticsInput): SynthDiagnostics {
  const { cfg, items, users, vectors, seqRows, train, valid, test, root } = inp;
  const trainRows = train.rows;
  const evalRows = { valid: valid.rows, test: test.rows };
  const tables = trainTables(items, train);
  const auc = {
    train: proxyAucs(cfg.clicks.betaHistory, items, train, tables),
    valid: proxyAucs(cfg.clicks.betaHistory, items, valid, tables),
    test: proxyAucs(cfg.clicks.betaHistory, items, test, tables),
  };
  // How far knowledge short of the true latents gets: topic means only, or a linear read-out of item_emb_d128.
  const groupZ = topicMeanLatents(items, cfg.items.numTopics);
  const fromEmb = latentsFromEmbedding(items, vectors.concat, cfg.embeddings.pcaDim);
  for (const [name, sp] of [['valid', valid], ['test', test]] as const) {
    const withZ = (zu: Float32Array) =>
      exactAuc(sp.labels, logitsWithoutIntercept(cfg, scoreRows(cfg, items, users, sp.rows, zu)));
    auc[name].groupLevel = withZ(groupZ);
    auc[name].latentFromItemEmb = withZ(fromEmb.zUnit);
  }
  let retrieval: RetrievalDiagnostics | null = null;
  if (inp.retrieval) {
    const d = cfg.diagnostics;
    const minOcc = 5;
    const co = cooccurrenceSketch(items, users, d.cooccurUsers, d.cooccurDim, root.fork('diagnostics/sketch'));
    const queries = pickQueries(co.occurrences, d.nnQueries, minOcc, root.fork('diagnostics/queries'));
    const k = d.nnK;
    const P = (emb: Float32Array, dim: number, label: Int32Array) => round(neighbourPrecision(emb, dim, label, queries, k), 4);
    const E = cfg.embeddings.pcaDim;
    const D = items.latentDim;
    const latent = items.z.subarray(D);
    retrieval = {
      queries: queries.length,
      k,
      topic: {
        itemEmbD128: P(vectors.concat, E, items.topic),
        text: P(vectors.text, E, items.topic),
        image: P(vectors.image, E, items.topic),
        balanced: P(vectors.balanced, E, items.topic),
        trueLatent: P(latent, D, items.topic),
        chance: round(chancePrecision(items.topic, items.topicItems, queries), 4),
      },
      community: {
        itemEmbD128: P(vectors.concat, E, items.community),
        cooccurrence: P(co.sketch, d.cooccurDim, items.community),
        trueLatent: P(latent, D, items.community),
        chance: round(chancePrecision(items.community, items.communityItems, queries), 4),
      },
      cooccurrence: { users: Math.min(users.n, d.cooccurUsers), dim: d.cooccurDim, queryMinOccurrences: minOcc },
    };
  }
  return roundDeep({
    auc,
    retrieval,
    pcaExplained: vectors.explained,
    latentR2FromItemEmb: fromEmb.r2,
    historyLength: {
      itemSeq: historyLengthStats(seqRows),
      train: historyLengthStats(trainRows),
      valid: historyLengthStats(evalRows.valid),
      test: historyLengthStats(evalRows.test),
    },
    targetFromInterest: {
      train: mean(trainRows.fromInterest),
      valid: mean(evalRows.valid.fromInterest),
      test: mean(evalRows.test.fromInterest),
    },
  });
}

export interface GroundTruthInput {
  seed: number;
  cfg: SynthConfig;
  intercept: number;
  oracleAuc: { valid: number; test: number };
  positiveRate: { train: number; valid: number; test: number };
  meanP: { train: number; valid: number; test: number };
  diagnostics: SynthDiagnostics;
  files: { path: string; rows: number }[];
}

/** The content of oracle/ground_truth.json (no timings or paths: it must be byte-for-byte reproducible). */
export function groundTruthDocument(g: GroundTruthInput) {
  const { seed, cfg, oracleAuc, positiveRate, meanP, diagnostics } = g;
  const S = cfg.sizes;
  const b0 = g.intercept;
  return {
    format: 'mmctr-synth/1',
    seed,
    scale: cfg.scale,
    sizes: S,
    // Only when some size differs from the scale's, so the fixed scales' files keep their bytes.
    ...(Object.keys(sizeOverridesOf(cfg)).length > 0 ? { sizeOverrides: sizeOverridesOf(cfg) } : {}),
    conventions: {
      storedSeqLen: MICROLENS_DIMS.storedSeqLen,
      padding: 'every stored history is exactly 100 int64 ids, left-padded with 0, newest item rightmost',
      itemSeqRows: `history prefixes of users' sequences of length ≥ ${MIN_PREFIX} (a uniform subset), ordered by (user_id, length)`,
      trainRows: `prefixes t ∈ [${MIN_PREFIX}, L_u − 1] of users' sequences, shuffled; one impression (target, label) each`,
      evalRows: 'the whole sequence t = L_u (later than every train row of the user); valid and test users disjoint while users suffice',
      test: 'ID = 0..N−1 in row order; no label column (labels in oracle/test_truth.parquet)',
      itemInfo: 'row index == item_id; row 0 is padding (zeros); item_tags left-padded with 0 to 5',
      levels: 'likes_level / views_level are deciles (0..9) over items of noisy log popularity (likes: plus item bias); they describe the target item',
    },
    clickModel: {
      formula:
        'p = sigmoid(b0 + betaHistory * LME_tau_h[wContent * cos(z_h, z_x) + wCommunity * (community_h == community_x)] + betaPopularity * popStd_x + bias_x), ' +
        'LME_tau = tau * log(mean_h exp(sim / tau)) over the visible history (≤ 100 newest items)',
      intercept: round(b0, 9),
    },
    itemVectors: ITEM_VECTOR_DERIVATIONS,
    config: cfg,
    oracleAuc,
    positiveRate,
    meanP,
    diagnostics,
    files: g.files.map((f) => ({ path: f.path, rows: f.rows })),
  };
}
