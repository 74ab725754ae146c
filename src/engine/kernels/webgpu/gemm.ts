/**
 * A tiled matrix-product template for raw WGSL programs (raw.ts): C = A · B_s for up to three right-hand operands
 * B_0..B_{n−1} sharing one A tile, where the elements of A and B are WGSL expressions (built on load from any
 * bindings: a transpose, a concatenation, a weight difference, an elementwise product) and the epilogue is WGSL
 * statements over the accumulators. What a fused op would otherwise materialise in separate dispatches (the
 * operand, the transposed copy, the bias add, the broadcast add) happens inside the one matrix product.
 *
 * Tiles (`GemmTile`, per program): TILE_64 (64 × 64 outputs, 4 × 4 per thread, K steps of 16; the default) for
 * small products, TILE_128 / TILE_128x64 / TILE_64x128 (8 × 8, 8 × 4, 4 × 8 per thread, K steps of 8) for the large
 * ones on a discrete GPU (DIN's attention products: about 5× the throughput of TILE_64 on an H100). Operands go
 * through workgroup memory as vec4 rows (padded), the inner product is unrolled into named vec4 accumulators, and
 * `aContig`/`bContig` say along which index neighbouring threads load (coalesced reads of transposed operands).
 * Optional split-K: `splits` > 1 workgroup slices of the K range, each storing its partial sum (the epilogue sees
 * `split`); the caller adds the slices in a later dispatch in a fixed order (deterministic, no atomics).
 *
 * Names the expressions must not use for bindings or helpers (the template's locals): e, m, n, k, kk, i, j, jv, v,
 * r, c, li, tx, ty, row0, col0, kBegin, kEnd, k0, split, gwi, gti, tilesM, tilesN, tiles0, As, Bs0..2, av*, b*v*,
 * c*_*_*, res0..2, acc0..2, gemmTiles, gemmTiles0, gemmTiles1.
 *
 * Workgroup linear index = split · tilesM · tilesN + tileM · tilesN + tileN (`gemmWorkgroups` gives the grid).
 */
import type { RawBinding, RawProgram } from './raw';
import { workgroupGrid } from './raw';

/** The default tile's edge (64 × 64 outputs per workgroup). */
export const GEMM_TILE = 64;
/** K rounding of the split chunks (every tile's K step divides it). */
const K_ALIGN = 16;

/**
 * A workgroup's tile: `bm` × `bn` outputs, `tm` × `tn` per thread ((bm/tm)·(bn/tn) threads), `tk`-deep K steps
 * through workgroup memory. `tm`, `tn` multiples of 4 (vec4 reads of the tiles); `tk` divides 16.
 */
export interface GemmTile {
  bm: number;
  bn: number;
  tm: number;
  tn: number;
  tk: number;
}

/** 64 × 64, 4 × 4 per thread, K steps of 16: small products, up to three B operands in 16 KiB. */
export const TILE_64: GemmTile = { bm: 64, bn: 64, tm: 4, tn: 4, tk: 16 };
/** 128 × 128, 8 × 8 per thread, K steps of 8: large products on a discrete GPU (one operand; 8.3 KiB). */
export const TILE_128: GemmTile = { bm: 128, bn: 128, tm: 8, tn: 8, tk: 8 };
/** 128 × 64, 8 × 4 per thread: large products with a narrow output (N ≤ 64) or up to three operands (11 KiB). */
export const TILE_128x64: GemmTile = { bm: 128, bn: 64, tm: 8, tn: 4, tk: 8 };
/** 64 × 128, 4 × 8 per thread: products of 65 to 128 rows and wide outputs (the weight gradients). */
export const TILE_64x128: GemmTile = { bm: 64, bn: 128, tm: 4, tn: 8, tk: 8 };

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
  /** The tile. Default TILE_64. */
  tile?: GemmTile;
  /**
   * Which index of A neighbouring threads load (the one along which A's memory is contiguous, for coalesced
   * reads): 'k' (A row-major [M, K]) or 'm' (A stored [K, M], e.g. a transposed operand). Default 'k'.
   */
  aContig?: 'k' | 'm';
  /** The same for B: 'n' (B row-major [K, N]) or 'k' (B stored [N, K]). Default 'n'. */
  bContig?: 'n' | 'k';
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

