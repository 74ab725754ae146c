/**
 * A tiled matrix-product template for raw WGSL programs (raw.ts): C = A · B_s for up to three right-hand operands
 * B_0..B_{n−1} sharing one A tile, where the elements of A and B are WGSL expressions (built on load from any
 * bindings: a transpose, a concatenation, a weight difference, an elementwise product) and the epilogue is WGSL
 * statements over the accumulators. What a fused op would otherwise materialise in separate dispatches (the
 * operand, the transposed copy, the bias add, the broadcast add) happens inside the one matrix product.
 *
 * Tiles: 64 × 64 outputs per workgroup of 16 × 16 threads (4 × 4 each), 16-deep K steps through workgroup memory
 * (A 64×16 and each B 16×64: 4 KiB + 4 KiB per operand, 16 KiB at three, WebGPU's default workgroup limit).
 * Optional split-K: `splits` > 1 workgroup slices of the K range, each storing its partial sum (the epilogue sees
 * `split`); the caller adds the slices in a later dispatch in a fixed order (deterministic, no atomics).
 *
 * Names the expressions must not use for bindings or helpers (the template's locals): e, m, n, k, kk, i, j, v, r, c,
 * li, tx, ty, av, bv, row0, col0, kBegin, kEnd, split, gwi, gti, tilesM, tilesN, tiles0, As, Bs0..2, a0..2, acc0..2,
 * gemmTiles, gemmTiles0, gemmTiles1.
 *
 * Workgroup linear index = split · tilesM · tilesN + tileM · tilesN + tileN (`gemmWorkgroups` gives the grid).
 */
import type { RawBinding, RawProgram } from './raw';
import { workgroupGrid } from './raw';

export const GEMM_TILE = 64;
const TK = 16;

export interface GemmSpec {
  key: string;
  bindings: RawBinding[];
  /** Extra uniforms beyond the template's M, N, K, splits, chunk (names must not clash). */
  uniforms: RawProgram['uniforms'];
  /** WGSL expression of A[r, k] (i32 `r` < M, `k` < K in scope). */
  loadA: string;
  /** WGSL expressions of B_s[k, c] (i32 `k` < K, `c` < N in scope); 1 to 3 operands. */
  loadB: string[];
  /**
   * WGSL statements storing one output: `r`, `c` (in range), `acc0`..`acc{n−1}` (f32) and `split` (i32) in scope.
   */
  store: string;
  /** WGSL helper functions placed before `main`. Default ''. */
  helpers?: string;
}

/** The template's own uniforms, first in the uniform block: M, N, K, splits, chunk (K per split). */
export const GEMM_UNIFORMS: RawProgram['uniforms'] = [
  { name: 'gm', type: 'i32' },
  { name: 'gn', type: 'i32' },
  { name: 'gk', type: 'i32' },
  { name: 'splits', type: 'i32' },
  { name: 'chunk', type: 'i32' },
];

/** Uniform names of one product in a program (a pair uses two sets). */
interface GemmNames {
  gm: string;
  gn: string;
  gk: string;
  splits: string;
  chunk: string;
}

const NAMES: GemmNames = { gm: 'gm', gn: 'gn', gk: 'gk', splits: 'splits', chunk: 'chunk' };

/** WGSL of `fn <name>(gwi : i32, li : i32)`: the tile loop of one product (workgroup index gwi within it). */
function tileFunction(name: string, spec: Pick<GemmSpec, 'loadA' | 'loadB' | 'store'>, n: GemmNames): string {
  const nb = spec.loadB.length;
  if (nb < 1 || nb > 3) throw new Error(`gemm ${name}: 1 to 3 B operands, got ${nb}`);
  const accDecl = spec.loadB.map((_, s) => `var a${s} : array<f32, 16>;`).join(' ');
  const loadBs = spec.loadB
    .map(
      (expr, s) => `
    for (var i = 0; i < 4; i = i + 1) {
      let e = li + i * 256;
      let kk = e / ${GEMM_TILE};
      let n = e - kk * ${GEMM_TILE};
      let k = k0 + kk;
      let c = col0 + n;
      var v = 0.0;
      if (k < kEnd && c < u.${n.gn}) { v = ${expr}; }
      Bs${s}[kk * ${GEMM_TILE} + n] = v;
    }`,
    )
    .join('');
  const fma = spec.loadB
    .map(
      (_, s) => `
      for (var j = 0; j < 4; j = j + 1) {
        let bv = Bs${s}[kk * ${GEMM_TILE} + tx * 4 + j];
        for (var i = 0; i < 4; i = i + 1) { a${s}[i * 4 + j] = a${s}[i * 4 + j] + av[i] * bv; }
      }`,
    )
    .join('');
  const accs = spec.loadB.map((_, s) => `let acc${s} = a${s}[i * 4 + j];`).join(' ');
  return `
fn ${name}(gwi : i32, li : i32) {
  let tilesM = (u.${n.gm} + ${GEMM_TILE - 1}) / ${GEMM_TILE};
  let tilesN = (u.${n.gn} + ${GEMM_TILE - 1}) / ${GEMM_TILE};
  let split = gwi / (tilesM * tilesN);
  if (split >= u.${n.splits}) { return; }
  let gti = gwi - split * tilesM * tilesN;
  let row0 = (gti / tilesN) * ${GEMM_TILE};
  let col0 = (gti - (gti / tilesN) * tilesN) * ${GEMM_TILE};
  let tx = li % 16;
  let ty = li / 16;
  let kBegin = split * u.${n.chunk};
  let kEnd = min(u.${n.gk}, kBegin + u.${n.chunk});
  ${accDecl}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}) {
    for (var i = 0; i < 4; i = i + 1) {
      let e = li + i * 256;
      let m = e / ${TK};
      let kk = e - m * ${TK};
      let r = row0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (r < u.${n.gm} && k < kEnd) { v = ${spec.loadA}; }
      As[m * ${TK} + kk] = v;
    }${loadBs}
    workgroupBarrier();
    for (var kk = 0; kk < ${TK}; kk = kk + 1) {
      var av : array<f32, 4>;
      for (var i = 0; i < 4; i = i + 1) { av[i] = As[(ty * 4 + i) * ${TK} + kk]; }${fma}
    }
    workgroupBarrier();
  }
  for (var i = 0; i < 4; i = i + 1) {
    for (var j = 0; j < 4; j = j + 1) {
      let r = row0 + ty * 4 + i;
      let c = col0 + tx * 4 + j;
      if (r < u.${n.gm} && c < u.${n.gn}) {
        ${accs}
        ${spec.store}
      }
    }
  }
}`;
}

