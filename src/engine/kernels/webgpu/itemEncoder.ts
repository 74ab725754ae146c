/**
 * The item encoder of the MicroLens models (src/models/features.ts `ItemEncoder.encodeIds`) as one custom op on
 * webgpu: for ids [...] (int32; 0 = padding)
 *
 *   out[p] = [ idTable[id] ‖ mean_{t ∈ lists[id], t > 0} tagTable[t] ‖ vectors[id] · W ]     [..., e + e + P]
 *
 * and zero where id ≤ 0, with the gradients of idTable, tagTable and W (lists and vectors are frozen).
 *
 * | | dispatches | tfjs-level ops replaced |
 * |---|---|---|
 * | forward | 1 (`mmctrItemEncode`) | padding mask, id lookup, gather of the tag lists, tag lookup, masked mean, gather of the vectors, projection matMul, concat, padding mask, multiply (10 dispatches) |
 * | backward, distinct ids known on the host (the encoder's 'unique' lookup) | 2 (`mmctrItemEncodeGradHostW`: dW partials, a split-K matrix product over the positions; `mmctrItemEncodeGradHost`: every gradient element written once, tag sums through a host-built CSR, dW from the partials in order: deterministic) | multiply, concat gradient, matMul, masked-mean gradient, two lookup gradients (8) |
 * | backward, otherwise | 2 (`mmctrItemEncodeGradInit`: zero the two table gradients + partial sums of dW; `mmctrItemEncodeGradScatter`: scatter-add into both tables + the sum of the dW partials) | the same |
 *
 * Without host ids, dW = Σ_p vectors[id_p]ᵀ · dy_p[2e:] is summed in `DW_CHUNKS` slices of the positions (partials)
 * added in a fixed order, and the table gradients use the compare-exchange float add of program.ts (positions may
 * repeat an id, items share tags), so their last bits can vary run to run, as with the unfused lookups.
 */
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../../../errors';
import { TILE_128x64, gemmProgram, gemmSplits, gemmUniforms, gemmWorkgroups } from './gemm';
import { atomicAddF32 } from './program';
import { type RawProgram, allocOnGpu, flushQueue, runRaw, workgroupGrid, FLAT_MAIN } from './raw';

const WG = 256;
/** Slices of the positions in the dW partial sums (each thread of the init pass sums one slice of one dW entry). */
const DW_CHUNKS = 32;

export interface ItemEncoderWeights {
  /** item_id table [V, e] (trainable). */
  idTable: tf.Tensor;
  /** Tag lists of every item [V, T] int32, left-padded with 0 (frozen). */
  tagLists: tf.Tensor;
  /** Tag table [Vt, e] (trainable). */
  tagTable: tf.Tensor;
  /** Pretrained vectors [V, d] (frozen). */
  vectors: tf.Tensor;
  /** Bias-free projection [d, P] (trainable). */
  projection: tf.Tensor;
}


/** Shape uniforms shared by the three programs. */
const SHAPE: RawProgram['uniforms'] = [
  { name: 'n', type: 'i32' }, // positions
  { name: 'e', type: 'i32' }, // id / tag embedding width
  { name: 'pw', type: 'i32' }, // projection width P
  { name: 'd', type: 'i32' }, // pretrained width
  { name: 'tl', type: 'i32' }, // tags per item T
  { name: 'rows', type: 'i32' }, // item table rows V
  { name: 'tagRows', type: 'i32' }, // tag table rows Vt
];

