/**
 * Training and prediction speed of the REAL models: `createModel` + the trainer's step (`lossAndGradients`, then the
 * project's `Adam` with the default L2 and clipping, as `train` does it) on synthetic batches drawn through
 * `iterateBatches`, with a full-size random item table (91,718 rows incl. padding, 11,740 tags, 128-d vectors).
 *
 * Configurations (one child process each, so memory and kernels do not interfere):
 * - `dinBaseline`: the challenge baseline (history 64, attention [512,256], DNN [1024,512,256], BN, dropout 0.1),
 *   batch 1024; reference PyTorch 1.13 CPU on this machine: 318 samples/s;
 * - `dinBaselineSmallShapes`: dinBaseline with history 50, attention [80,40], DNN [200,80]; reference 973 samples/s;
 * - every model's small preset, batch 1024, history 64;
 * - `predict-dinBaseline` / `predict-dinSmall`: `predict` (inference mode) at batch 8192, rows/s.
 * Histories are left-padded, most rows holding 3–20 valid items. Figures: median (and best) of the timed steps after
 * 2 warm-up steps. Rewrites bench/results/train.{md,json}.
 *
 *   npm run bench:train                                   everything (~5 min on 2 idle cores)
 *   node --import tsx bench/train.ts --quick              3 timed steps per configuration
 *   node --import tsx bench/train.ts --only dinBaseline,dinSmall,predict-dinSmall --backend wasm
 *   flags: --steps N  --warmup N  --quick  --only a,b  --backend <tensorflow-gpu|tensorflow|native|wasm|cpu>
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { MICROLENS_DIMS } from '../src/data/schema';
import { iterateBatches, type Batch } from '../src/data/batches';
import { parseBackendName, selectBackend } from '../src/engine/backend';
import { isBackendMemoryError } from '../src/engine/memoryErrors';
import { predict } from '../src/eval/predict';
import { MODEL_NAMES, createModel, describeModels, presetArgs, type ModelArgsMap } from '../src/models/registry';
import type { CtrModel, ItemTable, ModelName } from '../src/models/types';
import { Adam } from '../src/train/adam';
import { DEFAULT_TRAIN_CONFIG } from '../src/train/config';
import { lossAndGradients } from '../src/train/step';
import { trainingVariables } from '../src/train/variables';
import { seedRandomOps } from '../src/util/opSeeds';
import { argValue, hasFlag, loadAverage, median, onlyList, printResult, runChild } from './lib/benchUtil';
import { ITEM_ROWS, TAG_VOCAB, randomItemTable, randomSplit } from './lib/syntheticTrain';
import { writeResults, type Row } from './lib/results';

interface BenchConfig {
  id: string;
  kind: 'train' | 'predict';
  model: ModelName;
  preset: string;
  /** Args over the preset (recorded in the table). */
  overrides?: Record<string, unknown>;
  batch: number;
  hist: number;
  /** Reference samples/s (PyTorch 1.13 CPU, this machine). */
  reference?: number;
}

const CONFIGS: BenchConfig[] = [
  { id: 'dinBaseline', kind: 'train', model: 'din', preset: 'dinBaseline', batch: 1024, hist: 64, reference: 318 },
  {
    id: 'dinBaselineSmallShapes',
    kind: 'train',
    model: 'din',
    preset: 'dinBaseline',
    overrides: { attentionUnits: [80, 40], dnnUnits: [200, 80] },
    batch: 1024,
    hist: 50,
    reference: 973,
  },
  ...describeModels().map((d): BenchConfig => ({ id: d.smallPreset, kind: 'train', model: d.name, preset: d.smallPreset, batch: 1024, hist: MICROLENS_DIMS.modelSeqLen })),
  { id: 'predict-dinBaseline', kind: 'predict', model: 'din', preset: 'dinBaseline', batch: 8192, hist: MICROLENS_DIMS.modelSeqLen },
  { id: 'predict-dinSmall', kind: 'predict', model: 'din', preset: 'dinSmall', batch: 8192, hist: MICROLENS_DIMS.modelSeqLen },
];

