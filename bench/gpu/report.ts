/**
 * Turns the records of a GPU benchmark run (bench/gpu/run.sh: the JSON lines of bench/gpu/train.ts and
 * torch_peer.py, in `$OUT/gpu-runs.jsonl`) into one table — per model × batch: tfjs samples/s, PyTorch samples/s,
 * their ratio, step times, dispatches and submits per step — and writes bench/results/gpu.{md,json} through
 * `writeResults`, stamped with the machine the records say they ran on (the GPU machine, not this one).
 *
 *   node --import tsx bench/gpu/report.ts <gpu-runs.jsonl | folder holding it> ...   write bench/results/gpu.*
 *   ./node report.mjs --print <file>     (bundled, on the GPU machine: run.sh prints the table, writes nothing)
 *   flags: --print  --out-dir DIR (default bench/results)  --command TEXT (the command recorded in the results)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue, hasFlag } from '../lib/benchUtil';
import { type MachineInfo, type Row, machineInfo, writeResults } from '../lib/results';
import { type GpuBenchRecord, parseRecords } from './record';

/** The issue's goal: tfjs-webgpu at least this fraction of eager PyTorch fp32 on DIN at batch 8192. */
export const GOAL_RATIO = 0.5;
export const GOAL_MODEL = 'din';
export const GOAL_BATCH = 8192;

/** The default command line written into the results. */
const DEFAULT_COMMAND =
  "device run: bash bench/gpu/run.sh (carry .cache/gpubundle; see run.sh), then node --import tsx bench/gpu/report.ts <$OUT/gpu-runs.jsonl>";

const fmtRate = (x: number | undefined) => (x === undefined ? '' : Math.round(x));
const fmtMs = (x: number | undefined) => (x === undefined ? '' : Number(x.toFixed(1)));

/** One row per (model, batch), tfjs and torch side by side; the later record wins when one ran twice. */
export function gpuRows(records: GpuBenchRecord[]): Row[] {
  const keys: string[] = [];
  const pairs = new Map<string, { tfjs?: GpuBenchRecord; torch?: GpuBenchRecord }>();
  for (const r of records) {
    const key = `${r.model}\u0000${r.batch}\u0000${r.seqLen}`;
    if (!pairs.has(key)) {
      pairs.set(key, {});
      keys.push(key);
    }
    pairs.get(key)![r.side] = r;
  }
  const modelOrder = (m: string) => (m === 'din' ? 0 : m === 'dcnDin' ? 1 : 2);
  keys.sort((a, b) => {
    const [ma, ba] = a.split('\u0000');
    const [mb, bb] = b.split('\u0000');
    return modelOrder(ma) - modelOrder(mb) || ma.localeCompare(mb) || Number(ba) - Number(bb);
  });
  return keys.map((key) => {
    const { tfjs, torch } = pairs.get(key)!;
    const any = (tfjs ?? torch)!;
    const t = tfjs?.ok ? tfjs : undefined;
    const p = torch?.ok ? torch : undefined;
    const ratio = t?.samplesPerSec && p?.samplesPerSec ? t.samplesPerSec / p.samplesPerSec : undefined;
    const status = [
      tfjs ? (tfjs.ok ? '' : `tfjs failed: ${tfjs.error ?? '?'}`) : 'tfjs not run',
      torch ? (torch.ok ? '' : `torch failed: ${torch.error ?? '?'}`) : 'torch not run',
    ].filter(Boolean);
    return {
      model: any.model,
      preset: any.preset,
      batch: any.batch,
      history: any.seqLen,
      'tfjs backend': tfjs?.backend ?? '',
      'tfjs samples/s': fmtRate(t?.samplesPerSec),
      'tfjs ms/step': fmtMs(t?.medianStepMs),
      'torch device': torch?.backend ?? '',
      'torch samples/s': fmtRate(p?.samplesPerSec),
      'torch ms/step': fmtMs(p?.medianStepMs),
      'tfjs / torch': ratio === undefined ? '' : Number(ratio.toFixed(3)),
      'dispatches/step': t?.dispatchesPerStep === undefined ? '' : Math.round(t.dispatchesPerStep),
      'submits/step': t?.submitsPerStep === undefined ? '' : Math.round(t.submitsPerStep),
      'timed steps': [t?.steps, p?.steps].map((s) => s ?? '–').join(' / '),
      status: status.join('; ') || 'ok',
    };
  });
}

/** Where the records ran: the tfjs side's machine, with the GPU's name in front of the CPU. */
export function gpuMachine(records: GpuBenchRecord[]): MachineInfo {
  const here = machineInfo();
  const tfjs = records.find((r) => r.side === 'tfjs' && r.machine?.cpu)?.machine;
  const any = tfjs ?? records.find((r) => r.machine?.cpu)?.machine;
  const gpu = records.map((r) => r.machine?.gpu).find((g) => g) ?? undefined;
  if (!any) return here;
  const cpu = any.cpu ?? 'unknown CPU';
  return {
    date: any.date ?? here.date,
    cpu: gpu ? `${gpu} GPU, ${cpu}` : cpu,
    cores: any.cores ?? 0,
    memoryGiB: any.memoryGiB ?? 0,
    node: any.node ?? '',
    platform: any.platform ?? '',
  };
}

