/**
 * The project's CPU-backend kernels, measured: a DIN-like training step (Adam; batch 1024, history 50, emb 64,
 * attention 80-40, DNN 200-80, item table 91,718 × 64; bench/lib/dinLike.ts) on `wasm` and `cpu` with groups of
 * project kernels on and off, plus the hot kernels one by one (tfjs's original against the project's).
 *
 *   node --import tsx bench/kernels.ts            (≈ 3–4 min on 2 cores)
 *   node --import tsx bench/kernels.ts --quick    (smaller: fewer steps, no cpu batch-1024 row)
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { GradConfig, Tensor } from '@tensorflow/tfjs';
import os from 'node:os';
import {
  PROJECT_KERNEL_GROUPS,
  registerProjectKernels,
  unregisterProjectKernels,
  type ProjectKernelGroup,
} from '../src/engine/kernels';
import { createDinLike, DIN_BENCH_SHAPE, makeDinLikeBatch, type DinLikeShape } from './lib/dinLike';
import { writeResults, type Row } from './lib/results';

const quick = process.argv.includes('--quick');
const rows: Row[] = [];
const notes: string[] = [];

/**
 * The alternative fix for transposed products measured against the kernel wrapper: a BatchMatMul gradient that
 * transposes explicitly and calls matMul without flags (correct for 2-D operands, which is all the DIN step uses).
 */
const explicitTransposeGrad: GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dyIn, [a, b], attrs) => {
    const dy = dyIn as Tensor;
    const T = (x: Tensor) => tf.transpose(x);
    const { transposeA: ta, transposeB: tb } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!ta && !tb) return { a: () => tf.matMul(dy, T(b)), b: () => tf.matMul(T(a), dy) };
    if (!ta && tb) return { a: () => tf.matMul(dy, b), b: () => tf.matMul(T(dy), a) };
    if (ta && !tb) return { a: () => tf.matMul(b, T(dy)), b: () => tf.matMul(a, dy) };
    return { a: () => tf.matMul(T(b), T(dy)), b: () => tf.matMul(T(dy), T(a)) };
  },
};

interface Config {
  label: string;
  groups: readonly ProjectKernelGroup[];
  /** Replace the BatchMatMul gradient by `explicitTransposeGrad`. */
  explicitGrad?: boolean;
}

let tfjsMatMulGrad: GradConfig | undefined;

function install(config: Config): void {
  unregisterProjectKernels();
  registerProjectKernels({ groups: config.groups });
  if (config.explicitGrad) {
    tfjsMatMulGrad = tf.getGradient('BatchMatMul');
    tf.unregisterGradient('BatchMatMul');
    tf.registerGradient(explicitTransposeGrad);
  }
}

function uninstall(config: Config): void {
  if (config.explicitGrad && tfjsMatMulGrad) {
    tf.unregisterGradient('BatchMatMul');
    tf.registerGradient(tfjsMatMulGrad);
  }
  unregisterProjectKernels();
}

/** Times `steps` Adam steps after one warm-up; returns ms per step, or the error text. */
async function timeSteps(backend: 'cpu' | 'wasm', shape: DinLikeShape, config: Config, steps: number): Promise<Row> {
  install(config);
  await tf.setBackend(backend);
  const model = createDinLike(shape, 11);
  const batch = makeDinLikeBatch(shape, 12);
  const opt = tf.train.adam(1e-3);
  const step = () => tf.tidy(() => opt.minimize(() => model.loss(batch), true, model.variables)!.dataSync()[0]);
  const row: Row = { backend, measurement: `DIN-like Adam step, batch ${shape.batch}`, 'project kernels': config.label };
  try {
    step();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) step();
    const ms = (performance.now() - t0) / steps;
    row.ms = Math.round(ms);
    row['samples/s'] = Math.round((shape.batch / ms) * 1000);
  } catch (err) {
    row.ms = '—';
    row['samples/s'] = `fails: ${String((err as Error).message).split('\n')[0].slice(0, 70)}`;
  } finally {
    opt.dispose();
    model.dispose();
    tf.dispose([batch.itemIds, batch.histIds, batch.labels]);
    uninstall(config);
  }
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
}

