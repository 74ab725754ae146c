/**
 * The tfjs side of the GPU benchmark: trains one model of the zoo for N warm-up + M timed steps on random data of
 * the preset's shapes, through the trainer's own step (`lossAndGradients` in src/train/step.ts, then the project's
 * `Adam` with the default L2 and clipping, as `train` runs it), on the backend `selectBackend` picks
 * (`MMCTR_BACKEND=webgpu` on the GPU machine). Prints one JSON line (`GpuBenchRecord`, see record.ts) on standard
 * output; the backend line and progress go to standard error.
 *
 * Written to be bundled (bench/gpu/pack.mjs → one ESM file beside a copied node binary, `dawn.node` and the wasm
 * binaries): optional packages are loaded through a static table (`bundledImport`), never by a computed specifier,
 * and the wasm binaries are looked up beside the bundle. It also runs from the repo:
 *   node --import tsx bench/gpu/train.ts --model din --batch 64 --warmup 1 --steps 2
 *
 * What a timed step is (the trainer's step, nothing added): the batch's int32 arrays become tensors (uploaded), the
 * forward and backward pass, the loss read back (`await loss.data()`, a sync), Adam's global norm read back (a
 * sync), the update queued. The clock runs over the M timed steps and stops after a final read that waits for the
 * last update; samples/s = batch · M / that time.
 *
 * Flags: --model din|dcnDin (default din)  --preset NAME (default dinBaseline / dcnDinBase)  --batch N (8192)
 *        --seq-len L (64)  --warmup N (3)  --steps M (10)  --max-seconds S (60: stop timing early, ≥ 2 steps;
 *        warm-up stops after S/2, ≥ 1 step)
 *        --batches K (distinct random batches cycled, 4)  --seed N (7)  --wasm-dir DIR (default: wasm/ beside the
 *        bundle when there is one)  --describe (print the model's spec for torch_peer.py and exit)
 *        --profile N (0: after the timed steps, N more steps with every dispatch in a compute pass of its own, timed
 *        by WebGPU timestamp queries (src/engine/webgpuCounters.ts `profileWebGpu`); the record's `profile` holds the
 *        GPU ms per program and the host phases; the timed steps above are not affected)
 *
 * Host phases of every timed step (the record's `phases`, ms per step): `record` (lossAndGradients: host work and
 * the recording of forward + backward), `loss` (await the loss: the GPU finishing them, plus the read), `adam`
 * (Adam's recording, its global-norm read, the update queued), `other` (disposal, seeding); and `firstSubmit`
 * (within `record`: from the step's start to its first queue submit, the host work before the GPU gets any of
 * the step: batch upload, id checks, unique lookup, the forward's recording up to the first flush).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { MICROLENS_DIMS, MICROLENS_VOCAB } from '../../src/data/schema';
import type { Batch } from '../../src/data/batches';
import { selectBackend, type BackendInfo } from '../../src/engine/backend';
import { createModel, isModelName, presetArgs } from '../../src/models/registry';
import type { CtrModel, ItemTable, ModelName } from '../../src/models/types';
import { Adam } from '../../src/train/adam';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/config';
import { lossAndGradients } from '../../src/train/step';
import { trainingVariables } from '../../src/train/variables';
import { seedRandomOps } from '../../src/util/opSeeds';
import { profileWebGpu } from '../../src/engine/webgpuCounters';
import { argValue, mulberry32 } from '../lib/benchUtil';
import { EMB_DIM, ITEM_ROWS, TAG_VOCAB, TAGS, historyLength, randomItemTable } from '../lib/syntheticTrain';
import { machineInfo } from '../lib/results';
import { DEFAULT_PRESETS, RECORD_KIND, type GpuBenchRecord, type GpuProfile, type StepFigures, type StepPhases, stepFigures } from './record';


interface Settings {
  model: ModelName;
  preset: string;
  batch: number;
  seqLen: number;
  warmup: number;
  steps: number;
  maxSeconds: number;
  batches: number;
  seed: number;
  wasmDir?: string;
  /** Profiled steps after the timed ones (0: none). */
  profile: number;
}

