/**
 * Where the time of one real training step goes: the `dinBaseline` DIN (or its small shapes) on the selected
 * backend (default native), built and stepped as bench/train.ts does it, on the same synthetic full-size data.
 * Prints per-step wall and process CPU time (all threads), the loss and the gradient norm; then, on request, a
 * per-kernel breakdown. No results file: a diagnostic, run before and after a change.
 *
 *   node --import tsx bench/profileStep.ts                 6 timed steps (after 2 warm-up steps)
 *   node --import tsx bench/profileStep.ts --small         history 50, attention [80,40], DNN [200,80]
 *   node --import tsx bench/profileStep.ts --kernels       + CPU and wall time per kernel (3 steps, all kernels wrapped)
 *   node --import tsx bench/profileStep.ts --tf-profile    + tf.profile of one step (kernel wall times)
 *   node --import tsx bench/profileStep.ts --full-history  every history position valid (no padding to skip)
 *   flags: --backend <native|wasm|cpu|...>
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../src/data/batches';
import { iterateBatches } from '../src/data/batches';
import { parseBackendName, selectBackend } from '../src/engine/backend';
import { createModel, presetArgs } from '../src/models/registry';
import type { DinArgs } from '../src/models/din';
import { Adam } from '../src/train/adam';
import { DEFAULT_TRAIN_CONFIG } from '../src/train/config';
import { lossAndGradients } from '../src/train/step';
import { trainingVariables } from '../src/train/variables';
import { seedRandomOps } from '../src/util/opSeeds';
import { argValue, hasFlag } from './lib/benchUtil';
import { ITEM_ROWS as randomItemTableRows, randomItemTable, randomSplit } from './lib/syntheticTrain';

const small = hasFlag('--small');
const HIST = small ? 50 : 64;
const BATCH = 1024;

interface KernelTime {
  cpu: number;
  wall: number;
  calls: number;
}
/** Per `kernel [shapes]`: CPU and wall ms while `collecting`. */
const perKernel = new Map<string, KernelTime>();
let collecting = false;

/** Wraps every kernel of the backend to add up its process CPU time (all threads) and wall time. */
function wrapKernels(backendName: string): void {
  for (const k of tf.getKernelsForBackend(backendName)) {
    const f = k.kernelFunc as (args: { inputs: tf.NamedTensorInfoMap }) => unknown;
    tf.unregisterKernel(k.kernelName, backendName);
    tf.registerKernel({
      ...k,
      kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap }) => {
        if (!collecting) return f(args);
        const c = process.cpuUsage();
        const w = performance.now();
        const r = f(args);
        const cu = process.cpuUsage(c);
        const key = `${k.kernelName} ${Object.values(args.inputs).map((t) => `[${t?.shape ?? ''}]`).join(',')}`;
        const e = perKernel.get(key) ?? { cpu: 0, wall: 0, calls: 0 };
        e.cpu += (cu.user + cu.system) / 1000;
        e.wall += performance.now() - w;
        e.calls++;
        perKernel.set(key, e);
        return r;
      }) as unknown as tf.KernelFunc,
    });
  }
}

const backend = argValue('--backend');
const info = await selectBackend({ force: backend ? parseBackendName(backend, '--backend') : 'native', forceLabel: '--backend', quiet: true });
if (hasFlag('--kernels')) wrapKernels(tf.getBackend());

const args: DinArgs = { ...(presetArgs('din', 'dinBaseline') as DinArgs), ...(small ? { attentionUnits: [80, 40], dnnUnits: [200, 80] } : {}) };
const model = createModel('din', args, randomItemTable(11), { seed: 7 });
const cfg = DEFAULT_TRAIN_CONFIG;
const { trainable, names, l2 } = trainingVariables(model, cfg);
const adam = new Adam(trainable, names, cfg);
const split = randomSplit(4 * BATCH, HIST, 13);
if (hasFlag('--full-history')) {
  // The worst case for the attention: no padded position. Ids from a fixed stride over the table.
  const seq = split.itemSeq.data;
  for (let k = 0; k < seq.length; k++) seq[k] = 1 + ((k * 7919) % (randomItemTableRows - 1));
}
const batches: Batch[] = [];
for (const b of iterateBatches(split, { batchSize: BATCH })) {
  batches.push({ ...b, rows: b.rows.slice(), userId: b.userId.slice(), itemId: b.itemId.slice(), likesLevel: b.likesLevel.slice(), viewsLevel: b.viewsLevel.slice(), itemSeq: b.itemSeq.slice(), label: b.label!.slice() });
}