function checkTile(t: GemmTile): number {
  const threads = (t.bm / t.tm) * (t.bn / t.tn);
  if (!Number.isInteger(threads) || t.tm % 4 || t.tn % 4 || 16 % t.tk || (t.tk * t.bm) % threads || (t.tk * t.bn) % threads) {
    throw new Error(`gemm: unusable tile ${JSON.stringify(t)}`);
  }
  return threads;
}

/** Row stride (floats) of a tile in workgroup memory: padded by 4 so that K-major stores hit distinct banks. */
const stride = (edge: number) => edge + 4;

/**
 * WGSL of `fn <name>(gwi : i32, li : i32)`: the tile loop of one product (workgroup index gwi within it).
 *
 * A thread owns tm/4 × tn/4 blocks of 4 × 4 outputs: rows ty·4 + iv·(bm/tm·4) + 0..3 and columns
 * tx·4 + jv·(bn/tn·4) + 0..3 (neighbouring threads read neighbouring vec4s of the tiles: no bank conflicts; they
 * store neighbouring 16-byte pieces of a row). The accumulators are named registers (the inner product unrolled in
 * the generated code); each output sums its K range in order, one product at a time.
 */
function tileFunction(name: string, spec: Pick<GemmSpec, 'loadA' | 'loadB' | 'store' | 'tile' | 'aContig' | 'bContig'>, n: GemmNames): string {
  const nb = spec.loadB.length;
  if (nb < 1 || nb > 3) throw new Error(`gemm ${name}: 1 to 3 B operands, got ${nb}`);
  const t = spec.tile ?? TILE_64;
  const threads = checkTile(t);
  const txn = t.bn / t.tn; // threads along N
  const tyn = t.bm / t.tm; // threads along M
  const ivs = t.tm / 4;
  const jvs = t.tn / 4;
  const sa = stride(t.bm) / 4; // vec4s per A tile row (one k)
  const sb = stride(t.bn) / 4;
  const loadIdx = (contigK: boolean, edge: string, edgeN: number) =>
    contigK
      ? `let kk = e % ${t.tk}; let ${edge} = e / ${t.tk};`
      : `let ${edge} = e % ${edgeN}; let kk = e / ${edgeN};`;
  const loadA = `
    for (var i = 0; i < ${(t.tk * t.bm) / threads}; i = i + 1) {
      let e = li + i * ${threads};
      ${loadIdx((spec.aContig ?? 'k') === 'k', 'm', t.bm)}
      let r = row0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (r < u.${n.gm} && k < kEnd) { v = ${spec.loadA}; }
      As[kk * ${sa} + m / 4][m % 4] = v;
    }`;
  const loadBs = spec.loadB
    .map(
      (expr, s) => `
    for (var i = 0; i < ${(t.tk * t.bn) / threads}; i = i + 1) {
      let e = li + i * ${threads};
      ${loadIdx((spec.bContig ?? 'n') === 'k', 'n', t.bn)}
      let k = k0 + kk;
      let c = col0 + n;
      var v = 0.0;
      if (k < kEnd && c < u.${n.gn}) { v = ${expr}; }
      Bs${s}[kk * ${sb} + n / 4][n % 4] = v;
    }`,
    )
    .join('');
  const comp = ['x', 'y', 'z', 'w'];
  const accDecl: string[] = [];
  const fma: string[] = [];
  for (let iv = 0; iv < ivs; iv++) fma.push(`let av${iv} = As[kk * ${sa} + ${iv * tyn} + ty];`);
  for (let s = 0; s < nb; s++) {
    for (let jv = 0; jv < jvs; jv++) fma.push(`let b${s}v${jv} = Bs${s}[kk * ${sb} + ${jv * txn} + tx];`);
    for (let iv = 0; iv < ivs; iv++) {
      for (let ii = 0; ii < 4; ii++) {
        for (let jv = 0; jv < jvs; jv++) {
          const acc = `c${s}_${iv * 4 + ii}_${jv}`;
          accDecl.push(`var ${acc} = vec4<f32>(0.0);`);
          fma.push(`${acc} = ${acc} + av${iv}.${comp[ii]} * b${s}v${jv};`);
        }
      }
    }
  }
  // Epilogue: the accumulators into arrays (indexed once per output), then the caller's store per output.
  const blocks = t.tm * jvs;
  const gather = Array.from({ length: nb }, (_, s) => {
    const lines = [`var res${s} : array<vec4<f32>, ${blocks}>;`];
    for (let i = 0; i < t.tm; i++) for (let jv = 0; jv < jvs; jv++) lines.push(`res${s}[${i * jvs + jv}] = c${s}_${i}_${jv};`);
    return lines.join('\n  ');
  }).join('\n  ');
  const accs = spec.loadB.map((_, s) => `let acc${s} = res${s}[i * ${jvs} + jv][j];`).join(' ');
  return `
fn ${name}(gwi : i32, li : i32) {
  let tilesM = (u.${n.gm} + ${t.bm - 1}) / ${t.bm};
  let tilesN = (u.${n.gn} + ${t.bn - 1}) / ${t.bn};
  let split = gwi / (tilesM * tilesN);
  if (split >= u.${n.splits}) { return; }
  let gti = gwi - split * tilesM * tilesN;
  let row0 = (gti / tilesN) * ${t.bm};
  let col0 = (gti - (gti / tilesN) * tilesN) * ${t.bn};
  let tx = li % ${txn};
  let ty = li / ${txn};
  let kBegin = split * u.${n.chunk};
  let kEnd = min(u.${n.gk}, kBegin + u.${n.chunk});
  ${accDecl.join('\n  ')}
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${t.tk}) {${loadA}${loadBs}
    workgroupBarrier();
    for (var kk = 0; kk < ${t.tk}; kk = kk + 1) {
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${gather}
  for (var i = 0; i < ${t.tm}; i = i + 1) {
    let r = row0 + (i / 4) * ${tyn * 4} + ty * 4 + i % 4;
    for (var jv = 0; jv < ${jvs}; jv = jv + 1) {
      for (var j = 0; j < 4; j = j + 1) {
        let c = col0 + jv * ${txn * 4} + tx * 4 + j;
        if (r < u.${n.gm} && c < u.${n.gn}) {
          ${accs}
          ${spec.store}
        }
      }
    }
  }
}`;
}