const FORWARD: RawProgram = {
  key: 'mmctrItemEncode',
  bindings: [
    { name: 'idT', access: 'read', type: 'f32' },
    { name: 'lists', access: 'read', type: 'i32' },
    { name: 'tagT', access: 'read', type: 'f32' },
    { name: 'vec', access: 'read', type: 'f32' },
    { name: 'w', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'out', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  body: `${FLAT_MAIN}
  let width = 2 * u.e + u.pw;
  if (idx >= u.n * width) { return; }
  let p = idx / width;
  let c = idx - p * width;
  let id = ids[p];
  var v = 0.0;
  if (id > 0 && id < u.rows) {
    if (c < u.e) {
      v = idT[id * u.e + c];
    } else if (c < 2 * u.e) {
      let k = c - u.e;
      var s = 0.0;
      var cnt = 0.0;
      for (var t = 0; t < u.tl; t = t + 1) {
        let tag = lists[id * u.tl + t];
        if (tag > 0 && tag < u.tagRows) { s = s + tagT[tag * u.e + k]; cnt = cnt + 1.0; }
      }
      v = s / max(cnt, 1.0);
    } else {
      let k = c - 2 * u.e;
      var s = 0.0;
      for (var j = 0; j < u.d; j = j + 1) { s = s + vec[id * u.d + j] * w[j * u.pw + k]; }
      v = s;
    }
  }
  out[idx] = v;
}`,
};

/**
 * Work items, in this order: zero dId (rows·e), zero dTag (tagRows·e), the dW partials (DW_CHUNKS · d · P; chunk-major).
 */
const GRAD_INIT: RawProgram = {
  key: 'mmctrItemEncodeGradInit',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'vec', access: 'read', type: 'f32' },
    { name: 'dId', access: 'read_write', type: 'f32' },
    { name: 'dTag', access: 'read_write', type: 'f32' },
    { name: 'partials', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  body: `${FLAT_MAIN}
  let nId = u.rows * u.e;
  let nTag = u.tagRows * u.e;
  let nW = u.d * u.pw;
  if (idx < nId) { dId[idx] = 0.0; return; }
  if (idx < nId + nTag) { dTag[idx - nId] = 0.0; return; }
  let q = idx - nId - nTag;
  if (q >= ${DW_CHUNKS} * nW) { return; }
  let chunk = q / nW;
  let jk = q - chunk * nW;
  let j = jk / u.pw;
  let k = jk - j * u.pw;
  let width = 2 * u.e + u.pw;
  let per = (u.n + ${DW_CHUNKS - 1}) / ${DW_CHUNKS};
  let end = min(u.n, (chunk + 1) * per);
  var s = 0.0;
  for (var p = chunk * per; p < end; p = p + 1) {
    let id = ids[p];
    if (id > 0 && id < u.rows) { s = s + vec[id * u.d + j] * dy[p * width + 2 * u.e + k]; }
  }
  partials[q] = s;
}`,
};

/** Work items: the id/tag scatter (n · 2e), then the dW sums (d · P). */
const GRAD_SCATTER: RawProgram = {
  key: 'mmctrItemEncodeGradScatter',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'lists', access: 'read', type: 'i32' },
    { name: 'partials', access: 'read', type: 'f32' },
    { name: 'dId', access: 'read_write', type: 'atomic<i32>' },
    { name: 'dTag', access: 'read_write', type: 'atomic<i32>' },
    { name: 'dW', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  body: `${FLAT_MAIN}
  let width = 2 * u.e + u.pw;
  let nS = u.n * 2 * u.e;
  if (idx < nS) {
    let p = idx / (2 * u.e);
    let c = idx - p * 2 * u.e;
    let id = ids[p];
    if (!(id > 0 && id < u.rows)) { return; }
    let g = dy[p * width + c];
    if (c < u.e) {
      ${atomicAddF32('&dId[id * u.e + c]', 'g')}
      return;
    }
    let k = c - u.e;
    var cnt = 0.0;
    for (var t = 0; t < u.tl; t = t + 1) {
      let tag = lists[id * u.tl + t];
      if (tag > 0 && tag < u.tagRows) { cnt = cnt + 1.0; }
    }
    let share = g / max(cnt, 1.0);
    for (var t = 0; t < u.tl; t = t + 1) {
      let tag = lists[id * u.tl + t];
      if (tag > 0 && tag < u.tagRows) { ${atomicAddF32('&dTag[tag * u.e + k]', 'share')} }
    }
    return;
  }
  let q = idx - nS;
  let nW = u.d * u.pw;
  if (q >= nW) { return; }
  var s = 0.0;
  for (var c = 0; c < ${DW_CHUNKS}; c = c + 1) { s = s + partials[c * nW + q]; }
  dW[q] = s;
}`,
};

/**
 * dW partials for the host-id backward: parts[split] = Σ_{p in split} vectors[id_p]ᵀ · dy_p[2e:] (a split-K matrix
 * product over the positions; [d, P] per slice), summed in order by GRAD_HOST.
 */
const GRAD_HOST_W = gemmProgram({
  key: 'mmctrItemEncodeGradHostW',
  bindings: [
    { name: 'vec', access: 'read', type: 'f32' },
    { name: 'ids', access: 'read', type: 'i32' },
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'parts', access: 'read_write', type: 'f32' },
  ],
  uniforms: SHAPE,
  helpers: `
fn itemVec(p : i32, q : i32) -> f32 {
  let id = ids[p];
  if (id > 0 && id < u.rows) { return vec[id * u.d + q]; }
  return 0.0;
}`,
  loadA: 'itemVec(k, r)',
  loadB: ['dy[k * (2 * u.e + u.pw) + 2 * u.e + c]'],
  store: 'parts[(split * u.gm + r) * u.gn + c] = acc0;',
  tile: TILE_128x64,
  aContig: 'm',
});

/** K slices of GRAD_HOST_W: enough workgroups to fill a GPU, ≥ 256 positions each. */
const dwSplits = (d: number, pw: number, n: number) => gemmSplits(d, pw, n, TILE_128x64, 512, 256);

/**
 * Deterministic backward in two dispatches, for distinct ids known on the host (the encoder's 'unique' lookup):
 * work items dId (rows · e: the row of the position holding that id, else 0), dTag (tagRows · e: the sum over the
 * positions whose item carries the tag, each dy / its valid-tag count, in a host-built CSR order), dW (d · P: the
 * sum over all positions, in order). `index` = [slot of every item row (−1 when absent) ‖ CSR offsets per tag row];
 * `entries` = (position, bitcast weight) pairs; dW sums the `dwSplits` partials of GRAD_HOST_W in order. No atomics,
 * no zero pass: every output element is written once.
 */
const GRAD_HOST: RawProgram = {
  key: 'mmctrItemEncodeGradHost',
  bindings: [
    { name: 'dy', access: 'read', type: 'f32' },
    { name: 'index', access: 'read', type: 'i32' },
    { name: 'entries', access: 'read', type: 'i32' },
    { name: 'parts', access: 'read', type: 'f32' },
    { name: 'dId', access: 'read_write', type: 'f32' },
    { name: 'dTag', access: 'read_write', type: 'f32' },
    { name: 'dW', access: 'read_write', type: 'f32' },
  ],
  uniforms: [...SHAPE, { name: 'dwSplits', type: 'i32' }],
  body: `${FLAT_MAIN}
  let width = 2 * u.e + u.pw;
  let nId = u.rows * u.e;
  if (idx < nId) {
    let row = idx / u.e;
    let p = index[row];
    var v = 0.0;
    if (p >= 0) { v = dy[p * width + idx - row * u.e]; }
    dId[idx] = v;
    return;
  }
  let q = idx - nId;
  if (q < u.tagRows * u.e) {
    let tag = q / u.e;
    let k = q - tag * u.e;
    var s = 0.0;
    for (var i = index[u.rows + tag]; i < index[u.rows + tag + 1]; i = i + 1) {
      s = s + dy[entries[2 * i] * width + u.e + k] * bitcast<f32>(entries[2 * i + 1]);
    }
    dTag[q] = s;
    return;
  }
  let w0 = q - u.tagRows * u.e;
  if (w0 >= u.d * u.pw) { return; }
  var s = 0.0;
  for (var sp = 0; sp < u.dwSplits; sp = sp + 1) { s = s + parts[sp * u.d * u.pw + w0]; }
  dW[w0] = s;
}`,
};

/** The host data of GRAD_HOST: slot of every item row and the tag → (position, 1/count) lists. */
export function hostGradIndex(ids: Int32Array, lists: Int32Array, tl: number, rows: number, tagRows: number): { index: Int32Array; entries: Int32Array } {
  const index = new Int32Array(rows + tagRows + 1).fill(-1, 0, rows);
  const counts = new Int32Array(tagRows + 1);
  const valid = (t: number) => t > 0 && t < tagRows;
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (!(id > 0 && id < rows)) continue;
    if (index[id] >= 0) throw new MmctrError(`webGpuItemEncode: item id ${id} appears twice among ids given as distinct`);
    index[id] = p;
    for (let t = 0; t < tl; t++) if (valid(lists[id * tl + t])) counts[lists[id * tl + t] + 1]++;
  }
  for (let t = 0; t < tagRows; t++) counts[t + 1] += counts[t];
  index.set(counts, rows);
  const at = counts.slice(0, tagRows);
  const entries = new Int32Array(2 * Math.max(1, counts[tagRows]));
  const f = new Float32Array(1);
  const bits = new Int32Array(f.buffer);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (!(id > 0 && id < rows)) continue;
    let n = 0;
    for (let t = 0; t < tl; t++) if (valid(lists[id * tl + t])) n++;
    f[0] = 1 / Math.max(n, 1);
    for (let t = 0; t < tl; t++) {
      const tag = lists[id * tl + t];
      if (!valid(tag)) continue;
      const e = at[tag]++;
      entries[2 * e] = p;
      entries[2 * e + 1] = bits[0];
    }
  }
  return { index, entries };
}

