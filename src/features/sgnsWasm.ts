/**
 * The inner step of skip-gram negative sampling as a WebAssembly SIMD function, assembled here byte by byte (no
 * toolchain, no binary in the repository): for one (context, centre) pair and its negatives,
 *
 *   neu = 0
 *   for t in targets:  f = syn0[l1] · syn1[t];  g = (label_t − σ(f)) · α;  neu += g·syn1[t];  syn1[t] += g·syn0[l1]
 *   syn0[l1] += neu
 *
 * with label 1 for the first target (the centre) and 0 for the others, and σ read from a table as word2vec.c does
 * (σ(f) clamped outside ±6). Vectors are f32 rows in the module's imported memory; the dot products and updates run
 * four lanes at a time (f32x4), which is what makes Word2Vec over the full item_seq fit the time budget: the same
 * loop in JavaScript runs ~10× slower (measured in bench/embed.ts).
 *
 * Layout (byte offsets into the memory, all multiples of 16): syn0 rows, syn1 rows, the σ table, then per thread a
 * scratch area holding `neu` (dim floats) and the target list (i32 byte offsets of syn1 rows).
 */

/** The few WebAssembly JS API members used here (the project's `lib` has no DOM types, where they live). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
export type WasmModule = object;
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** The runtime's WebAssembly object, or undefined where there is none. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

/** σ table resolution: f ∈ [−6, 6] maps to SIGMOID_BINS + 1 entries. */
export const SIGMOID_BINS = 4096;
export const SIGMOID_MAX = 6;

