/**
 * Atomic file writes: the bytes go to a temporary file in the target's folder, are fsynced, then renamed over the
 * target. A kill at any moment leaves either the old file or the new one, never a torn one (checkpoints, run-folder
 * JSON, submission archives).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Calls `write(fd)` on a temporary file, then renames it over `file`; the temporary file is removed on failure. */
export function writeFileAtomic(file: string, write: (fd: number) => void): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  // Persist the rename itself where the platform allows it; the file is complete either way.
  try {
    const dir = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dir);
    } finally {
      fs.closeSync(dir);
    }
  } catch {
    /* directory fsync unsupported */
  }
}

/** Writes all of `bytes` to `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/** Bytes or text written atomically. */
export function writeBytesAtomic(file: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  writeFileAtomic(file, (fd) => writeAll(fd, bytes));
}
