/**
 * Checkpoint files: one file per checkpoint, written atomically (temporary file in the same folder, fsync, rename),
 * so a kill at any moment leaves either the previous file or the new one, never a torn one.
 *
 * Layout of a `.ckpt` file (little-endian):
 * ```
 * "MMCTRCK1"            8 bytes magic
 * headerBytes           uint32
 * header                UTF-8 JSON: { meta, tensors: [{ name, dtype, shape, offset, byteLength }] }
 * tensor data           raw float32 / int32 values, offsets relative to the end of the header
 * ```
 */
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { MmctrError } from '../errors';
import { writeAll, writeFileAtomic } from '../util/atomicWrite';

const MAGIC = 'MMCTRCK1';

export type StoredDtype = 'float32' | 'int32';

/** One tensor's values, off the tfjs backend (plain memory). */
export interface StoredTensor {
  dtype: StoredDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export type TensorMap = Map<string, StoredTensor>;

export interface CheckpointFile<M> {
  meta: M;
  tensors: TensorMap;
}

interface TensorEntry {
  name: string;
  dtype: StoredDtype;
  shape: number[];
  offset: number;
  byteLength: number;
}

export class CheckpointError extends MmctrError {}

export function writeCheckpoint<M>(file: string, meta: M, tensors: TensorMap): void {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const byteLength = t.data.byteLength;
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, byteLength });
    offset += byteLength;
  }
  const header = Buffer.from(JSON.stringify({ meta, tensors: entries }), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, 8);
  writeFileAtomic(file, (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, header);
    for (const t of tensors.values()) writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  });
}

export function readCheckpoint<M>(file: string): CheckpointFile<M> {
  if (!fs.existsSync(file)) throw new CheckpointError(`checkpoint ${file} does not exist`);
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new CheckpointError(`checkpoint ${file}: not an mmctr checkpoint (bad magic)`);
  }
  const headerBytes = buf.readUInt32LE(8);
  if (12 + headerBytes > buf.length) throw new CheckpointError(`checkpoint ${file}: truncated header`);
  let header: { meta: M; tensors: TensorEntry[] };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + headerBytes));
  } catch (err) {
    throw new CheckpointError(`checkpoint ${file}: unreadable header`, { cause: err });
  }
  const base = 12 + headerBytes;
  const tensors: TensorMap = new Map();
  for (const e of header.tensors) {
    const start = base + e.offset;
    if (start + e.byteLength > buf.length) {
      throw new CheckpointError(`checkpoint ${file}: tensor ${e.name} runs past the end of the file (truncated)`);
    }
    // Copy into a fresh, aligned buffer: a Node Buffer's byteOffset need not be a multiple of 4.
    const bytes = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + e.byteLength);
    const data = e.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new CheckpointError(`checkpoint ${file}: tensor ${e.name} holds ${data.length} values for shape [${e.shape}]`);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { meta: header.meta, tensors };
}

/** Reads the values of variables off the backend. */
export async function snapshotVariables(vars: Map<string, tf.Variable>): Promise<TensorMap> {
  const out: TensorMap = new Map();
  for (const [name, v] of vars) {
    if (v.dtype !== 'float32' && v.dtype !== 'int32') {
      throw new CheckpointError(`variable ${name} has dtype ${v.dtype}; checkpoints hold float32 and int32 only`);
    }
    const data = (await v.data()) as Float32Array | Int32Array;
    // `data()` may hand out the backend's own array (cpu): copy so later updates cannot change the snapshot.
    out.set(name, { dtype: v.dtype, shape: [...v.shape], data: data.slice() });
  }
  return out;
}

/** Assigns stored values to variables; every variable must be present with its shape and dtype. */
export function restoreVariables(vars: Map<string, tf.Variable>, stored: TensorMap, what: string, prefix = ''): void {
  for (const [name, v] of vars) {
    const t = stored.get(prefix + name);
    if (!t) throw new CheckpointError(`${what}: no values for weight ${name}`);
    if (t.dtype !== v.dtype || t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new CheckpointError(`${what}: weight ${name} is ${t.dtype}[${t.shape}] there but ${v.dtype}[${v.shape}] in the model`);
    }
  }
  for (const [name, v] of vars) {
    const t = stored.get(prefix + name)!;
    tf.tidy(() => v.assign(tf.tensor(t.data.slice(), t.shape, t.dtype)));
  }
}

/** Same dtype, shape and bytes. */
export function sameTensor(a: StoredTensor, b: StoredTensor): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  return Buffer.compare(x, y) === 0;
}

/** A map with every key prefixed. */
export function prefixed(prefix: string, map: TensorMap): TensorMap {
  return new Map([...map].map(([k, v]) => [prefix + k, v]));
}

/** The entries whose key starts with `prefix`, the prefix removed. */
export function withPrefix(prefix: string, map: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of map) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
