/**
 * `synthesize`: synthetic MicroLens_1M_x1 data with the real schema and a known ground truth.
 *
 * Layout written under `outDir` (the same as a real data root, plus `oracle/`):
 * ```
 * MicroLens_1M_x1/{train,valid,test,item_info}.parquet
 * {item_feature,item_emb,item_seq}.parquet
 * oracle/{valid,test}_truth.parquet   true click probability per row (+ what produced it)
 * oracle/item_truth.parquet           topic, community, popularity, bias, latent of every item
 * oracle/user_truth.parquet           interests and sequence length of every user
 * oracle/ground_truth.json            seed, scale, sizes, planted parameters, oracle AUCs, diagnostics
 * ```
 * Conventions: every stored history (train/valid/test `item_seq` and item_seq.parquet) is a list of exactly 100
 * int64 ids, left-padded with 0, newest item rightmost. test.parquet has `ID` = 0..N−1 and no label.
 * Same seed + scale (+ overrides) → the same bytes in every file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rng } from '../../util/rng';
import { progress, type Progress } from '../../util/progress';
import { peakRssMiB, releaseMemory } from '../../util/memory';
import type { WriteTableResult } from '../write';
import { exactAuc } from './auc';
import { drawLabels, logitsWithoutIntercept, probabilities, scoreRows, solveIntercept } from './clicks';
import {
  DEFAULT_SYNTH_SEED,
  resolveSynthConfig,
  sizeOverridesOf,
  type SynthConfig,
  type SynthOverrides,
  type SynthScale,
  type SynthSizes,
} from './config';
import type { SplitEval } from './diagnostics';
import { makeContent, makeItems, makeItemVectors, type ItemContent } from './items';
import { groundTruthDocument, mean, round, roundDeep, synthDiagnostics, type SynthDiagnostics } from './report';
import { checkRowSupply, drawTargets, selectEvalRows, selectPrefixRows, shuffleRows } from './rows';
import { TableWriter } from './tables';
import { drawSeqOffsets, makeUsers } from './users';

export * from './config';
export type { ProxyAucs, LengthStats } from './diagnostics';
export type { RetrievalDiagnostics, SynthDiagnostics } from './report';
export { exactAuc };

export interface SynthOptions {
  /** Data root to write into (created if missing); existing files of the same names are replaced. */
  outDir: string;
  scale: SynthScale;
  /** Root seed. Default 20242025. */
  seed?: number;
  /** Changes to the scale's sizes and planted parameters. Default none. */
  overrides?: SynthOverrides;
  /** Print progress lines to stderr. Default true. */
  progress?: boolean;
  /** Skip the nearest-neighbour and co-occurrence diagnostics (the AUC checks always run). Default false. */
  skipRetrievalDiagnostics?: boolean;
}

export interface SynthReport {
  outDir: string;
  scale: SynthScale;
  seed: number;
  sizes: SynthSizes;
  /** The sizes that differ from the scale's fixed ones (empty when none). */
  sizeOverrides: Partial<SynthSizes>;
  config: SynthConfig;
  /** Intercept b0 of the click logit. */
  intercept: number;
  positiveRate: { train: number; valid: number; test: number };
  meanP: { train: number; valid: number; test: number };
  oracleAuc: { valid: number; test: number };
  diagnostics: SynthDiagnostics;
  files: WriteTableResult[];
  /** Seconds per step. */
  timings: Record<string, number>;
  /** Peak RSS of the process (MiB) at the end of each step: the step that raised it is where memory peaked. */
  peakRssByStep: Record<string, number>;
  totalSeconds: number;
  peakRssMiB: number;
}