/** Fills σ at the table's grid: entry i is σ(−6 + 12·i / SIGMOID_BINS). */
export function fillSigmoidTable(out: Float32Array): void {
  for (let i = 0; i <= SIGMOID_BINS; i++) {
    const x = ((2 * i) / SIGMOID_BINS - 1) * SIGMOID_MAX;
    out[i] = 1 / (1 + Math.exp(-x));
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f32(x: number): number[] {
  return Array.from(new Uint8Array(Float32Array.of(x).buffer));
}

function str(s: string): number[] {
  const b = Array.from(Buffer.from(s, 'utf8'));
  return [...uleb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// Opcodes (WebAssembly core 2.0 + fixed-width SIMD).
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, empty: 0x40,
  get: 0x20, set: 0x21, tee: 0x22,
  i32Load: 0x28, f32Load: 0x2a,
  i32Const: 0x41, f32Const: 0x43,
  i32Eqz: 0x45, i32LtU: 0x49, i32GeU: 0x4f, f32Lt: 0x5d, f32Gt: 0x5e,
  i32Add: 0x6a, i32Shl: 0x74, f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94,
  i32TruncF32S: 0xa8, f32ConvertI32U: 0xb3,
  simd: 0xfd,
} as const;
const simd = (code: number) => [op.simd, ...uleb(code)];
const v128Load = [...simd(0x00), 4, 0];
const v128Store = [...simd(0x0b), 4, 0];
const v128Zero = [...simd(0x0c), ...new Array(16).fill(0)];
const f32x4Splat = simd(0x13);
const f32x4Extract = (lane: number) => [...simd(0x1f), lane];
const f32x4Add = simd(0xe4);
const f32x4Mul = simd(0xe6);

/** Parameters and locals of `pair`, by index. */
const L = {
  l1: 0, tgt: 1, n: 2, alpha: 3, neu: 4, dimBytes: 5, sig: 6,
  i: 7, t: 8, l2: 9, f: 10, g: 11, label: 12, acc: 13, gv: 14, s1: 15,
} as const;

const get = (l: number) => [op.get, l];
const set = (l: number) => [op.set, l];
const tee = (l: number) => [op.tee, l];
const i32c = (v: number) => [op.i32Const, ...sleb(v)];
const f32c = (v: number) => [op.f32Const, ...f32(v)];
/** addr = base + i */
const at = (base: number) => [...get(base), ...get(L.i), op.i32Add];
/** i += 16; loop again while i < dimBytes (the innermost enclosing loop). */
const nextLane = [...get(L.i), ...i32c(16), op.i32Add, ...tee(L.i), ...get(L.dimBytes), op.i32LtU, op.brIf, 0];

function pairBody(): number[] {
  const scale = SIGMOID_BINS / (2 * SIGMOID_MAX);
  return [
    // neu = 0
    ...i32c(0), ...set(L.i),
    op.loop, op.empty,
    ...at(L.neu), ...v128Zero, ...v128Store,
    ...nextLane,
    op.end,
    ...i32c(0), ...set(L.t),
    op.block, op.empty,
    op.loop, op.empty,
    ...get(L.t), ...get(L.n), op.i32GeU, op.brIf, 1,
    // l2 = targets[t]; label = t == 0
    ...get(L.tgt), ...get(L.t), ...i32c(2), op.i32Shl, op.i32Add, op.i32Load, 2, 0, ...set(L.l2),
    ...get(L.t), op.i32Eqz, op.f32ConvertI32U, ...set(L.label),
    // f = syn0[l1] · syn1[l2]
    ...v128Zero, ...set(L.acc), ...i32c(0), ...set(L.i),
    op.loop, op.empty,
    ...get(L.acc), ...at(L.l1), ...v128Load, ...at(L.l2), ...v128Load, ...f32x4Mul, ...f32x4Add, ...set(L.acc),
    ...nextLane,
    op.end,
    ...get(L.acc), ...f32x4Extract(0), ...get(L.acc), ...f32x4Extract(1), op.f32Add,
    ...get(L.acc), ...f32x4Extract(2), op.f32Add, ...get(L.acc), ...f32x4Extract(3), op.f32Add, ...set(L.f),
    // g = (label − σ(f)) · α, σ clamped outside ±6
    ...get(L.f), ...f32c(SIGMOID_MAX), op.f32Gt,
    op.if, F32,
    ...get(L.label), ...f32c(1), op.f32Sub,
    op.else,
    ...get(L.f), ...f32c(-SIGMOID_MAX), op.f32Lt,
    op.if, F32,
    ...get(L.label),
    op.else,
    ...get(L.label),
    ...get(L.sig), ...get(L.f), ...f32c(SIGMOID_MAX), op.f32Add, ...f32c(scale), op.f32Mul, op.i32TruncF32S,
    ...i32c(2), op.i32Shl, op.i32Add, op.f32Load, 2, 0,
    op.f32Sub,
    op.end,
    op.end,
    ...get(L.alpha), op.f32Mul, ...tee(L.g), ...f32x4Splat, ...set(L.gv),
    // neu += g·syn1[l2]; syn1[l2] += g·syn0[l1]
    ...i32c(0), ...set(L.i),
    op.loop, op.empty,
    ...at(L.l2), ...v128Load, ...set(L.s1),
    ...at(L.neu), ...at(L.neu), ...v128Load, ...get(L.gv), ...get(L.s1), ...f32x4Mul, ...f32x4Add, ...v128Store,
    ...at(L.l2), ...get(L.s1), ...get(L.gv), ...at(L.l1), ...v128Load, ...f32x4Mul, ...f32x4Add, ...v128Store,
    ...nextLane,
    op.end,
    ...get(L.t), ...i32c(1), op.i32Add, ...set(L.t),
    op.br, 0,
    op.end,
    op.end,
    // syn0[l1] += neu
    ...i32c(0), ...set(L.i),
    op.loop, op.empty,
    ...at(L.l1), ...at(L.l1), ...v128Load, ...at(L.neu), ...v128Load, ...f32x4Add, ...v128Store,
    ...nextLane,
    op.end,
    op.end,
  ];
}

/**
 * The module's bytes: imports `env.mem` (pages: its size; `shared` for threads) and exports
 * `pair(l1, targets, n, alpha, neu, dimBytes, sigmoid)` (byte offsets; dimBytes a multiple of 16).
 */
export function sgnsModuleBytes(pages: number, shared: boolean): Uint8Array {
  const type = [0x60, ...uleb(7), I32, I32, I32, F32, I32, I32, I32, 0];
  const limits = shared ? [0x03, ...uleb(pages), ...uleb(pages)] : [0x00, ...uleb(pages)];
  // Locals after the 7 parameters: i, t, l2 (i32); f, g, label (f32); acc, gv, s1 (v128).
  const localDecl = [...uleb(3), ...uleb(3), I32, ...uleb(3), F32, ...uleb(3), V128];
  const body = [...localDecl, ...pairBody()];
  const code = [...uleb(1), ...uleb(body.length), ...body];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), ...type]),
    ...section(2, [...uleb(1), ...str('env'), ...str('mem'), 0x02, ...limits]),
    ...section(3, [...uleb(1), 0]),
    ...section(7, [...uleb(1), ...str('pair'), 0x00, 0]),
    ...section(10, code),
  ];
  return Uint8Array.from(bytes);
}

export type PairFn = (l1: number, targets: number, n: number, alpha: number, neu: number, dimBytes: number, sigmoid: number) => void;

/** Whether this runtime runs the module (WebAssembly with SIMD; shared memory when asked). */
export function sgnsWasmSupported(shared: boolean): boolean {
  try {
    const api = wasmApi();
    return api !== undefined && api.validate(sgnsModuleBytes(1, shared));
  } catch {
    return false;
  }
}
