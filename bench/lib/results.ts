/**
 * Benchmark results files: each benchmark rewrites its own `bench/results/<name>.md` (human-readable table) and
 * `bench/results/<name>.json` (the same figures, machine-readable), stamped with the machine and the date.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

export type Row = Record<string, string | number | boolean>;

export interface BenchResult {
  /** File stem under bench/results/. */
  name: string;
  title: string;
  /** The command that produced the figures, e.g. `npm run bench:data`. */
  command: string;
  rows: Row[];
  /** Targets and whether they were met, or anything else worth stating beside the table. */
  notes?: string[];
}

function markdownTable(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: Row[string] | undefined) => (v === undefined ? '' : String(v));
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`),
  ].join('\n') + '\n';
}

/**
 * Writes bench/results/<name>.{md,json} and prints the table. Returns the markdown text. `machine` is where the
 * figures were measured: this machine by default; another one's (the lent GPU machine) when they were measured there.
 */
export function writeResults(result: BenchResult, dir = path.resolve('bench/results'), machine: MachineInfo = machineInfo()): string {
  mkdirSync(dir, { recursive: true });
  const md = [
    `# ${result.title}`,
    '',
    `Measured ${machine.date} on ${machine.cpu} (${machine.cores} cores, ${machine.memoryGiB} GiB), node ${machine.node}, ${machine.platform}.`,
    `Command: \`${result.command}\``,
    '',
    markdownTable(result.rows),
    ...(result.notes ?? []).map((n) => `- ${n}`),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, `${result.name}.md`), md);
  writeFileSync(path.join(dir, `${result.name}.json`), JSON.stringify({ ...result, machine }, null, 2) + '\n');
  process.stdout.write(md);
  return md;
}