function sharedMemory(operands: number): string {
  const b = Array.from({ length: operands }, (_, s) => `var<workgroup> Bs${s} : array<f32, ${TK * GEMM_TILE}>;`).join('\n');
  return `var<workgroup> As : array<f32, ${GEMM_TILE * TK}>;\n${b}`;
}

const MAIN_HEAD = `
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let gwi = i32(wid.x + wid.y * nwg.x);`;

export function gemmProgram(spec: GemmSpec): RawProgram {
  return {
    key: spec.key,
    bindings: spec.bindings,
    uniforms: [...GEMM_UNIFORMS, ...spec.uniforms],
    body: `
${spec.helpers ?? ''}
${sharedMemory(spec.loadB.length)}
${tileFunction('gemmTiles', spec, NAMES)}
${MAIN_HEAD}
  gemmTiles(gwi, i32(lid));
}`,
  };
}

/** One product of a pair: its operands and store (one B operand each); see `gemmPairProgram`. */
export type GemmPart = Pick<GemmSpec, 'loadA' | 'loadB' | 'store'>;

/** The uniforms of a pair: M, N, K, splits, chunk of the first product, then of the second (suffixes 0 and 1). */
export const GEMM_PAIR_UNIFORMS: RawProgram['uniforms'] = [0, 1].flatMap((i) => GEMM_UNIFORMS.map((f) => ({ name: `${f.name}${i}`, type: f.type })));

/**
 * Two independent products in one dispatch (e.g. dX = dZ·Wᵀ and dW = Xᵀ·dZ of a layer): the first
 * `tiles0` = ⌈M0/64⌉·⌈N0/64⌉·splits0 workgroups run the first, the rest the second. In the store and load
 * expressions of part i, the template's M, N are `u.gm<i>`, `u.gn<i>`.
 */
export function gemmPairProgram(spec: Omit<GemmSpec, 'loadA' | 'loadB' | 'store'> & { parts: [GemmPart, GemmPart] }): RawProgram {
  const names = (i: number): GemmNames => ({ gm: `gm${i}`, gn: `gn${i}`, gk: `gk${i}`, splits: `splits${i}`, chunk: `chunk${i}` });
  const operands = Math.max(spec.parts[0].loadB.length, spec.parts[1].loadB.length);
  return {
    key: spec.key,
    bindings: spec.bindings,
    uniforms: [...GEMM_PAIR_UNIFORMS, ...spec.uniforms],
    body: `
${spec.helpers ?? ''}
${sharedMemory(operands)}
${tileFunction('gemmTiles0', spec.parts[0], names(0))}
${tileFunction('gemmTiles1', spec.parts[1], names(1))}
${MAIN_HEAD}
  let tiles0 = ((u.gm0 + ${GEMM_TILE - 1}) / ${GEMM_TILE}) * ((u.gn0 + ${GEMM_TILE - 1}) / ${GEMM_TILE}) * u.splits0;
  if (gwi < tiles0) { gemmTiles0(gwi, i32(lid)); } else { gemmTiles1(gwi - tiles0, i32(lid)); }
}`,
  };
}

/** Workgroups of a pair of products (each with its splits). */
export function gemmPairWorkgroups(m0: number, n0: number, m1: number, n1: number, splits0 = 1, splits1 = 1): [number, number, number] {
  const t = (m: number, n: number, s: number) => Math.ceil(m / GEMM_TILE) * Math.ceil(n / GEMM_TILE) * s;
  return workgroupGrid(t(m0, n0, splits0) + t(m1, n1, splits1));
}

/** Uniform values of the template (M, N, K, splits, chunk) for `splits` slices of K. */
export function gemmUniforms(m: number, n: number, k: number, splits = 1): number[] {
  const chunk = Math.ceil(Math.ceil(k / splits) / TK) * TK;
  return [m, n, k, splits, Math.max(TK, chunk)];
}

/** The dispatch grid of an M × N product with `splits` slices of K. */
export function gemmWorkgroups(m: number, n: number, splits = 1): [number, number, number] {
  return workgroupGrid(Math.ceil(m / GEMM_TILE) * Math.ceil(n / GEMM_TILE) * splits);
}

/** Slices of K for a product whose output is only `tiles` workgroups: enough to fill a GPU, ≥ 1024 K per slice. */
export function gemmSplits(m: number, n: number, k: number): number {
  const tiles = Math.ceil(m / GEMM_TILE) * Math.ceil(n / GEMM_TILE);
  return Math.max(1, Math.min(Math.ceil(k / 1024), Math.ceil(512 / tiles)));
}
