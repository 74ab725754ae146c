/**
 * Task 1 measurements:
 * 1. PCA of the full-size item table (91,717 × 1,792 → 128) per product engine: seconds and peak RSS (targets
 *    ≤ 60 s on 2 cores, ≤ 4 GB), explained variance;
 * 2. the whole `mmctr embed` (default strategy, fuse) at full scale (91,717 items, 6M item_seq rows): seconds
 *    (target ≤ 600 s) and peak RSS;
 * 3. retrieval against the synthetic ground truth: precision@10 of same-topic (content) and same-community
 *    (collaborative) neighbours for each strategy of bench/lib/embedVariants.ts.
 *
 *   npm run bench:embed
 *   node --import tsx bench/embed.ts [--full data/full] [--small data/small] [--engines native,tfjs,typescript]
 *        [--skip pca,embed,retrieval] [--retrieval-roots data/small,data/full]
 *
 * Steps 1 and 2 run in child processes, so each peak RSS is that step's alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadItemFeatures } from '../src/data/load';
import { selectBackend } from '../src/engine/backend';
import { loadNative } from '../src/engine/native';
import {
  chanceLabelPrecision,
  computeEmbedding,
  createEmbedCache,
  embed,
  explainedVariance,
  fitPcaFast,
  labelPrecision,
  loadEmbedInputs,
  topNeighbours,
  type ProductBackend,
} from '../src/features';
import { setProgressEnabled } from '../src/util/progress';
import { rng } from '../src/util/rng';
import { EMBED_VARIANTS } from './lib/embedVariants';
import { hasItemTruth, readItemTruth } from '../src/data/synth/itemTruthFile';
import { writeResults, type Row } from './lib/results';

const SELF = fileURLToPath(import.meta.url);
const PCA_TARGET_S = 60;
const PCA_TARGET_MIB = 4096;
const EMBED_TARGET_S = 600;

const { values: args } = parseArgs({
  options: {
    full: { type: 'string', default: 'data/full' },
    small: { type: 'string', default: 'data/small' },
    engines: { type: 'string' },
    skip: { type: 'string', default: '' },
    'retrieval-roots': { type: 'string' },
    child: { type: 'string' },
    engine: { type: 'string' },
    out: { type: 'string' },
  },
});

const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Child: PCA of [text ‖ image] of a root on one engine. Prints one JSON line. */
async function childPca(root: string, engine: ProductBackend): Promise<void> {
  if (engine === 'tfjs') await selectBackend({ force: 'wasm', quiet: true });
  let t = performance.now();
  const f = await loadItemFeatures(root, { validate: false });
  const n = f.rows;
  const dt = f.text.cols;
  const di = f.image.cols;
  const d = dt + di;
  const x = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    x.set(f.text.data.subarray(r * dt, (r + 1) * dt), r * d);
    x.set(f.image.data.subarray(r * di, (r + 1) * di), r * d + dt);
  }
  const loadSeconds = (performance.now() - t) / 1000;
  const rssBefore = peakMiB();
  t = performance.now();
  const fit = fitPcaFast({ data: x, rows: n, cols: d }, { k: 128, backend: engine });
  const seconds = (performance.now() - t) / 1000;
  const ev = explainedVariance('text+image', fit.model);
  process.stdout.write(
    JSON.stringify({ engine, rows: n, dim: d, loadSeconds, seconds, parts: fit.seconds, peakMiB: peakMiB(), rssBeforeMiB: rssBefore, kept: ev.kept, firstRatios: ev.ratio.slice(0, 5) }) + '\n',
  );
}

/** Child: the whole embed (default spec) on a root. Prints one JSON line. */
async function childEmbed(root: string, out: string): Promise<void> {
  if (!loadNative()) await selectBackend({ quiet: true });
  const report = await embed({ dataRoot: root, outDir: out, progress: true });
  process.stdout.write(JSON.stringify({ seconds: report.totalSeconds, steps: report.seconds, peakMiB: peakMiB(), description: report.description, backend: report.backend, word2vec: report.word2vec }) + '\n');
}