function sharedMemory(operands: number, t: GemmTile): string {
  const b = Array.from({ length: operands }, (_, s) => `var<workgroup> Bs${s} : array<vec4<f32>, ${(t.tk * stride(t.bn)) / 4}>;`).join('\n');
  return `var<workgroup> As : array<vec4<f32>, ${(t.tk * stride(t.bm)) / 4}>;\n${b}`;
}

/** Workgroup memory of a program with this tile and `operands` B operands, bytes. */
export function gemmSharedBytes(t: GemmTile, operands: number): number {
  return 4 * t.tk * (stride(t.bm) + operands * stride(t.bn));
}

const mainHead = (threads: number) => `
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>,
        @builtin(local_invocation_index) lid : u32) {
  let gwi = i32(wid.x + wid.y * nwg.x);`;

export function gemmProgram(spec: GemmSpec): RawProgram {
  const tile = spec.tile ?? TILE_64;
  return {
    key: spec.key,
    bindings: spec.bindings,
    uniforms: [...GEMM_UNIFORMS, ...spec.uniforms],
    body: `
${spec.helpers ?? ''}
${sharedMemory(spec.loadB.length, tile)}
${tileFunction('gemmTiles', spec, NAMES)}
${mainHead(checkTile(tile))}
  gemmTiles(gwi, i32(lid));
}`,
  };
}