/** ms per call of `f` (after one warm-up), with tfjs's kernels and with the project's. */
async function timeKernel(
  backend: 'cpu' | 'wasm',
  name: string,
  f: () => tf.Tensor | tf.Tensor[],
  reps: number,
  originalRuns = true,
): Promise<Row> {
  await tf.setBackend(backend);
  const once = () => {
    f();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) tf.tidy(() => void f());
    return (performance.now() - t0) / reps;
  };
  const row: Row = { backend, measurement: name, 'project kernels': 'all' };
  unregisterProjectKernels();
  if (originalRuns) {
    try {
      row['tfjs ms'] = Number(tf.tidy(once).toFixed(2));
    } catch (err) {
      row['tfjs ms'] = `fails: ${String((err as Error).message).split('\n')[0].slice(0, 50)}`;
    }
  } else {
    row['tfjs ms'] = 'not run';
  }
  registerProjectKernels();
  const ms = tf.tidy(once);
  row.ms = Number(ms.toFixed(2));
  if (typeof row['tfjs ms'] === 'number') {
    row.speedup = ms < 0.05 ? 'no copy (shared data)' : `${(row['tfjs ms'] / ms).toFixed(1)}×`;
  }
  unregisterProjectKernels();
  process.stdout.write(`${JSON.stringify(row)}\n`);
  return row;
}

const ALL: Config = { label: 'all project kernels', groups: PROJECT_KERNEL_GROUPS };
const configs: Config[] = [
  { label: 'none (tfjs only)', groups: [] },
  { label: 'segmentSum', groups: ['segmentSum'] },
  { label: 'segmentSum + grad transposes explicitly', groups: ['segmentSum'], explicitGrad: true },
  { label: 'segmentSum + matMul wrapper + matMulGrad', groups: ['segmentSum', 'matMul', 'matMulGrad'] },
  ALL,
];

const steps = quick ? 2 : 4;
const stepRows: Row[] = [];
for (const c of configs) stepRows.push(await timeSteps('wasm', DIN_BENCH_SHAPE, c, steps));
const cpuSmall = { ...DIN_BENCH_SHAPE, batch: 256 };
stepRows.push(await timeSteps('cpu', cpuSmall, { label: 'segmentSum', groups: ['segmentSum'] }, 1));
stepRows.push(await timeSteps('cpu', cpuSmall, ALL, quick ? 1 : 2));
if (!quick) stepRows.push(await timeSteps('cpu', DIN_BENCH_SHAPE, ALL, 2));
rows.push(...stepRows);

