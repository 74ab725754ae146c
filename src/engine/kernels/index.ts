/**
 * The project's own kernels and gradients for the CPU backends (`cpu`, `wasm`), installed by
 * `registerProjectKernels()` (idempotent; `selectBackend` calls it). `unregisterProjectKernels()` puts tfjs's
 * originals back (tests, benchmarks). Each file says why its kernel exists and what it measured.
 *
 * | group | kernels | backends | why |
 * |---|---|---|---|
 * | `segmentSum` | UnsortedSegmentSum | cpu, wasm | gradient of `gather`: cpu's makes tensors per row; wasm has none |
 * | `matMul` | BatchMatMul wrapper | wasm | transpose flags (set by every backward pass) run ~10× slower |
 * | `matMulGrad` | BatchMatMul gradient | all | tfjs's fails when batch dims broadcast (`[b,m,k] @ [k,n]`) |
 * | `copies` | GatherV2, Tile, Slice, SplitV, Transpose, Sum; Identity (wasm) | cpu, wasm | see below |
 * | `tileGrad` | Tile gradient | all | one reshape + sum instead of a Slice + Add per repetition |
 * | `comparisonGrads` | Greater, Less, Equal, … gradients | all | masks from trained tensors broke backprop |
 * | `dropout` | MmctrDropout (+ its gradient) | cpu, wasm | one-pass hashed-mask dropout; tf.dropout draws in JS |
 * | `reduceGrads` | Sum, Mean gradients | all | tfjs builds a JS `ones` of the input's size per call |
 *
 * `copies`: copy-bound kernels that ran 2–60× slower than plain row copies (bench/results/kernels.md), and wasm
 * copied every tensor the engine saves for backprop (Identity).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs';
import { PROJECT_MARK, type CpuBackendName } from './storage';
import { UNSORTED_SEGMENT_SUM, makeUnsortedSegmentSum } from './unsortedSegmentSum';
import { BATCH_MAT_MUL, batchMatMulGradConfig, makeWasmBatchMatMul } from './batchMatMul';
import { GATHER_V2, makeGather } from './gather';
import { TILE, makeTile, tileGradConfig } from './tile';
import { SLICE, SPLIT_V, makeSlice, makeSplitV } from './slice';
import { SUM, makeSum } from './sum';
import { TRANSPOSE, makeTranspose } from './transpose';
import { ZERO_GRAD_KERNELS, zeroGradConfig } from './comparisonGrads';
import { IDENTITY, makeWasmIdentity } from './identity';
import { DROPOUT_KERNEL, dropoutGradConfig, makeDropoutKernel } from './dropout';
import { meanGradConfig, sumGradConfig } from './reduceGrads';

export { scatterAdd, unsortedSegmentSumImpl } from './unsortedSegmentSum';
export { batchMatMulGradConfig, makeWasmBatchMatMul } from './batchMatMul';
export { gatherImpl } from './gather';
export { tileImpl, tileGradConfig } from './tile';
export { sliceInto, sliceImpl, splitVImpl } from './slice';
export { sumImpl } from './sum';
export { movesNoData, transposeImpl } from './transpose';
export { ZERO_GRAD_KERNELS, zeroGradConfig } from './comparisonGrads';
export type { CpuBackendName } from './storage';
export { DROPOUT_KERNEL, dropoutInto, hasSeededDropout, seededDropout } from './dropout';

/** The groups of the table above. */
export type ProjectKernelGroup =
  | 'segmentSum'
  | 'matMul'
  | 'matMulGrad'
  | 'copies'
  | 'tileGrad'
  | 'comparisonGrads'
  | 'dropout'
  | 'reduceGrads';

export const PROJECT_KERNEL_GROUPS: readonly ProjectKernelGroup[] = [
  'segmentSum',
  'copies',
  'matMul',
  'matMulGrad',
  'tileGrad',
  'comparisonGrads',
  'dropout',
  'reduceGrads',
];

export interface ProjectKernelOptions {
  /** Groups to install. Default: all of `PROJECT_KERNEL_GROUPS`. */
  groups?: readonly ProjectKernelGroup[];
}

type KernelFactory = (original: KernelConfig | undefined) => KernelConfig | undefined;

const CPU_BACKENDS: readonly CpuBackendName[] = ['cpu', 'wasm'];

