/**
 * A minimal ZIP writer (PKWARE APPNOTE 6.3): local file headers, the central directory and the end record; deflate
 * through node:zlib's `deflateRawSync`, stored when deflate does not help; CRC-32 per entry. No ZIP64: an archive
 * must stay under 4 GiB and 65,535 entries (a submission is one ~10 MB CSV).
 */
import zlib from 'node:zlib';
import { MmctrError } from '../errors';
import { writeBytesAtomic } from '../util/atomicWrite';

export interface ZipEntry {
  /** Path inside the archive, '/'-separated, no leading '/'. */
  name: string;
  data: Uint8Array | string;
  /** Modification time stored in the entry (DOS format, 2-second resolution, local time). Default: now. */
  mtime?: Date;
}

export interface ZipOptions {
  /** zlib compression level 0..9. Default 6. */
  level?: number;
}

export class ZipError extends MmctrError {}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the one ZIP and gzip use). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, Math.min(2107, d.getFullYear()));
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** The archive's bytes. */
export function zipBytes(entries: ZipEntry[], options: ZipOptions = {}): Buffer {
  const level = options.level ?? 6;
  if (entries.length > 0xffff) throw new ZipError(`zip: ${entries.length} entries; at most 65,535 without ZIP64`);
  const names = new Set<string>();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    if (!entry.name || entry.name.startsWith('/') || entry.name.includes('\\') || names.has(entry.name)) {
      throw new ZipError(`zip: entry name ${JSON.stringify(entry.name)} is empty, absolute, uses '\\' or repeats`);
    }
    names.add(entry.name);
    const raw = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const deflated = zlib.deflateRawSync(raw, { level });
    const stored = deflated.length >= raw.length;
    const body = stored ? raw : deflated;
    const name = Buffer.from(entry.name, 'utf8');
    const utf8 = /[^\x20-\x7e]/.test(entry.name);
    const crc = crc32(raw);
    const { time, date } = dosDateTime(entry.mtime ?? new Date());
    if (raw.length >= 0xffffffff || offset + 30 + name.length + body.length >= 0xffffffff) {
      throw new ZipError(`zip: entry ${entry.name} makes the archive reach 4 GiB (ZIP64 is not supported)`);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(utf8 ? 0x0800 : 0, 6); // flags: bit 11 = UTF-8 name
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // extra field length
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, spec 2.0
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(utf8 ? 0x0800 : 0, 8);
    header.writeUInt16LE(stored ? 0 : 8, 10);
    header.writeUInt16LE(time, 12);
    header.writeUInt16LE(date, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(raw.length, 24);
    header.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal attributes: 0
    header.writeUInt32LE(((0o100644 << 16) >>> 0), 38); // external attributes: regular file, rw-r--r--
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  const centralSize = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/** Writes the archive atomically (temporary file + rename). */
export function writeZip(file: string, entries: ZipEntry[], options: ZipOptions = {}): void {
  writeBytesAtomic(file, zipBytes(entries, options));
}
