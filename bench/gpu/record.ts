/**
 * The one-line JSON record both sides of the GPU benchmark print (bench/gpu/train.ts for tfjs, torch_peer.py for
 * PyTorch, which writes the same fields), and the figures derived from the step times. report.ts reads them.
 */
import type { MachineInfo } from '../lib/results';

/** Marks a line as a record of this benchmark (`"kind": "mmctr-gpubench"`). */
export const RECORD_KIND = 'mmctr-gpubench';

/** The preset each model is measured with unless `--preset` says otherwise. */
export const DEFAULT_PRESETS: Record<string, string> = { din: 'dinBaseline', dcnDin: 'dcnDinBase' };

/** Per-step figures of the timed steps. */
export interface StepFigures {
  /** Timed steps run (fewer than asked when `--max-seconds` ran out). */
  steps: number;
  /** Wall time of each timed step, ms (rounded to 0.1). */
  stepMs: number[];
  medianStepMs: number;
  /** Wall time over all timed steps, until the last update had landed, ms. */
  totalMs: number;
  /** batch · steps / total time. */
  samplesPerSec: number;
}

/** Host phases of a tfjs step, ms per step (train.ts says what each covers). */
export interface StepPhases {
  record: number;
  loss: number;
  adam: number;
  other: number;
  /** Part of `record`: step start → first queue submit (webgpu; absent in older records). */
  firstSubmit?: number;
}

/** train.ts `--profile N`: GPU time per program from timestamp queries, one compute pass per dispatch. */
export interface GpuProfile {
  /** Profiled steps (after the timed ones). */
  steps: number;
  /** The device had 'timestamp-query' (else `programs` is empty). */
  timestamped: boolean;
  /** Wall time of a profiled step (one pass per dispatch: not the benchmark's step time), ms. */
  wallMsPerStep: number;
  /** Sum of the dispatches' GPU times per step, ms. */
  gpuMsPerStep: number;
  /** Host phases of the profiled steps, ms per step. */
  phases: StepPhases;
  /** Per program label: dispatches per step and GPU ms per step, largest first. */
  programs: { label: string; calls: number; ms: number }[];
  /** The first profiled step's dispatches in order, GPU ms each. */
  sequence: { label: string; ms: number }[];
}

export interface GpuBenchRecord extends Partial<StepFigures> {
  kind: typeof RECORD_KIND;
  side: 'tfjs' | 'torch';
  /** Registry name: 'din' | 'dcnDin'. */
  model: string;
  preset: string;
  batch: number;
  seqLen: number;
  ok: boolean;
  /** Why it failed (first line), when `ok` is false. */
  error?: string;
  /** tfjs: the selected backend ('webgpu', 'wasm', ...); torch: 'cuda' or 'cpu'. */
  backend?: string;
  /** The device in words (adapter or GPU name). */
  device?: string;
  /** tfjs: the WebGPU adapter (vendor, architecture, name). */
  adapter?: string;
  /** `node v20.20.2, @tensorflow/tfjs 4.22.0` / `torch 2.11.0+cu130, CUDA 13.0`. */
  runtime?: string;
  /** Trainable parameters. */
  params?: number;
  warmup?: number;
  warmupMs?: number[];
  /** Model build + data generation, ms. */
  setupMs?: number;
  lossFirst?: number;
  lossLast?: number;
  /** tfjs: tensors left behind per timed step (0 when the step cleans up). */
  leakedTensorsPerStep?: number;
  /** tfjs: host phases of the timed steps, ms per step. */
  phases?: StepPhases;
  /** tfjs with `--profile N`: the GPU time per program. */
  profile?: GpuProfile;
  /** tfjs on webgpu: compute dispatches and queue submits per timed step. */
  dispatchesPerStep?: number;
  submitsPerStep?: number;
  /** tfjs: the project's kernel overrides installed. */
  kernels?: string[];
  /** torch: settings that decide speed (TF32 off, Adam implementation, ...). */
  notes?: string[];
  /** Where it ran; `gpu` is the GPU's name when one was used. */
  machine?: Partial<MachineInfo> & { gpu?: string };
}

/** Median (upper) of a non-empty list. */
function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export function stepFigures(batch: number, stepMs: number[], totalMs: number): StepFigures {
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    steps: stepMs.length,
    stepMs: stepMs.map(r1),
    medianStepMs: r1(median(stepMs)),
    totalMs: r1(totalMs),
    samplesPerSec: Math.round((batch * stepMs.length * 1000) / totalMs),
  };
}

/** The records among the lines of a run's output (other lines are ignored). */
export function parseRecords(text: string): GpuBenchRecord[] {
  const out: GpuBenchRecord[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const r = JSON.parse(t) as Partial<GpuBenchRecord>;
      if (r.kind === RECORD_KIND) out.push(r as GpuBenchRecord);
    } catch {
      // not a record
    }
  }
  return out;
}