// Kernels one by one, at the shapes of the step (wasm), and the cpu ones that matter.
const k: Row[] = [];
{
  await tf.setBackend('wasm');
  const table = tf.randomNormal([DIN_BENCH_SHAPE.items, 64]);
  const ids = tf.randomUniform([1024, 50], 0, DIN_BENCH_SHAPE.items, 'int32');
  const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D;
  const rowsGrad = tf.randomNormal([51200, 64]);
  const t = tf.randomNormal([1024, 1, 64]);
  const att = tf.randomNormal([1024, 50, 256]);
  const a = tf.randomNormal([51200, 256]);
  const dy = tf.randomNormal([51200, 80]);
  const w = tf.randomNormal([256, 80]);
  const r = quick ? 2 : 4;
  k.push(await timeKernel('wasm', 'UnsortedSegmentSum [51200,64] → 91718 rows', () => tf.unsortedSegmentSum(rowsGrad, flatIds, DIN_BENCH_SHAPE.items), r));
  k.push(await timeKernel('wasm', 'matMul [51200,256]ᵀ·[51200,80] (weight grad)', () => tf.matMul(a, dy, true, false), 2));
  k.push(await timeKernel('wasm', 'matMul [51200,80]·[256,80]ᵀ (input grad)', () => tf.matMul(dy, w, false, true), 2));
  k.push(await timeKernel('wasm', 'matMul [51200,256]·[256,80] (forward, no flags)', () => tf.matMul(a, w), r));
  k.push(await timeKernel('wasm', 'gather 91718×64 table, [1024,50] ids', () => tf.gather(table, ids), r));
  k.push(await timeKernel('wasm', 'tile [1024,1,64] × [1,50,1]', () => tf.tile(t, [1, 50, 1]), r));
  k.push(await timeKernel('wasm', 'split [1024,50,256] in 4 (concat grad)', () => tf.split(att, 4, 2), r));
  k.push(await timeKernel('wasm', 'sum axis 0 of [51200,256] (bias grad)', () => tf.sum(a, 0), r));
  k.push(await timeKernel('wasm', 'transpose [91718,64] perm [0,1] (gather grad)', () => tf.transpose(table, [0, 1]), r));
  k.push(await timeKernel('wasm', 'clone [1024,50,256] (saved for backprop)', () => tf.clone(att), r));
  tf.dispose([table, ids, flatIds, rowsGrad, t, att, a, dy, w]);
}
{
  await tf.setBackend('cpu');
  const small = tf.randomNormal([2000, 64]);
  const ids = tf.randomUniform([512], 0, 2000, 'int32') as tf.Tensor1D;
  const x = tf.randomNormal([512, 64]);
  k.push(await timeKernel('cpu', 'UnsortedSegmentSum [512,64] → 2,000 rows', () => tf.unsortedSegmentSum(x, ids, 2000), 1));
  const table = tf.randomNormal([DIN_BENCH_SHAPE.items, 64]);
  k.push(await timeKernel('cpu', 'transpose [91718,64] perm [0,1] (gather grad)', () => tf.transpose(table, [0, 1]), 1));
  k.push(await timeKernel('cpu', 'transpose [4096,64]', () => tf.transpose(tf.slice(table, [0, 0], [4096, 64])), 1));
  tf.dispose([small, ids, x, table]);
}
rows.push(...k);

const wasmAll = stepRows.find((r) => r.backend === 'wasm' && r['project kernels'] === ALL.label)?.['samples/s'];
const cpuAll = stepRows.find((r) => r.backend === 'cpu' && String(r.measurement).endsWith('1024'))?.['samples/s'];
notes.push(
  `DIN-like step, wasm with all project kernels: ${wasmAll} samples/s (reference note: ~2,000 with the two fixes); cpu at batch 1024: ${cpuAll ?? 'not run (--quick)'} samples/s (reference ~100).`,
  'Step rows: samples/s = batch / (mean ms per Adam step after one warm-up). Kernel rows: ms per call after one warm-up, tfjs original vs project kernel on the same backend.',
  'The forward matMul without flags goes straight to the original kernel (the wrapper only adds a shape check): its row is the noise level of this run.',
  '"grad transposes explicitly" is the alternative fix (a BatchMatMul gradient calling tf.transpose + matMul without flags); the kernel wrapper, which picks the cheaper of two equivalent forms per product, is the one registered.',
  `Load average when the run ended: ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (1/5/15 min) on ${os.cpus().length} cores: the machine is shared with other work, so absolute figures are pessimistic and move between runs; ratios within one run are the useful part.`,
  'cpu UnsortedSegmentSum (tfjs): one equal/cast/multiply/sum pass over all ids per table row, so its time grows with rows × ids; at the step\'s size (91,718 rows × 51,200 ids) it would take on the order of a day.',
);

writeResults({
  name: 'kernels',
  title: 'Project kernels for the CPU backends (wasm, cpu): DIN-like training step and hot kernels',
  command: `node --import tsx bench/kernels.ts${quick ? ' --quick' : ''}`,
  rows,
  notes,
});