interface ChildResult {
  id: string;
  backendLine: string;
  params: number;
  /** Milliseconds per timed step (train) or per `predict` call over `predictBatches` batches. */
  stepsMs: number[];
  /** Process CPU time (user + system, all threads) per timed step: less sensitive to other processes. */
  cpuMs: number[];
  rowsPerStep: number;
  firstLoss: number | null;
  lastLoss: number | null;
  /** tf.memory().numTensors after the timed steps minus before (a leak shows as growth). */
  tensorGrowth: number;
  buildMs: number;
}

function buildModel(c: BenchConfig, table: ItemTable): CtrModel {
  const args = { ...(presetArgs(c.model, c.preset) as object), ...(c.overrides ?? {}) } as ModelArgsMap[typeof c.model];
  return createModel(c.model, args, table, { seed: 7 });
}

async function child(id: string, steps: number, warmup: number, backend: string | undefined, batchOverride?: number): Promise<ChildResult> {
  const found = CONFIGS.find((x) => x.id === id);
  if (!found) throw new Error(`unknown configuration ${id}`);
  const c = batchOverride ? { ...found, batch: batchOverride } : found;
  const info = await selectBackend(backend ? { force: parseBackendName(backend, '--backend'), forceLabel: '--backend', quiet: true } : { quiet: true });
  const t0 = performance.now();
  const table = randomItemTable(11);
  const model = buildModel(c, table);
  const buildMs = performance.now() - t0;
  const stepsMs: number[] = [];
  const cpuMs: number[] = [];
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let tensorsBefore = 0;

  if (c.kind === 'train') {
    // As `train` sets it up: trainable = embedding tables then the rest, named as in namedWeights(), L2 per group.
    const cfg = DEFAULT_TRAIN_CONFIG;
    const { trainable, names, l2 } = trainingVariables(model, cfg);
    const adam = new Adam(trainable, names, cfg);
    // Four distinct batches, cycled; each is copied out of the iterator (it reuses its buffers).
    const split = randomSplit(4 * c.batch, c.hist, 13);
    const batches: Batch[] = [];
    for (const b of iterateBatches(split, { batchSize: c.batch })) {
      batches.push({ ...b, rows: b.rows.slice(), userId: b.userId.slice(), itemId: b.itemId.slice(), likesLevel: b.likesLevel.slice(), viewsLevel: b.viewsLevel.slice(), itemSeq: b.itemSeq.slice(), label: b.label ? b.label.slice() : null });
    }
    const step = async (i: number): Promise<number> => {
      seedRandomOps(`bench/step/${i}`);
      const out = (() => {
        try {
          return lossAndGradients(model, batches[i % batches.length], trainable, names);
        } finally {
          seedRandomOps(null);
        }
      })();
      try {
        const loss = (await out.loss.data())[0];
        await adam.apply(out.grads, { learningRate: cfg.learningRate, l2, maxGradNorm: cfg.maxGradNorm });
        return loss;
      } finally {
        tf.dispose([out.loss, ...out.grads]);
      }
    };
    for (let i = 0; i < warmup; i++) {
      const loss = await step(i);
      firstLoss ??= loss;
    }
    tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < steps; i++) {
      const c = process.cpuUsage();
      const s = performance.now();
      lastLoss = await step(warmup + i);
      stepsMs.push(performance.now() - s);
      const cu = process.cpuUsage(c);
      cpuMs.push((cu.user + cu.system) / 1000);
      firstLoss ??= lastLoss;
    }
    adam.dispose();
  } else {
    const split = randomSplit(c.batch, c.hist, 17);
    for (let i = 0; i < warmup; i++) await predict(model, split, { batchSize: c.batch });
    tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < steps; i++) {
      const cu0 = process.cpuUsage();
      const s = performance.now();
      await predict(model, split, { batchSize: c.batch });
      stepsMs.push(performance.now() - s);
      const cu = process.cpuUsage(cu0);
      cpuMs.push((cu.user + cu.system) / 1000);
    }
  }
  const tensorGrowth = tf.memory().numTensors - tensorsBefore;
  const params = model.paramCount();
  model.dispose();
  return { id, backendLine: info.line, params, stepsMs, cpuMs, rowsPerStep: c.batch, firstLoss, lastLoss, tensorGrowth, buildMs };
}