/** One product of a pair: its operands and store (one B operand each); see `gemmPairProgram`. */
export type GemmPart = Pick<GemmSpec, 'loadA' | 'loadB' | 'store'>;

/** The uniforms of a pair: M, N, K, splits, chunk of the first product, then of the second (suffixes 0 and 1). */
export const GEMM_PAIR_UNIFORMS: RawProgram['uniforms'] = [0, 1].flatMap((i) => GEMM_UNIFORMS.map((f) => ({ name: `${f.name}${i}`, type: f.type })));

/**
 * Two independent products in one dispatch (e.g. dX = dZ·Wᵀ and dW = Xᵀ·dZ of a layer), on one tile: the first
 * `tiles0` = ⌈M0/bm⌉·⌈N0/bn⌉·splits0 workgroups run the first, the rest the second. In the store and load
 * expressions of part i, the template's M, N are `u.gm<i>`, `u.gn<i>`.
 */
export function gemmPairProgram(spec: Omit<GemmSpec, 'loadA' | 'loadB' | 'store'> & { parts: [GemmPart, GemmPart] }): RawProgram {
  const names = (i: number): GemmNames => ({ gm: `gm${i}`, gn: `gn${i}`, gk: `gk${i}`, splits: `splits${i}`, chunk: `chunk${i}` });
  const operands = Math.max(spec.parts[0].loadB.length, spec.parts[1].loadB.length);
  const tile = spec.tile ?? TILE_64;
  return {
    key: spec.key,
    bindings: spec.bindings,
    uniforms: [...GEMM_PAIR_UNIFORMS, ...spec.uniforms],
    body: `
${spec.helpers ?? ''}
${sharedMemory(operands, tile)}
${tileFunction('gemmTiles0', { ...spec.parts[0], tile, aContig: spec.aContig, bContig: spec.bContig }, names(0))}
${tileFunction('gemmTiles1', { ...spec.parts[1], tile, aContig: spec.aContig, bContig: spec.bContig }, names(1))}
${mainHead(checkTile(tile))}
  let tiles0 = ((u.gm0 + ${tile.bm - 1}) / ${tile.bm}) * ((u.gn0 + ${tile.bn - 1}) / ${tile.bn}) * u.splits0;
  if (gwi < tiles0) { gemmTiles0(gwi, i32(lid)); } else { gemmTiles1(gwi - tiles0, i32(lid)); }
}`,
  };
}

const tilesOf = (m: number, n: number, t: GemmTile) => Math.ceil(m / t.bm) * Math.ceil(n / t.bn);

/** Workgroups of a pair of products (each with its splits) on `tile`. */
export function gemmPairWorkgroups(m0: number, n0: number, m1: number, n1: number, splits0 = 1, splits1 = 1, tile: GemmTile = TILE_64): [number, number, number] {
  return workgroupGrid(tilesOf(m0, n0, tile) * splits0 + tilesOf(m1, n1, tile) * splits1);
}

/** Uniform values of the template (M, N, K, splits, chunk) for `splits` slices of K. */
export function gemmUniforms(m: number, n: number, k: number, splits = 1): number[] {
  const chunk = Math.ceil(Math.ceil(k / splits) / K_ALIGN) * K_ALIGN;
  return [m, n, k, splits, Math.max(K_ALIGN, chunk)];
}

/** The dispatch grid of an M × N product with `splits` slices of K on `tile`. */
export function gemmWorkgroups(m: number, n: number, splits = 1, tile: GemmTile = TILE_64): [number, number, number] {
  return workgroupGrid(tilesOf(m, n, tile) * splits);
}

/**
 * Slices of K for a product whose output is only a few tiles: about `target` workgroups (enough to fill a GPU),
 * ≥ `minChunk` K per slice.
 */
export function gemmSplits(m: number, n: number, k: number, tile: GemmTile = TILE_64, target = 512, minChunk = 1024): number {
  return Math.max(1, Math.min(Math.ceil(k / minChunk), Math.ceil(target / tilesOf(m, n, tile))));
}
