/**
 * The host-side index builds of a fused DIN training step on webgpu, timed alone (no GPU), at the GPU benchmark's
 * shapes (bench/gpu/train.ts: batch 8192, history 64, 91,718 items, random histories mostly 3–20 long, 5 tags):
 *
 *   unique      ItemEncoder.uniqueIds (models/features.ts): the batch's distinct items, every position's slot, and
 *               the id range check (before: a separate pass of hostIds, counted here too)
 *   positions   positionsBySlot (kernels/webgpu/dinBlock.ts): CSR of the valid positions per slot (dV)
 *   tag index   hostGradIndex (kernels/webgpu/itemEncoder.ts): item → position, tag → (position, 1/count) lists
 *
 * Each against the implementation of 90beee4 (copied below as `before*`; the tag index is the same function in both), whose outputs must be the same arrays
 * (checked every repetition). The builds before the first queue submit of a step (unique + id check) delay the
 * GPU's start; the others run while the GPU works on the queued backward (flushQueue before each).
 *
 *   node --import tsx bench/gpu/hostIndex.ts [--batch 8192] [--seq-len 64] [--reps 30]
 * Prints the median ms per build, before and now, and their sums; writes bench/results/gpuHostIndex.{md,json}.
 */
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { hostGradIndex } from '../../src/engine/kernels/webgpu/itemEncoder';
import { positionsBySlot } from '../../src/engine/kernels/webgpu/dinBlock';
import { ItemEncoder, microlensFeatureMap } from '../../src/models/features';
import { argValue, mulberry32 } from '../lib/benchUtil';
import { writeResults, type Row } from '../lib/results';
import { ITEM_ROWS, TAGS, historyLength, randomItemTable } from '../lib/syntheticTrain';

const batch = Number(argValue('--batch') ?? 8192);
const L = Number(argValue('--seq-len') ?? 64);
const reps = Number(argValue('--reps') ?? 30);

