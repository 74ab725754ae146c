/**
 * Training speed of a DIN-like step (bench/lib/dinStep.ts) on the CPU backends: plain `cpu` and `wasm` (with the
 * project's kernels, src/engine/kernels) and the native OpenBLAS kernels (src/engine/native.ts) hosted on `wasm`
 * and on `cpu`. Two shape sets: the challenge baseline (history 64, attention [512,256], DNN [1024,512,256]) and
 * a small one (history 50, attention [80,40], DNN [200,80]), batch 1024. Targets: PyTorch 1.13 on the same 2
 * cores, 318 samples/s (baseline) and 973 samples/s (small). Each configuration runs in its own process; the
 * figures are the median and the best of the timed steps after warm-up (the best is the least disturbed by other
 * processes on the machine). Rewrites bench/results/native.{md,json}.
 *
 *   npm run bench:native                      all configurations, except plain cpu at baseline shapes
 *   node --import tsx bench/native.ts --all   also plain cpu at baseline shapes (~3 min per step)
 *   node --import tsx bench/native.ts --only native-wasm --shapes small --steps 5
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerProjectKernels } from '../src/engine/kernels';
import { nativeStatus, registerNativeKernels } from '../src/engine/native';
import { BASELINE_SHAPE, SMALL_SHAPE, makeDinStep, type DinShape } from './lib/dinStep';
import { argValue as arg, loadAverage, median } from './lib/benchUtil';
import { writeResults, type Row } from './lib/results';

type Config = 'cpu' | 'wasm' | 'native-wasm' | 'native-cpu';
const CONFIGS: Config[] = ['native-wasm', 'native-cpu', 'wasm', 'cpu'];
const SHAPES: Record<string, DinShape> = { baseline: BASELINE_SHAPE, small: SMALL_SHAPE };
const TARGETS: Record<string, number> = { baseline: 318, small: 973 };

interface ChildResult {
  config: Config;
  shape: string;
  stepsMs: number[];
  /** Process CPU time (user + system, all threads) per timed step. */
  cpuMs: number[];
  /** Loss of the first step: same initialisation and batch everywhere, so backends must agree. */
  firstLoss: number;
  loss: number;
  kernels: number;
}

/** Steps (timed, warm-up) per configuration; plain cpu is ~25× slower than the rest. */
function stepsFor(config: Config): { steps: number; warmup: number } {
  const steps = Number(arg('--steps') ?? (config === 'cpu' ? 2 : 7));
  const warmup = Math.max(1, Number(arg('--warmup') ?? (config === 'cpu' ? 1 : 2)));
  return { steps, warmup };
}

async function child(config: Config, shapeName: string): Promise<ChildResult> {
  const host = config === 'native-wasm' || config === 'wasm' ? 'wasm' : 'cpu';
  await tf.setBackend(host);
  registerProjectKernels();
  let kernels = 0;
  if (config.startsWith('native')) {
    kernels = registerNativeKernels(host).length;
    if (kernels === 0) throw new Error(`native kernels unavailable: ${nativeStatus().reason}`);
  }
  const { steps, warmup } = stepsFor(config);
  const model = makeDinStep(SHAPES[shapeName], 7);
  const batch = model.makeBatch(11);
  let loss = model.step(batch);
  const firstLoss = loss;
  for (let i = 1; i < warmup; i++) loss = model.step(batch);
  const stepsMs: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    loss = model.step(batch);
    const c = process.cpuUsage(c0);
    stepsMs.push(performance.now() - t0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { config, shape: shapeName, stepsMs, cpuMs, firstLoss, loss, kernels };
}

if (process.argv.includes('--child')) {
  const r = await child(arg('--config') as Config, arg('--shape')!);
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
} else {
  const only = arg('--only')?.split(',') as Config[] | undefined;
  const shapes = arg('--shapes')?.split(',') ?? ['baseline', 'small'];
  const status = nativeStatus();
  console.log(`native addon: ${status.available ? JSON.stringify(status.info) : status.reason}`);
  const rows: Row[] = [];
  const notes: string[] = [];
  const load = loadAverage;
  const loadBefore = load();
  for (const shape of shapes) {
    for (const config of only ?? CONFIGS) {
      if (config === 'cpu' && shape === 'baseline' && !process.argv.includes('--all') && !only) {
        notes.push('plain cpu at baseline shapes not run (about 3 min per step; run with --all)');
        continue;
      }
      const passThrough = ['--steps', '--warmup'].flatMap((f) => (arg(f) ? [f, arg(f)!] : []));
      let out: string;
      try {
        out = execFileSync(
          process.execPath,
          ['--import', 'tsx', 'bench/native.ts', '--child', '--config', config, '--shape', shape, ...passThrough],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
        );
      } catch (e) {
        notes.push(`${config} × ${shape} failed: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) continue;
      const r = JSON.parse(line.slice(7)) as ChildResult;
      const ms = median(r.stepsMs);
      const samplesPerS = (SHAPES[shape].batch / ms) * 1000;
      const row: Row = {
        shape,
        backend: config,
        'step ms (median)': Math.round(ms),
        'step ms (best)': Math.round(Math.min(...r.stepsMs)),
        'samples/s': Math.round(samplesPerS),
        'samples/s (best step)': Math.round((SHAPES[shape].batch / Math.min(...r.stepsMs)) * 1000),
        'CPU ms/step': Math.round(median(r.cpuMs)),
        target: TARGETS[shape],
        'meets target': samplesPerS >= TARGETS[shape],
        steps: r.stepsMs.length,
        'loss (step 1)': Number(r.firstLoss.toFixed(6)),
      };
      console.log(JSON.stringify(row), 'steps ms:', r.stepsMs.map((x) => Math.round(x)).join(' '), '| load', load());
      rows.push(row);
    }
  }
  writeResults({
    name: 'native',
    title: 'DIN-like training step on CPU backends (batch 1024)',
    command: `node --import tsx bench/native.ts ${process.argv.slice(2).join(' ')}`.trim(),
    rows,
    notes: [
      'Backends: `cpu`/`wasm` = tfjs backends with the project kernels (src/engine/kernels); `native-<host>` = the same plus the OpenBLAS addon kernels (src/engine/native.ts) on that host.',
      'Shapes: baseline = item vector 256, history 64, attention [512,256], DNN [1024,512,256] + BN; small = history 50, attention [80,40], DNN [200,80]. Adam, sigmoid BCE, no dropout.',
      'Targets: PyTorch 1.13 CPU on the same 2-core machine (318 samples/s baseline, 973 small); `meets target` judges the median.',
      ...(status.available ? [`OpenBLAS: ${status.info?.blasConfig}; threads ${status.info?.threads}`] : [`native addon unavailable: ${status.reason}`]),
      `Load average (1/5/15 min) before: ${loadBefore}; after: ${load()}. Other processes on these 2 cores slow the wall-clock figures (OpenBLAS's two threads most); CPU ms/step is the process's CPU time (all threads), close to the uncontended step time for the one-threaded backends.`,
      ...notes,
    ],
  });
}
