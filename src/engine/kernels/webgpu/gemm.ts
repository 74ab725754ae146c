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
 * li, tx, ty, av, bv, row0, col0, kBegin, kEnd, split, gwi, gti, tilesM, tilesN, As, Bs0..2, a0..2, acc0..2.
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

export function gemmProgram(spec: GemmSpec): RawProgram {
  const nb = spec.loadB.length;
  if (nb < 1 || nb > 3) throw new Error(`gemmProgram ${spec.key}: 1 to 3 B operands, got ${nb}`);
  const shared = spec.loadB.map((_, s) => `var<workgroup> Bs${s} : array<f32, ${TK * GEMM_TILE}>;`).join('\n');
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
      if (k < kEnd && c < u.gn) { v = ${expr}; }
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
  return {
    key: spec.key,
    bindings: spec.bindings,
    uniforms: [...GEMM_UNIFORMS, ...spec.uniforms],
    body: `
${spec.helpers ?? ''}
var<workgroup> As : array<f32, ${GEMM_TILE * TK}>;
${shared}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let tilesM = (u.gm + ${GEMM_TILE - 1}) / ${GEMM_TILE};
  let tilesN = (u.gn + ${GEMM_TILE - 1}) / ${GEMM_TILE};
  let gwi = i32(wid.x + wid.y * nwg.x);
  let split = gwi / (tilesM * tilesN);
  if (split >= u.splits) { return; }
  let gti = gwi - split * tilesM * tilesN;
  let row0 = (gti / tilesN) * ${GEMM_TILE};
  let col0 = (gti - (gti / tilesN) * tilesN) * ${GEMM_TILE};
  let li = i32(lid);
  let tx = li % 16;
  let ty = li / 16;
  let kBegin = split * u.chunk;
  let kEnd = min(u.gk, kBegin + u.chunk);
  ${accDecl}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}) {
    for (var i = 0; i < 4; i = i + 1) {
      let e = li + i * 256;
      let m = e / ${TK};
      let kk = e - m * ${TK};
      let r = row0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (r < u.gm && k < kEnd) { v = ${spec.loadA}; }
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
      if (r < u.gm && c < u.gn) {
        ${accs}
        ${spec.store}
      }
    }
  }
}`,
  };
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