/** What a failed child reports instead of a result (one line; the wasm loader would otherwise print its source). */
interface ChildFailure {
  error: string;
  outOfMemory: boolean;
}

if (hasFlag('--child')) {
  const steps = Number(argValue('--steps'));
  const warmup = Number(argValue('--warmup'));
  const batch = argValue('--batch');
  try {
    printResult(await child(argValue('--config')!, steps, warmup, argValue('--backend'), batch ? Number(batch) : undefined));
  } catch (err) {
    const failure: ChildFailure = { error: (err as Error).message.split('\n')[0], outOfMemory: isBackendMemoryError(err) || /memory access out of bounds|out of memory/i.test(String(err)) };
    printResult(failure);
  }
  // The wasm module keeps the event loop alive and rethrows from its own handlers: leave now.
  process.exit(0);
} else {
  const quick = hasFlag('--quick');
  const steps = Number(argValue('--steps') ?? (quick ? 3 : 7));
  const warmup = Number(argValue('--warmup') ?? 2);
  const backend = argValue('--backend');
  const only = onlyList();
  if (only) {
    const unknown = only.filter((id) => !CONFIGS.some((c) => c.id === id));
    if (unknown.length) throw new Error(`--only: unknown configuration(s) ${unknown.join(', ')} (known: ${CONFIGS.map((c) => c.id).join(', ')})`);
  }
  const selected = CONFIGS.filter((c) => !only || only.includes(c.id));
  const rows: Row[] = [];
  const notes: string[] = [];
  const backendLines = new Set<string>();
  const loadBefore = loadAverage();
  console.log(`models: ${MODEL_NAMES.join(', ')}; ${selected.length} configurations, ${warmup} warm-up + ${steps} timed steps each; load ${loadBefore}`);
  for (const c of selected) {
    const load = loadAverage();
    // Out of memory (the wasm heap holds 4 GiB): retry in a fresh process at half the batch, down to 128 rows.
    let batch = c.batch;
    let r: ChildResult | null = null;
    for (;;) {
      const res = runChild<ChildResult | ChildFailure>('bench/train.ts', ['--child', '--config', c.id, '--steps', String(steps), '--warmup', String(warmup), '--batch', String(batch), ...(backend ? ['--backend', backend] : [])]);
      const out = 'result' in res ? res.result : { error: res.error, outOfMemory: false };
      if (!('error' in out)) {
        r = out;
        break;
      }
      const failure = out;
      console.log(`${c.id} at batch ${batch}: FAILED ${failure.error}`);
      if (failure.outOfMemory && batch > 128) {
        notes.push(`${c.id}: out of memory at batch ${batch} (${failure.error.slice(0, 160)}); retried at batch ${batch / 2}.`);
        batch /= 2;
        continue;
      }
      notes.push(`${c.id} failed at batch ${batch}: ${failure.error}`);
      break;
    }
    if (!r) continue;
    backendLines.add(r.backendLine);
    const ms = median(r.stepsMs);
    const perS = (r.rowsPerStep / ms) * 1000;
    const best = (r.rowsPerStep / Math.min(...r.stepsMs)) * 1000;
    const row: Row = {
      config: c.id,
      kind: c.kind,
      model: c.model,
      preset: c.preset + (c.overrides ? ` + ${JSON.stringify(c.overrides)}` : ''),
      params: r.params,
      batch: batch === c.batch ? c.batch : `${batch} (${c.batch}: out of memory)`,
      history: c.hist,
      'ms/step (median)': Math.round(ms),
      'CPU ms/step (median)': Math.round(median(r.cpuMs)),
      [c.kind === 'train' ? 'samples/s' : 'rows/s']: Math.round(perS),
      'best step /s': Math.round(best),
      reference: c.reference ?? '',
      ratio: c.reference ? Number((perS / c.reference).toFixed(2)) : '',
      met: c.reference ? (perS >= c.reference ? 'met' : 'NOT met') : '',
      'loss first→last': r.firstLoss !== null ? `${r.firstLoss.toFixed(4)}→${r.lastLoss!.toFixed(4)}` : '',
      'tensor growth': r.tensorGrowth,
      'load (1 min)': load.split(' ')[0],
    };
    console.log(`${c.id}: ${Math.round(perS)} ${c.kind === 'train' ? 'samples' : 'rows'}/s (median of ${r.stepsMs.length}: ${r.stepsMs.map((x) => Math.round(x)).join(' ')} ms; CPU ${r.cpuMs.map((x) => Math.round(x)).join(' ')} ms)${c.reference ? ` — reference ${c.reference}, ratio ${(perS / c.reference).toFixed(2)}, ${perS >= c.reference ? 'met' : 'NOT met'}` : ''}; load ${load}`);
    rows.push(row);
  }
  // With --only, the other configurations' rows of the previous bench/results/train.json are kept (marked).
  const previous = only && fs.existsSync('bench/results/train.json') ? (JSON.parse(fs.readFileSync('bench/results/train.json', 'utf8')) as { rows: Row[]; machine?: { date?: string } }) : null;
  if (previous) {
    for (const old of previous.rows) {
      if (rows.some((r) => r.config === old.config)) continue;
      const cfg = CONFIGS.find((c) => c.id === old.config);
      if (!cfg) continue;
      rows.push({ ...old, kind: cfg.kind, measured: old.measured && old.measured !== 'this run' ? old.measured : `earlier run (${previous.machine?.date ?? '?'})` });
    }
    for (const r of rows) r.measured ??= 'this run';
    rows.sort((a, b) => CONFIGS.findIndex((c) => c.id === a.config) - CONFIGS.findIndex((c) => c.id === b.config));
    notes.push(`Run with --only ${(only ?? []).join(',')}: rows of other configurations are kept from the previous results file (column "measured").`);
  }
  const trainRows = rows.filter((r) => r.kind === 'train');
  for (const r of rows) delete r.kind;
  writeResults({
    name: 'train',
    title: 'Training samples/s and prediction rows/s of the real models (synthetic batches, full-size item table)',
    command: `node --import tsx bench/train.ts ${process.argv.slice(2).join(' ')}`.trim(),
    rows: [...trainRows, ...rows.filter((r) => !trainRows.includes(r))],
    notes: [
      ...[...backendLines].map((l) => `Backend: ${l}`),
      `Step = createModel + lossAndGradients + Adam.apply (default L2 1e-6 on embedding tables, clip at norm 10), as \`train\` runs it; ${warmup} warm-up steps, then the median of ${steps} timed steps. Prediction = \`predict\` over one batch of 8192 rows (inference mode).`,
      `Data: random item table ${ITEM_ROWS.toLocaleString('en-US')} rows (tags 1–5 per item, vocabulary ${TAG_VOCAB.toLocaleString('en-US')}; 128-d random vectors); batches with left-padded histories, 80 % of rows holding 3–20 valid items.`,
      'References: PyTorch 1.13 CPU on the same 2-core machine: dinBaseline 318 samples/s; dinBaseline with history 50, attention [80,40], DNN [200,80]: 973 samples/s. `met` judges the median.',
      `Load average (1/5/15 min) before: ${loadBefore}; after: ${loadAverage()}. Other processes on the 2 cores lower the figures; "best step /s" is the least disturbed step. "CPU ms/step" is the process's CPU time (all threads) per step: with both cores free a step takes about half of it (the kernels run on both).`,
      ...notes,
    ],
  });
}