function dims(t: tf.Tensor, name: string, rank: number): number[] {
  if (t.rank !== rank) throw new MmctrError(`webGpuItemEncode: ${name} must have rank ${rank}, got [${t.shape}]`);
  return t.shape;
}

/** Host copies that make the backward one deterministic dispatch (see GRAD_HOST). */
export interface ItemEncoderHost {
  /** The ids (as in the tensor), each id > 0 at most once. */
  ids: Int32Array;
  /** The tag lists [V · T] (as in `tagLists`). */
  tagLists: Int32Array;
}

/**
 * ids int32 [...] → item vectors [..., 2e + P] (see the header); gradients to idTable, tagTable and projection.
 * With `host` (distinct ids) the backward is one dispatch in a fixed order; without, two with float atomics.
 */
export function webGpuItemEncode(ids: tf.Tensor, w: ItemEncoderWeights, host?: ItemEncoderHost): tf.Tensor {
  if (ids.dtype !== 'int32') throw new MmctrError(`webGpuItemEncode: ids must be int32, got ${ids.dtype}`);
  const [rows, e] = dims(w.idTable, 'idTable', 2);
  const [listRows, tl] = dims(w.tagLists, 'tagLists', 2);
  const [tagRows, te] = dims(w.tagTable, 'tagTable', 2);
  const [vecRows, d] = dims(w.vectors, 'vectors', 2);
  const [pd, pw] = dims(w.projection, 'projection', 2);
  if (listRows !== rows || vecRows !== rows || te !== e || pd !== d || w.tagLists.dtype !== 'int32') {
    throw new MmctrError(
      `webGpuItemEncode: inconsistent weights: idTable [${rows}, ${e}], tagLists [${listRows}, ${tl}] ${w.tagLists.dtype}, tagTable [${tagRows}, ${te}], vectors [${vecRows}, ${d}], projection [${pd}, ${pw}]`,
    );
  }
  const n = ids.size;
  if (host && (host.ids.length !== n || host.tagLists.length !== rows * tl)) {
    throw new MmctrError(`webGpuItemEncode: host ids (${host.ids.length}) or tag lists (${host.tagLists.length}) do not match the tensors (${n}, ${rows * tl})`);
  }
  const width = 2 * e + pw;
  const uniforms = [n, e, pw, d, tl, rows, tagRows];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [idTable, tagTable, projection] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const out = allocOnGpu([...ids.shape, width]);
    runRaw(FORWARD, [idTable, w.tagLists, tagTable, w.vectors, projection, ids, out], uniforms, workgroupGrid(Math.ceil((n * width) / WG)));
    save([ids]);
    return {
      value: tf.engine().makeTensorFromTensorInfo(out),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        const savedIds = saved[0];
        if (host) {
          flushQueue(); // the GPU runs the queued backward while the host builds the index
          const { index, entries } = hostGradIndex(host.ids, host.tagLists, tl, rows, tagRows);
          const indexT = tf.tensor1d(index, 'int32');
          const entriesT = tf.tensor1d(entries, 'int32');
          const [dIdH, dTagH, dWH] = [allocOnGpu([rows, e]), allocOnGpu([tagRows, e]), allocOnGpu([d, pw])];
          const splits = dwSplits(d, pw, n);
          const parts = allocOnGpu([splits, d, pw]);
          runRaw(GRAD_HOST_W, [w.vectors, savedIds, g, parts], [...gemmUniforms(d, pw, n, splits), ...uniforms], gemmWorkgroups(d, pw, splits, TILE_128x64));
          const work = rows * e + tagRows * e + d * pw;
          runRaw(GRAD_HOST, [g, indexT, entriesT, parts, dIdH, dTagH, dWH], [...uniforms, splits], workgroupGrid(Math.ceil(work / WG)));
          tf.dispose([indexT, entriesT, tf.engine().makeTensorFromTensorInfo(parts)]);
          const eng = tf.engine();
          return [eng.makeTensorFromTensorInfo(dIdH), eng.makeTensorFromTensorInfo(dTagH), eng.makeTensorFromTensorInfo(dWH)];
        }
        const dId = allocOnGpu([rows, e]);
        const dTag = allocOnGpu([tagRows, e]);
        const partials = allocOnGpu([DW_CHUNKS, d, pw]);
        const dW = allocOnGpu([d, pw]);
        const initWork = rows * e + tagRows * e + DW_CHUNKS * d * pw;
        runRaw(GRAD_INIT, [g, savedIds, w.vectors, dId, dTag, partials], uniforms, workgroupGrid(Math.ceil(initWork / WG)));
        runRaw(GRAD_SCATTER, [g, savedIds, w.tagLists, partials, dId, dTag, dW], uniforms, workgroupGrid(Math.ceil((n * 2 * e + d * pw) / WG)));
        const partialsTensor = tf.engine().makeTensorFromTensorInfo(partials);
        partialsTensor.dispose();
        const e0 = tf.engine();
        return [e0.makeTensorFromTensorInfo(dId), e0.makeTensorFromTensorInfo(dTag), e0.makeTensorFromTensorInfo(dW)];
      },
    };
  });
  return op(w.idTable, w.tagTable, w.projection);
}