function runChild(extra: string[]): Record<string, unknown> {
  const text = execFileSync(process.execPath, ['--import', 'tsx', SELF, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const line = text.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, unknown>;
}

const f1 = (x: number) => Math.round(x * 10) / 10;
const f4 = (x: number) => Math.round(x * 1e4) / 1e4;

async function main(): Promise<void> {
  if (args.child === 'pca') return childPca(args.full!, args.engine as ProductBackend);
  if (args.child === 'embed') return childEmbed(args.full!, args.out!);
  const skip = new Set(args.skip!.split(',').filter(Boolean));
  const rows: Row[] = [];
  const notes: string[] = [];
  // Rows of a skipped section are carried over from the previous results file, so one section can be re-measured.
  const previousFile = path.resolve('bench/results/embed.json');
  const previous = existsSync(previousFile) ? (JSON.parse(readFileSync(previousFile, 'utf8')) as { rows: Row[]; machine: { date: string } }) : null;
  const carry = (section: string, prefix: string) => {
    const old = previous?.rows.filter((r) => String(r.measure).startsWith(prefix)) ?? [];
    if (old.length === 0) return;
    rows.push(...old);
    notes.push(`${section}: not re-measured in this run; rows carried over from the previous results (${previous!.machine.date}).`);
  };
  const load = os.loadavg().map((v) => v.toFixed(1)).join(' / ');
  const haveFull = existsSync(path.join(args.full!, 'item_feature.parquet'));

  if (skip.has('pca')) carry('PCA', 'PCA ');
  else {
    if (!haveFull) notes.push(`PCA: ${args.full} has no item_feature.parquet (make it with: node bin/mmctr.mjs synth --scale full)`);
    else {
      const engines = (args.engines ?? ['native', 'tfjs', 'typescript'].join(',')).split(',') as ProductBackend[];
      for (const engine of engines) {
        if (engine === 'native' && !loadNative()) {
          notes.push('PCA on native: the OpenBLAS addon is not built here (node native/build.mjs)');
          continue;
        }
        process.stderr.write(`PCA ${engine}…\n`);
        const m = runChild(['--child', 'pca', '--full', args.full!, '--engine', engine]) as {
          rows: number; dim: number; seconds: number; loadSeconds: number; parts: Record<string, number>; peakMiB: number; kept: number;
        };
        rows.push({
          measure: `PCA ${m.rows} × ${m.dim} → 128`,
          engine,
          seconds: f1(m.seconds),
          detail: `covariance ${f1(m.parts.covariance)} s, eigen ${f1(m.parts.eigen)} s, projection ${f1(m.parts.projection)} s; kept ${(100 * m.kept).toFixed(1)}% of the variance (load ${f1(m.loadSeconds)} s, not counted)`,
          'peak RSS MiB': m.peakMiB,
          target: `≤ ${PCA_TARGET_S} s, ≤ ${PCA_TARGET_MIB} MiB`,
          met: m.seconds <= PCA_TARGET_S && m.peakMiB <= PCA_TARGET_MIB,
        });
      }
    }
  }

  if (skip.has('embed')) carry('embed', 'mmctr embed');
  else {
    if (!haveFull) notes.push(`embed: ${args.full} is missing`);
    else {
      const out = path.resolve('.cache/bench-embed/full');
      rmSync(out, { recursive: true, force: true });
      process.stderr.write('mmctr embed at full scale…\n');
      const m = runChild(['--child', 'embed', '--full', args.full!, '--out', out]) as {
        seconds: number; steps: Record<string, number>; peakMiB: number; description: string; backend: string; word2vec: { threads: number; kernel: string; tokensPerSecond: number };
      };
      rows.push({
        measure: 'mmctr embed (fuse), 91,717 items, 6M item_seq rows',
        engine: `${m.backend} PCA; word2vec ${m.word2vec.kernel} × ${m.word2vec.threads} threads`,
        seconds: f1(m.seconds),
        detail: Object.entries(m.steps).map(([k, v]) => `${k} ${f1(v)} s`).join(', '),
        'peak RSS MiB': m.peakMiB,
        target: `≤ ${EMBED_TARGET_S} s`,
        met: m.seconds <= EMBED_TARGET_S,
      });
      notes.push(`embed built: ${m.description}; word2vec ${Math.round(m.word2vec.tokensPerSecond)} items/s.`);
    }
  }

  if (skip.has('retrieval')) carry('retrieval', 'retrieval');
  else {
    setProgressEnabled(false);
    if (!loadNative()) await selectBackend({ quiet: true });
    const roots = (args['retrieval-roots'] ?? args.small!).split(',');
    for (const root of roots) {
      if (!hasItemTruth(root)) {
        notes.push(`retrieval: ${root} has no oracle/item_truth.parquet (synthetic data only)`);
        continue;
      }
      process.stderr.write(`retrieval on ${root}…\n`);
      const inputs = await loadEmbedInputs(root, { validate: false });
      const truth = readItemTruth(root);
      // Queries: up to 1,000 items seen ≥ 5 times in item_seq (as the generator's diagnostics), seeded.
      const counts = new Int32Array(inputs.numItems + 1);
      for (const v of inputs.sequences!.values) counts[v]++;
      const eligible: number[] = [];
      for (let i = 1; i <= inputs.numItems; i++) if (counts[i] >= 5) eligible.push(i);
      const queries = Int32Array.from(rng('bench-embed/queries').sampleSorted(eligible.length, Math.min(1000, eligible.length)), (j) => eligible[j]);
      const cands = Int32Array.from({ length: inputs.numItems }, (_, i) => i + 1);
      const chanceT = chanceLabelPrecision(queries, truth.topic, cands);
      const chanceC = chanceLabelPrecision(queries, truth.community, cands);
      const cache = createEmbedCache();
      for (const v of EMBED_VARIANTS) {
        const t = performance.now();
        const r = await computeEmbedding(inputs, v.spec, { progress: false, cache });
        const nb = topNeighbours(r.vectors, 128, queries, { k: 10, candidates: cands });
        rows.push({
          measure: `retrieval precision@10 (${path.basename(root)}, ${queries.length} queries)`,
          engine: v.name,
          'topic p@10': f4(labelPrecision(nb, queries, 10, truth.topic)),
          'community p@10': f4(labelPrecision(nb, queries, 10, truth.community)),
          'chance topic / community': `${f4(chanceT)} / ${f4(chanceC)}`,
          seconds: f1((performance.now() - t) / 1000),
          detail: r.explained.map((e) => `${e.name} keeps ${(100 * e.kept).toFixed(1)}%`).join('; '),
        });
      }
      notes.push(
        `Retrieval on ${root}: cosine top-10 among all items; topics are planted in text/image/titles, communities only in item_seq co-occurrence. ` +
          'Seconds include a Word2Vec run the first time a variant needs one (later ones reuse it) and the covariance the first time per modality set.',
      );
    }
  }
  if (rows.some((r) => String(r.measure).startsWith('PCA '))) {
    notes.push('PCA peak RSS is the whole process: the loaded item_feature table (text + image, then the 657 MB concatenation) included. Engines: native = OpenBLAS addon (2 threads), tfjs = wasm backend (SIMD, 1 thread), typescript = src/linalg float64 kernels (1 thread; the fallback when neither runs).');
  }
  // The ablation (bench/embedAblation.ts, a long separate run) is copied in when its results exist.
  const ablationFile = path.resolve('bench/results/embedAblation.json');
  if (existsSync(ablationFile)) {
    const ab = JSON.parse(readFileSync(ablationFile, 'utf8')) as { rows: Row[]; command: string; machine: { date: string } };
    for (const r of ab.rows) {
      rows.push({
        measure: 'ablation: DIN dinSmall valid AUC',
        engine: String(r.strategy),
        'valid AUC': r['valid AUC'],
        'topic p@10': r['topic p@10'],
        'community p@10': r['community p@10'],
        seconds: r['train s'],
        detail: r['AUC per seed'] !== undefined ? `per seed ${r['AUC per seed']}` : '',
      });
    }
    notes.push(`Ablation rows copied from bench/results/embedAblation.md (measured ${ab.machine.date}; \`${ab.command}\`).`);
  } else {
    notes.push('Ablation: not run yet (npm run bench:embed-ablation).');
  }
  notes.push(`Load average (1/5/15 min) at start: ${load} on ${os.availableParallelism()} cores (other work on the machine slows the wall-clock figures).`);
  writeResults({ name: 'embed', title: 'Task 1: item embeddings (PCA at full size, mmctr embed at full scale, retrieval per strategy)', command: 'npm run bench:embed', rows, notes });
}

await main();