function intFlag(name: string, fallback: number, min: number): number {
  const v = argValue(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got '${v}'`);
  return n;
}

function parseSettings(): Settings {
  const model = argValue('--model') ?? 'din';
  if (!isModelName(model)) throw new Error(`--model: unknown model '${model}'`);
  const preset = argValue('--preset') ?? DEFAULT_PRESETS[model] ?? '';
  presetArgs(model, preset); // throws naming the known presets
  const maxSeconds = Number(argValue('--max-seconds') ?? '60');
  if (!(maxSeconds > 0)) throw new Error(`--max-seconds must be > 0`);
  return {
    model,
    preset,
    batch: intFlag('--batch', 8192, 1),
    seqLen: intFlag('--seq-len', MICROLENS_DIMS.modelSeqLen, 1),
    warmup: intFlag('--warmup', 3, 0),
    steps: intFlag('--steps', 10, 1),
    maxSeconds,
    batches: intFlag('--batches', 4, 1),
    seed: intFlag('--seed', 7, 0),
    wasmDir: argValue('--wasm-dir') ?? bundledWasmDir(),
    profile: intFlag('--profile', 0, 0),
  };
}

/** `wasm/` beside this file when it is the bundle (pack.mjs puts the binaries there). */
function bundledWasmDir(): string | undefined {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'wasm');
  return existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm')) ? dir : undefined;
}

/**
 * The optional packages backend.ts may load, as static imports so that esbuild bundles them. Packages the bundle
 * does not carry fail as Node does for a missing package (backend.ts then reports "not installed").
 */
async function bundledImport(specifier: string): Promise<unknown> {
  switch (specifier) {
    case 'webgpu':
      return import('webgpu');
    case '@tensorflow/tfjs-backend-webgpu':
      return import('@tensorflow/tfjs-backend-webgpu');
    case '@tensorflow/tfjs-backend-wasm':
      return import('@tensorflow/tfjs-backend-wasm');
    default: {
      const err = new Error(`Cannot find package '${specifier}' (not in the bundle)`) as Error & { code: string };
      err.code = 'ERR_MODULE_NOT_FOUND';
      throw err;
    }
  }
}

/** One labelled random batch (left-padded histories, newest rightmost). */
function randomBatch(size: number, L: number, index: number, seed: number): Batch {
  const r = mulberry32(seed);
  const itemId = new Int32Array(size);
  const likesLevel = new Int32Array(size);
  const viewsLevel = new Int32Array(size);
  const label = new Float32Array(size);
  const itemSeq = new Int32Array(size * L);
  for (let i = 0; i < size; i++) {
    itemId[i] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
    likesLevel[i] = Math.floor(r() * MICROLENS_VOCAB.numLevels);
    viewsLevel[i] = Math.floor(r() * MICROLENS_VOCAB.numLevels);
    label[i] = r() < 0.3 ? 1 : 0;
    const n = historyLength(r, L);
    for (let j = L - n; j < L; j++) itemSeq[i * L + j] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
  }
  const rows = Int32Array.from({ length: size }, (_, i) => i);
  return { index, size, seqLen: L, rows, userId: rows.slice(), itemId, likesLevel, viewsLevel, itemSeq, label };
}

/**
 * Counts WebGPU compute dispatches and queue submits (Dawn's classes, patched once), and notes the time of the
 * first submit after `mark()`; null off webgpu.
 */
function gpuCounters(info: BackendInfo): { read(): { dispatches: number; submits: number }; mark(): void; firstSubmitAt(): number | null } | null {
  if (info.name !== 'webgpu') return null;
  const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>;
  const pass = g.GPUComputePassEncoder?.prototype;
  const queue = g.GPUQueue?.prototype;
  if (!pass || !queue || typeof pass.dispatchWorkgroups !== 'function' || typeof queue.submit !== 'function') return null;
  const counts = { dispatches: 0, submits: 0 };
  let first: number | null = null;
  const dispatch = pass.dispatchWorkgroups as (...a: unknown[]) => unknown;
  const submit = queue.submit as (...a: unknown[]) => unknown;
  try {
    pass.dispatchWorkgroups = function (this: unknown, ...a: unknown[]) {
      counts.dispatches++;
      return dispatch.apply(this, a);
    };
    queue.submit = function (this: unknown, ...a: unknown[]) {
      counts.submits++;
      if (first === null) first = performance.now();
      return submit.apply(this, a);
    };
  } catch {
    return null;
  }
  return {
    read: () => ({ ...counts }),
    mark: () => {
      first = null;
    },
    firstSubmitAt: () => first,
  };
}

/**
 * `n` steps, each under `profileWebGpu`: GPU ms per program label (summed over a step's dispatches of it, averaged
 * over the steps), the first step's dispatches in order, and the host phases of these steps.
 */
async function profileSteps(
  n: number,
  trainStep: () => Promise<void>,
  probe: tf.Tensor,
  phases: StepPhases,
  resetPhases: () => void,
): Promise<GpuProfile> {
  const byLabel = new Map<string, { calls: number; ns: number }>();
  let first: { label: string; ms: number }[] = [];
  let wall = 0;
  let timestamped = true;
  resetPhases();
  const dev = (tf.backend() as unknown as { device: { features: Iterable<string>; limits: Record<string, number> } }).device;
  const lim = ['maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBufferBindingSize', 'maxBufferSize'];
  process.stderr.write(`[tfjs] device features: ${[...dev.features].join(', ')}; ${lim.map((k) => `${k} ${dev.limits[k]}`).join(', ')}\n`);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const prof = await profileWebGpu(async () => {
      await trainStep();
      await probe.data();
    });
    wall += performance.now() - t0;
    timestamped = prof.timestamped;
    if (i === 0) first = prof.dispatches.map((d) => ({ label: d.label, ms: Math.round(d.ns / 1e3) / 1e3 }));
    for (const d of prof.dispatches) {
      const e = byLabel.get(d.label) ?? { calls: 0, ns: 0 };
      e.calls++;
      e.ns += d.ns;
      byLabel.set(d.label, e);
    }
    process.stderr.write(`[tfjs] profiled step ${i + 1}/${n}: ${prof.dispatches.length} dispatches, GPU ${(prof.dispatches.reduce((a, d) => a + d.ns, 0) / 1e6).toFixed(1)} ms\n`);
  }
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const programs = [...byLabel.entries()]
    .map(([label, e]) => ({ label, calls: e.calls / n, ms: r3(e.ns / 1e6 / n) }))
    .sort((a, b) => b.ms - a.ms);
  return {
    steps: n,
    timestamped,
    wallMsPerStep: r3(wall / n),
    gpuMsPerStep: r3(programs.reduce((a, p) => a + p.ms, 0)),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, r3(v / n)])) as unknown as StepPhases,
    programs,
    sequence: first,
  };
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/**
 * What torch_peer.py needs to build the same model (`--describe`): the preset's resolved args, the vocabularies and
 * widths of the item table, and the optimiser settings, all from the project's own definitions.
 */
async function describe(s: Settings): Promise<void> {
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no "install tfjs-node" banner
  // A two-row item table is enough to resolve the args (the model keeps them as `config`).
  const tiny: ItemTable = {
    tags: { data: new Int32Array(2 * TAGS), rows: 2, cols: TAGS },
    emb: { data: new Float32Array(2 * EMB_DIM), rows: 2, cols: EMB_DIM },
    tagVocab: 2,
  };
  const model = createModel(s.model, presetArgs(s.model, s.preset), tiny);
  const c = DEFAULT_TRAIN_CONFIG;
  const spec = {
    model: s.model,
    preset: s.preset,
    config: model.config,
    items: ITEM_ROWS,
    tagVocab: TAG_VOCAB,
    tagsPerItem: TAGS,
    storedEmbDim: EMB_DIM,
    levels: MICROLENS_VOCAB.numLevels + 1,
    numLevels: MICROLENS_VOCAB.numLevels,
    seqLen: s.seqLen,
    train: {
      learningRate: c.learningRate,
      beta1: c.beta1,
      beta2: c.beta2,
      epsilon: c.epsilon,
      embeddingRegularizer: c.embeddingRegularizer,
      netRegularizer: c.netRegularizer,
      maxGradNorm: c.maxGradNorm,
    },
  };
  model.dispose();
  process.stdout.write(`${JSON.stringify(spec)}\n`);
}

async function main(): Promise<void> {
  const s = parseSettings();
  if (process.argv.includes('--describe')) return describe(s);
  const base: Pick<GpuBenchRecord, 'kind' | 'side' | 'model' | 'preset' | 'batch' | 'seqLen'> = {
    kind: RECORD_KIND,
    side: 'tfjs',
    model: s.model,
    preset: s.preset,
    batch: s.batch,
    seqLen: s.seqLen,
  };
  const machine = machineInfo();
  let info: BackendInfo | undefined;
  try {
    info = await selectBackend({ importModule: bundledImport, wasmPaths: s.wasmDir ? `${s.wasmDir}${path.sep}` : undefined });
    const counters = gpuCounters(info);
    const t0 = performance.now();
    const table = randomItemTable(11);
    const model: CtrModel = createModel(s.model, presetArgs(s.model, s.preset), table, { seed: s.seed });
    // As `train` sets it up (src/train/variables.ts): embedding tables then the rest, named as in namedWeights(),
    // L2 per group, Adam in the backend's default mode.
    const cfg = DEFAULT_TRAIN_CONFIG;
    const { trainable, names, l2 } = trainingVariables(model, cfg);
    const adam = new Adam(trainable, names, cfg);
    const batches = Array.from({ length: s.batches }, (_, k) => randomBatch(s.batch, s.seqLen, k, 1000 + k));
    // The smallest variable: reading it waits for the queued update without a large copy.
    const probe = trainable.reduce((a, b) => (b.size < a.size ? b : a));
    const setupMs = performance.now() - t0;
    process.stderr.write(`[tfjs] ${s.model}/${s.preset} batch ${s.batch}: ${model.paramCount()} parameters, setup ${setupMs.toFixed(0)} ms\n`);

    const losses: number[] = [];
    let step = 0;
    // Host phases of the steps since the last reset (ms summed).
    const phases: StepPhases = { record: 0, loss: 0, adam: 0, other: 0, firstSubmit: 0 };
    const resetPhases = () => Object.assign(phases, { record: 0, loss: 0, adam: 0, other: 0, firstSubmit: 0 });
    const trainStep = async (): Promise<void> => {
      const p0 = performance.now();
      counters?.mark();
      seedRandomOps(`${cfg.seed}/step/${step}`);
      let out;
      try {
        out = lossAndGradients(model, batches[step % batches.length], trainable, names);
      } finally {
        seedRandomOps(null);
      }
      const p1 = performance.now();
      phases.firstSubmit! += (counters?.firstSubmitAt() ?? p1) - p0;
      let p2 = p1;
      let p3 = p1;
      try {
        losses.push((await out.loss.data())[0]);
        p2 = performance.now();
        await adam.apply(out.grads, { learningRate: cfg.learningRate, l2, maxGradNorm: cfg.maxGradNorm });
        p3 = performance.now();
      } finally {
        tf.dispose([out.loss, ...out.grads]);
      }
      step++;
      const p4 = performance.now();
      phases.record += p1 - p0;
      phases.loss += p2 - p1;
      phases.adam += p3 - p2;
      phases.other += p4 - p3;
    };
    const warmMs: number[] = [];
    for (let i = 0; i < s.warmup; i++) {
      const w0 = performance.now();
      await trainStep();
      warmMs.push(performance.now() - w0);
      process.stderr.write(`[tfjs] warm-up ${i + 1}/${s.warmup}: ${warmMs[i].toFixed(0)} ms\n`);
      // Slow steps need less warming than the budget allows: half of --max-seconds at most (≥ 1 step).
      if (warmMs.reduce((a, b) => a + b, 0) / 1000 > s.maxSeconds / 2) break;
    }
    await probe.data();
    resetPhases();
    const tensorsBefore = tf.memory().numTensors;
    const before = counters?.read();
    const stepMs: number[] = [];
    const start = performance.now();
    for (let i = 0; i < s.steps; i++) {
      const a = performance.now();
      await trainStep();
      stepMs.push(performance.now() - a);
      if (i >= 1 && (performance.now() - start) / 1000 > s.maxSeconds) break;
    }
    await probe.data();
    const totalMs = performance.now() - start;
    const after = counters?.read();
    const figures: StepFigures = stepFigures(s.batch, stepMs, totalMs);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const stepPhases = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, r2(v / stepMs.length)])) as unknown as StepPhases;
    const leaked = (tf.memory().numTensors - tensorsBefore) / stepMs.length;
    const profile = s.profile > 0 && info.name === 'webgpu' ? await profileSteps(s.profile, trainStep, probe, phases, resetPhases) : undefined;
    const record: GpuBenchRecord = {
      ...base,
      ok: true,
      backend: info.name,
      device: info.device,
      adapter: info.adapter ? `${info.adapter.vendor} ${info.adapter.architecture} ${info.adapter.description || info.adapter.device}`.trim() : undefined,
      runtime: `node ${process.version}, @tensorflow/tfjs ${tf.version.tfjs}`,
      params: model.paramCount(),
      warmup: warmMs.length,
      warmupMs: warmMs.map((x) => Math.round(x * 10) / 10),
      setupMs: Math.round(setupMs),
      ...figures,
      lossFirst: losses[0],
      lossLast: losses[losses.length - 1],
      leakedTensorsPerStep: leaked,
      phases: stepPhases,
      profile,
      dispatchesPerStep: before && after ? (after.dispatches - before.dispatches) / stepMs.length : undefined,
      submitsPerStep: before && after ? (after.submits - before.submits) / stepMs.length : undefined,
      kernels: info.kernels,
      machine: { ...machine, gpu: info.adapter && !info.adapter.software ? info.adapter.description || info.adapter.device : undefined },
    };
    process.stdout.write(`${JSON.stringify(record)}\n`);
    adam.dispose();
    model.dispose();
  } catch (err) {
    const record: GpuBenchRecord = { ...base, ok: false, backend: info?.name, device: info?.device, error: errorText(err), machine };
    process.stdout.write(`${JSON.stringify(record)}\n`);
    process.stderr.write(`[tfjs] ${s.model} batch ${s.batch} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
// Dawn keeps the event loop alive; the record is out.
process.exit(process.exitCode ?? 0);