interface StepTimes {
  wall: number;
  cpu: number;
  grad: number;
  adam: number;
  loss: number;
  norm: number;
}

async function step(i: number): Promise<StepTimes> {
  const c = process.cpuUsage();
  const t0 = performance.now();
  seedRandomOps(`bench/step/${i}`);
  const out = (() => {
    try {
      return lossAndGradients(model, batches[i % batches.length], trainable, names);
    } finally {
      seedRandomOps(null);
    }
  })();
  const loss = (await out.loss.data())[0];
  const t1 = performance.now();
  const norm = await adam.apply(out.grads, { learningRate: cfg.learningRate, l2, maxGradNorm: cfg.maxGradNorm });
  const t2 = performance.now();
  tf.dispose([out.loss, ...out.grads]);
  const cu = process.cpuUsage(c);
  return { wall: t2 - t0, cpu: (cu.user + cu.system) / 1000, grad: t1 - t0, adam: t2 - t1, loss, norm };
}

const f0 = (x: number) => x.toFixed(0);
console.log(`dinBaseline${small ? ' (small shapes)' : ''}${hasFlag('--full-history') ? ', full histories' : ''} on ${info.name}, batch ${BATCH}, history ${HIST}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
let i = 0;
for (; i < 2; i++) await step(i);
for (; i < 8; i++) {
  const s = await step(i);
  console.log(`step ${i}: ${f0(s.wall)} ms (CPU ${f0(s.cpu)} ms; forward+backward ${f0(s.grad)}, Adam ${f0(s.adam)}) loss ${s.loss.toFixed(6)} norm ${s.norm.toFixed(6)}`);
}

if (hasFlag('--kernels')) {
  const steps = 3;
  collecting = true;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let k = 0; k < steps; k++) await step(i++);
  const cu = process.cpuUsage(c0);
  collecting = false;
  const inKernels = [...perKernel.values()].reduce((s, e) => s + e.cpu, 0) / steps;
  console.log(`\nper step: CPU ${f0((cu.user + cu.system) / 1000 / steps)} ms, wall ${f0((performance.now() - w0) / steps)} ms; CPU in kernels ${f0(inKernels)} ms`);
  const byName = new Map<string, KernelTime>();
  for (const [key, e] of perKernel) {
    const name = key.split(' ')[0];
    const b = byName.get(name) ?? { cpu: 0, wall: 0, calls: 0 };
    byName.set(name, { cpu: b.cpu + e.cpu, wall: b.wall + e.wall, calls: b.calls + e.calls });
  }
  const line = ([k, e]: [string, KernelTime]) =>
    `${(e.cpu / steps).toFixed(1).padStart(8)} CPU ${(e.wall / steps).toFixed(1).padStart(8)} wall  ×${(e.calls / steps).toFixed(1).padStart(5)}  ${k}`;
  console.log('per kernel (ms per step):');
  console.log([...byName].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, 20).map(line).join('\n'));
  console.log('per kernel and input shapes (ms per step):');
  console.log([...perKernel].sort((a, b) => b[1].cpu - a[1].cpu).slice(0, 40).map(line).join('\n'));
}

if (hasFlag('--tf-profile')) {
  const prof = await tf.profile(async () => {
    await step(i++);
  });
  const byName = new Map<string, number>();
  for (const k of prof.kernels) byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const total = prof.kernels.reduce((s, k) => s + (k.kernelTimeMs as number), 0);
  console.log(`\ntf.profile: ${prof.kernels.length} kernels, ${f0(total)} ms in kernels (wall)`);
  console.log([...byName].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `${v.toFixed(1).padStart(8)} ${k}`).join('\n'));
}
adam.dispose();
model.dispose();
// The wasm module keeps the event loop alive.
process.exit(0);
