/**
 * Seeded pseudo-random numbers: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes
 * PractRand to multiple TB), seeded through a string hash and splitmix32 mixing.
 *
 * Streams are addressed by a *path* (root seed + fork labels), never by how much a parent has consumed:
 * `rng.fork('items')` gives the same stream whatever else the parent drew before. That is what keeps a generator's
 * parts independent: adding a draw in the user code does not shift the item embeddings.
 */

/** 32-bit FNV-1a over the UTF-16 code units of `s`, then finalised with the murmur3 mixer. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** splitmix32 step: a new well-mixed word from a counter. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const TWO_POW_32 = 4294967296;

export class Rng {
  /** The path this stream was derived from (`seed/label/label...`): stable, printable. */
  readonly key: string;
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Second Box–Muller value, kept for the next `normal()` call. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number | string) {
    this.key = String(seed);
    const st = { s: hashString(this.key) };
    this.a = splitmix32(st) | 0;
    this.b = splitmix32(st) | 0;
    this.c = splitmix32(st) | 0;
    this.d = 1;
    // Warm-up as recommended for sfc32 so that close seeds diverge.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** An independent stream for the part called `label`; depends only on this stream's key and `label`. */
  fork(label: string | number): Rng {
    return new Rng(`${this.key}/${label}`);
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in (0, 1]: safe under `Math.log`. */
  uniformOpen(): number {
    return (this.nextUint32() + 1) / TWO_POW_32;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), unbiased (rejection on the top partial bucket). n ≤ 2^32. */
  int(n: number): number {
    if (!(n >= 1) || n > TWO_POW_32) throw new RangeError(`Rng.int: n must be in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** true with probability p. */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal N(0, 1) by Box–Muller (both values used). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniformOpen()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    this.hasSpare = true;
    return r * Math.cos(th);
  }

  /** Fills `out` with N(mean, sd²) values; faster than calling `normal()` in a loop. */
  fillNormal(out: Float32Array | Float64Array, mean = 0, sd = 1): void {
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = sd * Math.sqrt(-2 * Math.log(this.uniformOpen()));
      const th = 2 * Math.PI * this.uniform();
      out[i] = mean + r * Math.cos(th);
      out[i + 1] = mean + r * Math.sin(th);
    }
    if (i < n) out[i] = mean + sd * this.normal();
  }

  /** Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 through the boost u^(1/shape)). */
  gamma(shape: number): number {
    if (!(shape > 0)) throw new RangeError(`Rng.gamma: shape must be > 0, got ${shape}`);
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniformOpen(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniformOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** A Dirichlet(alpha) draw of length alpha.length (sums to 1). */
  dirichlet(alpha: ArrayLike<number>): Float64Array {
    const out = new Float64Array(alpha.length);
    let s = 0;
    for (let i = 0; i < alpha.length; i++) s += out[i] = this.gamma(alpha[i]);
    for (let i = 0; i < out.length; i++) out[i] /= s;
    return out;
  }

  /** Index drawn with probability ∝ weights[i] (linear scan; use `AliasTable` for many draws). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    // Rounding can leave u ≥ 0 at the end: return the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new RangeError('Rng.categorical: all weights are zero');
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * k distinct indices from 0..n-1 in increasing order (Knuth's selection sampling, O(n)); every subset of size k
   * is equally likely.
   */
  sampleSorted(n: number, k: number): Int32Array {
    if (k > n || k < 0) throw new RangeError(`Rng.sampleSorted: cannot pick ${k} of ${n}`);
    const out = new Int32Array(k);
    let m = 0;
    for (let i = 0; i < n && m < k; i++) if ((n - i) * this.uniform() < k - m) out[m++] = i;
    return out;
  }
}

/** Seeded root stream. */
export function rng(seed: number | string): Rng {
  return new Rng(seed);
}

/**
 * Walker/Vose alias table: O(n) build, O(1) draws with probability ∝ weights[i].
 * `draw(r)` maps the draw back through `ids` when given (e.g. a pool of item ids).
 */
export class AliasTable {
  readonly size: number;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;
  private readonly ids: Int32Array | null;

  constructor(weights: ArrayLike<number>, ids?: Int32Array) {
    const n = weights.length;
    if (n === 0) throw new RangeError('AliasTable: no weights');
    if (ids && ids.length !== n) throw new RangeError(`AliasTable: ${ids.length} ids for ${n} weights`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`AliasTable: weight ${i} is ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('AliasTable: all weights are zero');
    this.size = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    this.ids = ids ?? null;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      if (scaled[i] < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns];
      const l = large[--nl];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] = scaled[l] + scaled[s] - 1;
      if (scaled[l] < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    while (nl > 0) this.prob[large[--nl]] = 1;
    while (ns > 0) this.prob[small[--ns]] = 1;
  }

  /** One index (or id) drawn from the table. */
  draw(r: Rng): number {
    const i = r.int(this.size);
    const k = r.uniform() < this.prob[i] ? i : this.alias[i];
    return this.ids ? this.ids[k] : k;
  }
}