// --- the implementations of 90beee4 -------------------------------------------------------------------------------
function beforeCheck(data: Int32Array, numItems: number): void {
  for (let i = 0; i < data.length; i++) if (!(data[i] >= 0 && data[i] < numItems)) throw new Error(`id ${data[i]} at ${i}`);
}
function beforeUnique(arrays: Int32Array[], slots: Int32Array): { unique: Int32Array; index: Int32Array } {
  const total = arrays.reduce((s, a) => s + a.length, 0);
  const index = new Int32Array(total);
  const seen: number[] = [];
  let at = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++, at++) {
      const id = a[i];
      let slot = slots[id];
      if (slot < 0) {
        slot = seen.length;
        slots[id] = slot;
        seen.push(id);
      }
      index[at] = slot;
    }
  }
  for (const id of seen) slots[id] = -1;
  return { unique: Int32Array.from(seen), index };
}
function beforePositions(slots: Int32Array, b: number, itemSeq: Int32Array, slotCount: number): { offsets: Int32Array; positions: Int32Array } {
  const counts = new Int32Array(slotCount + 1);
  const valid = (p: number) => p < b || itemSeq[p - b] > 0;
  for (let p = 0; p < slots.length; p++) if (valid(p)) counts[slots[p] + 1]++;
  for (let s = 0; s < slotCount; s++) counts[s + 1] += counts[s];
  const offsets = counts.slice();
  const at = counts.slice(0, slotCount);
  const positions = new Int32Array(offsets[slotCount]);
  for (let p = 0; p < slots.length; p++) if (valid(p)) positions[at[slots[p]]++] = p;
  return { offsets, positions };
}
// --- the run ------------------------------------------------------------------------------------------------------
await tf.setBackend('cpu');
(tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no "install tfjs-node" banner
const table = randomItemTable(11);
const encoder = new ItemEncoder(microlensFeatureMap(table).item, table, { embeddingDim: 64 });
const uniqueIds = (encoder as unknown as { uniqueIds(a: Int32Array[], names: string[]): { unique: Int32Array; index: Int32Array } }).uniqueIds.bind(encoder);
const beforeSlots = new Int32Array(ITEM_ROWS).fill(-1);

function batchIds(seed: number) {
  const r = mulberry32(seed);
  const itemId = new Int32Array(batch);
  const itemSeq = new Int32Array(batch * L);
  for (let i = 0; i < batch; i++) {
    itemId[i] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
    const n = historyLength(r, L);
    for (let j = L - n; j < L; j++) itemSeq[i * L + j] = 1 + Math.floor(r() * (ITEM_ROWS - 1));
  }
  return { itemId, itemSeq };
}

function same(a: Int32Array, b: Int32Array, what: string): void {
  if (a.length !== b.length || a.some((v, i) => v !== b[i])) throw new Error(`${what}: the new build differs from the old one`);
}

const batches = [0, 1, 2, 3].map((k) => batchIds(1000 + k));
const names = ['unique', 'positions', 'tag index'] as const;
const times = { before: names.map(() => [] as number[]), now: names.map(() => [] as number[]) };
let distinct = 0;
for (let i = 0; i < reps + 5; i++) {
  const x = batches[i % batches.length];
  const t0 = performance.now();
  beforeCheck(x.itemId, ITEM_ROWS);
  beforeCheck(x.itemSeq, ITEM_ROWS);
  const old = beforeUnique([x.itemId, x.itemSeq], beforeSlots);
  const t1 = performance.now();
  const oldPos = beforePositions(old.index, batch, x.itemSeq, old.unique.length);
  const t2 = performance.now();
  const oldTag = hostGradIndex(old.unique, table.tags.data, TAGS, ITEM_ROWS, table.tagVocab); // unchanged since 90beee4
  const t3 = performance.now();
  const cur = uniqueIds([x.itemId, x.itemSeq], ['itemId', 'itemSeq']);
  const t4 = performance.now();
  const pos = positionsBySlot(cur.index, batch, x.itemSeq, cur.unique.length);
  const t5 = performance.now();
  const tag = hostGradIndex(cur.unique, table.tags.data, TAGS, ITEM_ROWS, table.tagVocab);
  const t6 = performance.now();
  same(cur.unique, old.unique, 'unique ids');
  same(cur.index, old.index, 'slots');
  same(pos.offsets, oldPos.offsets, 'CSR offsets');
  same(pos.positions, oldPos.positions, 'CSR positions');
  same(tag.index, oldTag.index, 'tag index');
  same(tag.entries, oldTag.entries, 'tag entries');
  distinct = cur.unique.length;
  if (i < 5) continue;
  [t1 - t0, t2 - t1, t3 - t2].forEach((t, k) => times.before[k].push(t));
  [t4 - t3, t5 - t4, t6 - t5].forEach((t, k) => times.now[k].push(t));
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const ms = (x: number) => Number(x.toFixed(2));
const labels = ['unique + id check (before the first submit)', 'positions (dV CSR)', 'tag index (item encoder backward)'];
const rows: Row[] = names.map((_, k) => {
  const b = median(times.before[k]);
  const c = median(times.now[k]);
  return { build: labels[k], 'before ms': ms(b), 'now ms': ms(c), 'now / before': Number((c / b).toFixed(2)) };
});
const sb = rows.reduce((t, r) => t + (r['before ms'] as number), 0);
const sn = rows.reduce((t, r) => t + (r['now ms'] as number), 0);
rows.push({ build: 'sum', 'before ms': ms(sb), 'now ms': ms(sn), 'now / before': Number((sn / sb).toFixed(2)) });
writeResults({
  name: 'gpuHostIndex',
  title: `Host index builds of the fused webgpu DIN step (batch ${batch}, history ${L}), before and now`,
  command: `node --import tsx bench/gpu/hostIndex.ts${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
  rows,
  notes: [
    `Median of ${reps} repetitions (after 5) over 4 random batches of the GPU benchmark's shapes (${distinct} distinct items in the last); outputs of the two versions identical in every repetition.`,
    'before: 90beee4 (a separate id-range pass, an array of numbers for the distinct ids, a closure per position); now: the range check in the slot pass, typed arrays only, targets and history in separate loops. The tag index is unchanged: its cost is the scatter into the tag lists, and it runs while the GPU works on the backward.',
  ],
});