export async function synthesize(opts: SynthOptions): Promise<SynthReport> {
  const t0 = performance.now();
  const seed = opts.seed ?? DEFAULT_SYNTH_SEED;
  const cfg = resolveSynthConfig(opts.scale, opts.overrides);
  const silent = opts.progress === false;
  const prog = (label: string, total?: number, unit = 'rows'): Progress => progress({ label, total, unit, silent });
  const timings: Record<string, number> = {};
  const peakByStep: Record<string, number> = {};
  let tStep = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    timings[name] = round((t - tStep) / 1000, 3);
    peakByStep[name] = Math.round(peakRssMiB());
    tStep = t;
  };
  const root = rng(seed);
  const S = cfg.sizes;
  // Overridden sizes must be suppliable by the users' sequences: checked before any work (lengths are a cheap stream).
  const sizeOverrides = sizeOverridesOf(cfg);
  const overridden = new Set(Object.keys(sizeOverrides) as (keyof SynthSizes)[]);
  if (overridden.size > 0) checkRowSupply(S, drawSeqOffsets(cfg, root), overridden, cfg.scale);
  const writer = new TableWriter(opts.outDir, { numItems: S.numItems, numTags: S.numTags, numUsers: S.numUsers });
  mkdirSync(opts.outDir, { recursive: true });

  // Items and their content views.
  const items = makeItems(cfg, root);
  lap('items');
  let content: ItemContent | null = makeContent(cfg, items, root, prog('item embeddings', items.n, 'items'));
  lap('itemEmbeddings');
  const pGram = prog('PCA gram', items.n, 'items');
  // Started with the first projected rows, so that its rate and ETA exclude the eigensolves.
  const proj: { p?: Progress } = {};
  const vectors = makeItemVectors(content, cfg.embeddings.pcaDim, {
    onGramRows: (r) => pGram.update(r),
    onProjectRows: (r) => (proj.p ??= prog('PCA projections', 3 * items.n, 'items')).update(r),
  });
  pGram.done();
  proj.p?.done();
  lap('pca');
  await writer.itemFeature(items, content, prog('write item_feature', items.n, 'items'));
  content = null;
  await writer.itemInfo(items, vectors);
  await writer.itemEmb(items, vectors);
  await writer.itemTruth(items);
  await releaseMemory();
  lap('writeItems');

  // Users, sequences, rows, targets.
  const users = makeUsers(cfg, items, root, prog('user sequences', S.numUsers, 'users'));
  lap('users');
  const seqRows = selectPrefixRows(users, S.itemSeqRows, 0, root.fork('rows/item_seq'));
  const trainRows = selectPrefixRows(users, S.trainRows, 1, root.fork('rows/train'));
  shuffleRows(trainRows, root.fork('rows/train-order'));
  const evalRows = selectEvalRows(users, S.validRows, S.testRows, root.fork('rows/eval'));
  drawTargets(cfg, items, users, trainRows, root.fork('targets/train'));
  drawTargets(cfg, items, users, evalRows.valid, root.fork('targets/valid'));
  drawTargets(cfg, items, users, evalRows.test, root.fork('targets/test'));
  lap('rows');

  // Clicks: scores, intercept on train, probabilities, labels.
  const scores = {
    train: scoreRows(cfg, items, users, trainRows),
    valid: scoreRows(cfg, items, users, evalRows.valid),
    test: scoreRows(cfg, items, users, evalRows.test),
  };
  const z = {
    train: logitsWithoutIntercept(cfg, scores.train),
    valid: logitsWithoutIntercept(cfg, scores.valid),
    test: logitsWithoutIntercept(cfg, scores.test),
  };
  const b0 = solveIntercept(z.train, cfg.clicks.positiveRate);
  const split = (name: 'train' | 'valid' | 'test', rows: typeof trainRows): SplitEval => {
    const p = probabilities(z[name], b0);
    return { rows, scores: scores[name], p, labels: drawLabels(p, root.fork(`labels/${name}`)) };
  };
  const train = split('train', trainRows);
  const valid = split('valid', evalRows.valid);
  const test = split('test', evalRows.test);
  lap('clicks');

  const diagnostics = synthDiagnostics({
    cfg,
    items,
    users,
    vectors,
    seqRows,
    train,
    valid,
    test,
    root,
    retrieval: !opts.skipRetrievalDiagnostics,
  });
  lap('diagnostics');

  // Sequence and interaction tables, oracle files.
  await writer.itemSeq(users, seqRows, prog('write item_seq', seqRows.rows));
  await writer.interactions('train', items, users, train, prog('write train', train.rows.rows));
  await writer.interactions('valid', items, users, valid);
  await writer.interactions('test', items, users, test, prog('write test', test.rows.rows));
  await writer.truth('valid', items, valid, z.valid, b0);
  await writer.truth('test', items, test, z.test, b0);
  await writer.userTruth(users);
  lap('writeRows');

  const positiveRate = roundDeep({ train: mean(train.labels), valid: mean(valid.labels), test: mean(test.labels) });
  const meanP = roundDeep({ train: mean(train.p), valid: mean(valid.p), test: mean(test.p) });
  const oracleAuc = { valid: diagnostics.auc.valid.oracle, test: diagnostics.auc.test.oracle };
  const groundTruth = groundTruthDocument({
    seed,
    cfg,
    intercept: b0,
    oracleAuc,
    positiveRate,
    meanP,
    diagnostics,
    files: writer.written,
  });
  const gtPath = path.join(opts.outDir, 'oracle', 'ground_truth.json');
  mkdirSync(path.dirname(gtPath), { recursive: true });
  writeFileSync(gtPath, JSON.stringify(groundTruth, null, 2) + '\n');
  lap('groundTruth');
  await releaseMemory();
  return {
    outDir: opts.outDir,
    scale: cfg.scale,
    seed,
    sizes: S,
    sizeOverrides,
    config: cfg,
    intercept: b0,
    positiveRate,
    meanP,
    oracleAuc,
    diagnostics,
    files: writer.written,
    timings,
    peakRssByStep: peakByStep,
    totalSeconds: round((performance.now() - t0) / 1000, 3),
    peakRssMiB: Math.round(peakRssMiB()),
  };
}
