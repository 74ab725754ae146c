/**
 * Loading speed and memory of a full-size train split: 3,600,000 rows with item_seq lists of 100 (int64, as pandas
 * writes them) into typed arrays with seqLen 100. Targets: load ≤ 15 s and peak RSS ≤ 3× the typed arrays' size.
 *
 *   npm run bench:data                       (makes .cache/bench-data/ once, then measures)
 *   node --import tsx bench/data.ts [--data <root>] [--rows N] [--seq-len L]
 *
 * Each load runs in its own child process, so the peak RSS is the load's alone (not the file writing's).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pl from 'nodejs-polars';
import { loadSplit } from '../src/data/load';
import { MICROLENS_DIMS, MICROLENS_VOCAB, microlensTables, type InteractionSplit } from '../src/data/schema';
import { writeResults, type Row } from './lib/results';

const LOAD_TARGET_S = 15;
const RSS_TARGET_RATIO = 3;
const SELF = fileURLToPath(import.meta.url);
const TRAIN = microlensTables().train;

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    rows: { type: 'string', default: String(TRAIN.realRows) },
    'seq-len': { type: 'string', default: String(MICROLENS_DIMS.storedSeqLen) },
    // Internal: the child processes.
    child: { type: 'string' },
    validate: { type: 'string', default: 'true' },
  },
});

/** xorshift32: reproducible values. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * Writes a valid train.parquet of `rows` rows: int64 ids/levels/label, item_seq list<int64> of 100, left-padded
 * histories with a long tail of lengths (like the real ones: median ≈ 6, max 100), built 400k rows at a time.
 */
function generate(file: string, rows: number): void {
  const L = MICROLENS_DIMS.storedSeqLen;
  const rand = rng(20242025);
  const ints = (n: number, lo: number, hi: number) => Int32Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));
  const frames: pl.DataFrame[] = [];
  const chunk = 400_000;
  for (let off = 0; off < rows; off += chunk) {
    const n = Math.min(chunk, rows - off);
    const seq = new Int32Array(n * L);
    for (let r = 0; r < n; r++) {
      const len = Math.min(L, 3 + Math.floor(-Math.log(1 - rand()) * 5));
      for (let j = L - len; j < L; j++) seq[r * L + j] = 1 + Math.floor(rand() * MICROLENS_VOCAB.numItems);
    }
    const seqList = pl
      .DataFrame({ item_seq: pl.Series('item_seq', seq).cast(pl.Int64) })
      .select(pl.col('item_seq').reshape([n, L]).cast(pl.List(pl.Int64)))
      .getColumn('item_seq');
    frames.push(
      pl.DataFrame([
        pl.Series('user_id', ints(n, 1, MICROLENS_VOCAB.numUsers)).cast(pl.Int64),
        seqList,
        pl.Series('item_id', ints(n, 1, MICROLENS_VOCAB.numItems)).cast(pl.Int64),
        pl.Series('likes_level', ints(n, 0, 9)).cast(pl.Int64),
        pl.Series('views_level', ints(n, 0, 9)).cast(pl.Int64),
        pl.Series('label', Int32Array.from({ length: n }, () => (rand() < 0.25 ? 1 : 0))).cast(pl.Int64),
      ]),
    );
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  pl.concat(frames, { rechunk: false, how: 'vertical' }).writeParquet(tmp, { compression: 'snappy' });
  renameSync(tmp, file);
}

function typedBytes(s: InteractionSplit): number {
  const arrays = [s.userId, s.itemId, s.likesLevel, s.viewsLevel, s.itemSeq.data, s.label, s.id];
  return arrays.reduce((sum, a) => sum + (a === null ? 0 : a.byteLength), 0);
}

interface Measured {
  rows: number;
  seqLen: number;
  validate: boolean;
  seconds: number;
  /** user + system CPU seconds of the load (polars uses both cores). */
  cpuSeconds: number;
  peakRssBytes: number;
  typedBytes: number;
}

async function measure(root: string, seqLen: number, validate: boolean): Promise<Measured> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const split = await loadSplit(root, 'train', { seqLen, validate, vocab: MICROLENS_VOCAB });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    rows: split.rows,
    seqLen,
    validate,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    // maxRSS is in KiB.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    typedBytes: typedBytes(split),
  };
}

function child(mode: string, extra: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child', mode, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
}

const mib = (b: number) => Math.round(b / 2 ** 20);

if (args.child === 'generate') {
  generate(args.data as string, Number(args.rows));
} else if (args.child === 'measure') {
  const m = await measure(args.data as string, Number(args['seq-len']), args.validate === 'true');
  process.stdout.write(JSON.stringify(m) + '\n');
} else {
  const rowsWanted = Number(args.rows);
  const seqLen = Number(args['seq-len']);
  let root = args.data;
  let source: string;
  if (root === undefined) {
    root = path.resolve('.cache/bench-data');
    const file = path.join(root, TRAIN.path);
    const rowsThere = existsSync(file) ? pl.scanParquet(file).select(pl.len()).collectSync().getColumn('len').toArray()[0] : -1;
    if (Number(rowsThere) !== rowsWanted) {
      process.stdout.write(`writing ${rowsWanted.toLocaleString('en-US')} rows to ${file} ...\n`);
      child('generate', ['--data', file, '--rows', String(rowsWanted)]);
    }
    source = `generated (int64 ids, list<int64> of ${MICROLENS_DIMS.storedSeqLen}, snappy, ${mib(statSync(file).size)} MiB)`;
  } else {
    source = `--data ${root}`;
  }
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const validate of [true, false]) {
    const m = JSON.parse(child('measure', ['--data', root, '--seq-len', String(seqLen), '--validate', String(validate)])) as Measured;
    const ratio = m.peakRssBytes / m.typedBytes;
    const met = m.seconds <= LOAD_TARGET_S && ratio <= RSS_TARGET_RATIO;
    rows.push({
      validate: m.validate,
      rows: m.rows,
      seqLen: m.seqLen,
      'load s': Number(m.seconds.toFixed(2)),
      'CPU s': Number(m.cpuSeconds.toFixed(2)),
      'rows/s': Math.round(m.rows / m.seconds),
      'peak RSS MiB': mib(m.peakRssBytes),
      'typed arrays MiB': mib(m.typedBytes),
      'RSS / typed': Number(ratio.toFixed(2)),
      'targets met': met,
    });
    notes.push(
      `validate=${m.validate}: load ${m.seconds.toFixed(2)} s (target ≤ ${LOAD_TARGET_S} s: ${m.seconds <= LOAD_TARGET_S ? 'met' : 'NOT met'}), ` +
        `peak RSS ${ratio.toFixed(2)}× the typed arrays (target ≤ ${RSS_TARGET_RATIO}×: ${ratio <= RSS_TARGET_RATIO ? 'met' : 'NOT met'})`,
    );
  }
  notes.push(`Machine load average when measured (1 min): ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores (other work inflates wall time; CPU s is less sensitive).`);
  notes.push(`Input: ${source}. Each load in its own child process; peak RSS = process.resourceUsage().maxRSS of that process.`);
  writeResults({
    name: 'data',
    title: 'Loading a full-size train split into typed arrays',
    command: `npm run bench:data${args.data === undefined ? '' : ` -- --data ${args.data}`}`,
    rows,
    notes,
  });
}