/** Kernel overrides per group: [kernel name, backend, factory]. */
function kernelsOf(group: ProjectKernelGroup): [string, CpuBackendName, KernelFactory][] {
  switch (group) {
    case 'segmentSum':
      return CPU_BACKENDS.map((b) => [UNSORTED_SEGMENT_SUM, b, makeUnsortedSegmentSum(b)]);
    case 'matMul':
      return [
        [
          BATCH_MAT_MUL,
          'wasm',
          (original) => {
            const transpose = tf.getKernel(TRANSPOSE, 'wasm');
            return original && transpose ? makeWasmBatchMatMul(original, transpose) : undefined;
          },
        ],
      ];
    case 'copies':
      return CPU_BACKENDS.flatMap((b): [string, CpuBackendName, KernelFactory][] => [
        [GATHER_V2, b, makeGather(b)],
        [TILE, b, makeTile(b)],
        [SLICE, b, makeSlice(b)],
        [SPLIT_V, b, makeSplitV(b)],
        [TRANSPOSE, b, makeTranspose(b)],
        [SUM, b, makeSum(b)],
        ...(b === 'wasm' ? [[IDENTITY, b, makeWasmIdentity] as [string, CpuBackendName, KernelFactory]] : []),
      ]);
    case 'dropout':
      return CPU_BACKENDS.map((b) => [DROPOUT_KERNEL, b, () => makeDropoutKernel(b)]);
    case 'matMulGrad':
    case 'tileGrad':
    case 'comparisonGrads':
    case 'reduceGrads':
      return [];
    default: {
      const never: never = group;
      return never;
    }
  }
}

function gradsOf(group: ProjectKernelGroup): GradConfig[] {
  switch (group) {
    case 'matMulGrad':
      return [batchMatMulGradConfig];
    case 'tileGrad':
      return [tileGradConfig];
    case 'comparisonGrads':
      return ZERO_GRAD_KERNELS.map(([name, inputs]) => zeroGradConfig(name, inputs));
    case 'dropout':
      return [dropoutGradConfig];
    case 'reduceGrads':
      return [sumGradConfig, meanGradConfig];
    default:
      return [];
  }
}

/** Originals of what is installed, to restore: by `backend/kernel`, and by gradient kernel name. */
const savedKernels = new Map<string, KernelConfig | undefined>();
const savedGrads = new Map<string, GradConfig | undefined>();

type Marked = { [PROJECT_MARK]?: true };
/** Ours, even when installed by another copy of this module over the same tfjs registry: never wrap a wrapper. */
const isOurs = (f: unknown) => typeof f === 'function' && (f as Marked)[PROJECT_MARK] === true;

function installKernel(kernelName: string, backendName: CpuBackendName, make: KernelFactory): void {
  const key = `${backendName}/${kernelName}`;
  const original = tf.getKernel(kernelName, backendName);
  if (savedKernels.has(key) || isOurs(original?.kernelFunc)) return;
  const config = make(original);
  if (!config) return;
  (config.kernelFunc as Marked)[PROJECT_MARK] = true;
  savedKernels.set(key, original);
  // Unregister first: registering over an existing kernel logs a warning.
  if (original) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(config);
}

function installGrad(config: GradConfig): void {
  const original = tf.getGradient(config.kernelName);
  if (savedGrads.has(config.kernelName) || isOurs(original?.gradFunc)) return;
  (config.gradFunc as Marked)[PROJECT_MARK] = true;
  savedGrads.set(config.kernelName, original);
  if (original) tf.unregisterGradient(config.kernelName);
  tf.registerGradient(config);
}

/**
 * Installs the project's kernels and gradients (see the table above). Idempotent: what is installed stays as it
 * is. Works before or after a backend starts (wrapped kernels keep the original's setup function).
 */
export function registerProjectKernels(options: ProjectKernelOptions = {}): void {
  const groups = options.groups ?? PROJECT_KERNEL_GROUPS;
  // `copies` before `matMul`: the matMul wrapper then transposes through the copies group's Transpose.
  const ordered = [...groups].sort((a, b) => PROJECT_KERNEL_GROUPS.indexOf(a) - PROJECT_KERNEL_GROUPS.indexOf(b));
  for (const group of ordered) {
    for (const [name, backend, make] of kernelsOf(group)) installKernel(name, backend, make);
    for (const grad of gradsOf(group)) installGrad(grad);
  }
}

/** Restores tfjs's own kernels and gradients (removes ours where tfjs had none). */
export function unregisterProjectKernels(): void {
  for (const [key, original] of savedKernels) {
    const [backendName, kernelName] = key.split('/');
    tf.unregisterKernel(kernelName, backendName);
    if (original) tf.registerKernel(original);
  }
  savedKernels.clear();
  for (const [kernelName, original] of savedGrads) {
    tf.unregisterGradient(kernelName);
    if (original) tf.registerGradient(original);
  }
  savedGrads.clear();
}

/** The installed overrides, e.g. `wasm/UnsortedSegmentSum`, `grad/BatchMatMul`. */
export function installedProjectKernels(): string[] {
  return [...savedKernels.keys(), ...[...savedGrads.keys()].map((k) => `grad/${k}`)];
}
