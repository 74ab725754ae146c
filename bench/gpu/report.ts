/**
 * Turns the records of a GPU benchmark run (bench/gpu/run.sh: the JSON lines of bench/gpu/train.ts and
 * torch_peer.py, in `$OUT/gpu-runs.jsonl`) into one table — per model × batch: tfjs samples/s, PyTorch samples/s,
 * their ratio, step times, dispatches and submits per step — and writes bench/results/gpu.{md,json} through
 * `writeResults`, stamped with the machine the records say they ran on (the GPU machine, not this one).
 *
 *   node --import tsx bench/gpu/report.ts <gpu-runs.jsonl | folder holding it> ...   write bench/results/gpu.*
 *   ./node report.mjs --print <file>     (bundled, on the GPU machine: run.sh prints the table, writes nothing)
 *   ./node report.mjs --print-profile <file>   (the same for the `--profile` breakdown)
 *   flags: --print  --print-profile  --out-dir DIR (default bench/results)  --command TEXT (the command recorded)
 *
 * Records with a `profile` (run.sh --profile N) also give bench/results/gpuProfile.{md,json}: GPU ms per step of
 * each program (WebGPU timestamp queries), per model × batch, and the host phases of the step; a run without
 * profiles leaves that file alone, and a profile run writes only gpuProfile (not gpu.*), so the benchmark's figures
 * stay those of unprofiled runs.
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

/** The records with a profile, in run order (the later one wins per model × batch). */
function profiled(records: GpuBenchRecord[]): GpuBenchRecord[] {
  const byKey = new Map<string, GpuBenchRecord>();
  for (const r of records) if (r.side === 'tfjs' && r.ok && r.profile) byKey.set(`${r.model} b${r.batch}`, r);
  return [...byKey.values()];
}

/**
 * One row per program label (largest GPU time first, by the first profiled run), a column pair (ms per step, share
 * of the GPU sum) per profiled model × batch; then the sums, the profiled step's wall time and the host phases.
 */
export function profileRows(records: GpuBenchRecord[]): Row[] {
  const runs = profiled(records);
  const labels: string[] = [];
  for (const r of runs) for (const p of r.profile!.programs) if (!labels.includes(p.label)) labels.push(p.label);
  const ms = (x: number) => Number(x.toFixed(x < 1 ? 3 : 2));
  const rows: Row[] = labels.map((label) => {
    const row: Row = { program: label };
    for (const r of runs) {
      const p = r.profile!.programs.find((x) => x.label === label);
      const key = `${r.model} b${r.batch}`;
      row[`${key} calls`] = p ? p.calls : '';
      row[`${key} GPU ms`] = p ? ms(p.ms) : '';
      row[`${key} %`] = p ? Number(((100 * p.ms) / r.profile!.gpuMsPerStep).toFixed(1)) : '';
    }
    return row;
  });
  const extra = (label: string, value: (r: GpuBenchRecord) => number | undefined): Row => {
    const row: Row = { program: label };
    for (const r of runs) {
      const key = `${r.model} b${r.batch}`;
      const v = value(r);
      row[`${key} calls`] = '';
      row[`${key} GPU ms`] = v === undefined ? '' : ms(v);
      row[`${key} %`] = '';
    }
    return row;
  };
  rows.push(
    extra('(sum of dispatches, GPU)', (r) => r.profile!.gpuMsPerStep),
    extra('(profiled step, wall: one pass per dispatch)', (r) => r.profile!.wallMsPerStep),
    extra('(timed step, wall: median, unprofiled)', (r) => r.medianStepMs),
    extra('host: record forward + backward (timed steps)', (r) => r.phases?.record),
    extra('host: of which step start → first submit (timed steps)', (r) => r.phases?.firstSubmit),
    extra('host: await loss (GPU fwd + bwd, read) (timed steps)', (r) => r.phases?.loss),
    extra('host: Adam incl. global-norm read (timed steps)', (r) => r.phases?.adam),
    extra('host: other (timed steps)', (r) => r.phases?.other),
  );
  return rows;
}

function markdownLike(rows: Row[], colsIn?: string[]): string {
  const cols = colsIn ?? ['model', 'batch', 'tfjs backend', 'tfjs samples/s', 'torch device', 'torch samples/s', 'tfjs / torch', 'tfjs ms/step', 'torch ms/step', 'dispatches/step', 'status'];
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
  const prows = profileRows(records);
  if (hasFlag('--print-profile')) {
    if (prows.length > 7) process.stdout.write(markdownLike(prows, Object.keys(prows[0])));
    return;
  }
  const outDir = path.resolve(argValue('--out-dir') ?? 'bench/results');
  if (profiled(records).length > 0 && !hasFlag('--print')) {
    const runs = profiled(records);
    writeResults(
      {
        name: 'gpuProfile',
        title: 'GPU training step of tfjs on webgpu, per program: GPU time from WebGPU timestamp queries',
        command: argValue('--command') ?? "device run: bash bench/gpu/run.sh --profile N (carry .cache/gpubundle), then node --import tsx bench/gpu/report.ts <$OUT/gpu-runs.jsonl>",
        rows: prows,
        notes: [
          `Profiled runs: ${runs.map((r) => `${r.model}/${r.preset} batch ${r.batch} (${r.profile!.steps} steps${r.profile!.timestamped ? '' : ', no timestamp-query: no GPU times'})`).join('; ')}.`,
          'GPU ms: end − beginning timestamp of the compute pass that holds the dispatch alone (one pass per dispatch while profiling), ' +
            "per step, averaged over the profiled steps; Dawn's timestamp quantisation off (MMCTR_DAWN_FLAGS). % is of the sum of dispatches. " +
            'Host phases are of the unprofiled timed steps (bench/gpu/train.ts): the GPU work runs while the host waits for the loss and for Adam\'s global norm.',
          ...(records.find((r) => r.adapter) ? [`WebGPU adapter: ${records.find((r) => r.adapter)!.adapter}.`] : []),
        ],
      },
      outDir,
      gpuMachine(records),
    );
    return;
  }
  const rows = gpuRows(records);
  const notes = gpuNotes(records, rows);
  if (hasFlag('--print')) {
    process.stdout.write(markdownLike(rows));
    for (const n of notes.slice(0, 2)) process.stdout.write(`- ${n}\n`);
    return;
  }
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