/** What the table cannot say: the goal, which sides were not on a GPU, how each side ran. */
export function gpuNotes(records: GpuBenchRecord[], rows: Row[]): string[] {
  const notes: string[] = [];
  const goal = rows.find((r) => r.model === GOAL_MODEL && r.batch === GOAL_BATCH);
  const ratio = goal?.['tfjs / torch'];
  const onGpu = (r: GpuBenchRecord) => (r.side === 'tfjs' ? r.backend === 'webgpu' && !/software/.test(r.device ?? '') : r.backend === 'cuda');
  if (typeof ratio === 'number') {
    notes.push(`Goal (issue 6): tfjs-webgpu ≥ ${GOAL_RATIO}× eager PyTorch fp32 on DIN at batch ${GOAL_BATCH}: ${ratio}× — ${ratio >= GOAL_RATIO ? 'met' : 'not met'}.`);
  } else {
    notes.push(`Goal (issue 6): tfjs-webgpu ≥ ${GOAL_RATIO}× eager PyTorch fp32 on DIN at batch ${GOAL_BATCH}: not measured in this run.`);
  }
  const off = records.filter((r) => r.ok && !onGpu(r));
  if (off.length > 0) {
    const sides = [...new Set(off.map((r) => `${r.side} on ${r.backend}${r.device ? ` (${r.device})` : ''}`))];
    notes.push(`Not a GPU comparison for: ${sides.join('; ')}.`);
  }
  // The same model on both sides has the same trainable parameters: a difference means the mirror drifted.
  for (const r of records.filter((x) => x.side === 'tfjs' && x.ok && x.params !== undefined)) {
    const peer = records.find((x) => x.side === 'torch' && x.ok && x.model === r.model && x.params !== undefined);
    if (peer && peer.params !== r.params) {
      notes.push(`WARNING: ${r.model} has ${r.params} trainable parameters in tfjs but ${peer.params} in PyTorch: torch_peer.py no longer mirrors it.`);
    }
  }
  const runtimes = [...new Set(records.filter((r) => r.runtime).map((r) => `${r.side}: ${r.runtime}`))];
  if (runtimes.length) notes.push(`Runtimes: ${runtimes.join('; ')}.`);
  const adapters = [...new Set(records.filter((r) => r.adapter).map((r) => r.adapter!))];
  if (adapters.length) notes.push(`WebGPU adapter: ${adapters.join('; ')}.`);
  const torchNotes = [...new Set(records.flatMap((r) => (r.side === 'torch' ? (r.notes ?? []) : [])))];
  if (torchNotes.length) notes.push(`PyTorch side: ${torchNotes.join('; ')}.`);
  notes.push(
    'A step is the trainer\'s step on both sides: batch uploaded from host arrays, forward + backward, mean BCE, ' +
      'L2 1e-6 on the embedding tables, global-norm clipping at 10, Adam (dense, every table row); the loss is read ' +
      'back every step. samples/s = batch × timed steps / wall time of the timed steps (after warm-up). Random ' +
      'data of the MicroLens shapes (91,718 items, 5 tags, 128-d frozen vectors; histories of the table\'s length, mostly 3–20 valid).',
  );
  return notes;
}

/** The records in files or folders (a folder: its gpu-runs.jsonl). */
export function readRecords(inputs: string[]): GpuBenchRecord[] {
  const out: GpuBenchRecord[] = [];
  for (const input of inputs) {
    const file = existsSync(input) && statSync(input).isDirectory() ? path.join(input, 'gpu-runs.jsonl') : input;
    if (!existsSync(file)) throw new Error(`report: no such file ${file}`);
    out.push(...parseRecords(readFileSync(file, 'utf8')));
  }
  return out;
}

function markdownLike(rows: Row[]): string {
  const cols = ['model', 'batch', 'tfjs backend', 'tfjs samples/s', 'torch device', 'torch samples/s', 'tfjs / torch', 'tfjs ms/step', 'torch ms/step', 'dispatches/step', 'status'];
  const cells = [cols, ...rows.map((r) => cols.map((c) => String(r[c] ?? '')))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function main(): void {
  const argv = process.argv.slice(2);
  const inputs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out-dir' || argv[i] === '--command') i++;
    else if (!argv[i].startsWith('--')) inputs.push(argv[i]);
  }
  if (inputs.length === 0) throw new Error('usage: report.ts [--print] [--out-dir DIR] <gpu-runs.jsonl | folder> ...');
  const records = readRecords(inputs);
  if (records.length === 0) throw new Error(`report: no records in ${inputs.join(', ')}`);
  const rows = gpuRows(records);
  const notes = gpuNotes(records, rows);
  if (hasFlag('--print')) {
    process.stdout.write(markdownLike(rows));
    for (const n of notes.slice(0, 2)) process.stdout.write(`- ${n}\n`);
    return;
  }
  const outDir = path.resolve(argValue('--out-dir') ?? 'bench/results');
  writeResults(
    { name: 'gpu', title: 'GPU training: tfjs (webgpu) vs eager PyTorch fp32, per training step', command: argValue('--command') ?? DEFAULT_COMMAND, rows, notes },
    outDir,
    gpuMachine(records),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
}
