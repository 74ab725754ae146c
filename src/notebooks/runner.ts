/**
 * Headless execution of the notebooks in notebooks/: each one runs top to bottom in a fresh kernel of the project
 * ("mmctr (TypeScript)", environment/jupyter.sh) through nbclient (src/notebooks/execute.py, on Debian's
 * /usr/bin/python3), is normalised (nbformat.ts) and written back in place, or into another folder.
 *
 * - A cell error stops that notebook and the run: `NotebookExecutionError` names the notebook, the cell (1-based,
 *   with its first line) and the error text; nothing is written in place.
 * - `checkDeterminism` executes every notebook twice into temporary copies and compares the two files byte for byte
 *   (`NotebookDeterminismError` names the first differing cell).
 * - A written notebook larger than `maxBytes` (1 MB) is refused (`NotebookSizeError`).
 * Jupyter is pointed at `<root>/.jupyter` only (JUPYTER_PATH, runtime folder): nothing global is read or written.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MmctrError } from '../errors';
import { NOTEBOOK_SCALES, SCALE_ENV_VAR, ensureNotebookData, notebookContext, type NotebookScale } from './context';
import { firstDifference, normalizeNotebook, parseNotebook, serializeNotebook } from './nbformat';

/** Name of the project's kernelspec (environment/jupyter.sh writes `<root>/.jupyter/kernels/<name>/kernel.json`). */
export const KERNEL_NAME = 'mmctr-ts';
/** Display name of the kernel, as Jupyter shows it. */
export const KERNEL_DISPLAY_NAME = 'mmctr (TypeScript)';
/** Debian's Python, which has nbclient and jupyter_client (a `python3` earlier on PATH may not). */
export const DEFAULT_PYTHON = '/usr/bin/python3';
/** Largest notebook file written. */
export const MAX_NOTEBOOK_BYTES = 1_000_000;

export interface RunNotebooksOptions {
  /** Notebooks to run: file names (`01_data.ipynb`), names without extension, or a prefix (`01`). Default: all in notebooks/, sorted. */
  names?: string[];
  /** Data scale passed to the notebooks (`MMCTR_SCALE`). Default 'small'. */
  scale?: NotebookScale;
  /** Execute each notebook twice into temporary copies and compare the files; writes nothing in place. Default false. */
  checkDeterminism?: boolean;
  /** Write executed notebooks into this folder instead of in place. Default: in place (not at all with `checkDeterminism`). */
  outDir?: string;
  /** Seconds a single cell may run. Default 900. */
  cellTimeoutSeconds?: number;
  /** Repository root (holds environment/jupyter.sh; the kernel runs there). Default process.cwd(). */
  root?: string;
  /** Folder of the notebooks. Default `<root>/notebooks`. */
  notebooksDir?: string;
  /** Python with nbclient. Default /usr/bin/python3. */
  python?: string;
  /** Largest notebook file accepted, in bytes. Default 1,000,000. */
  maxBytes?: number;
  /** Progress lines (one per execution, with its duration). Default: to stderr. */
  log?: (line: string) => void;
}

export interface NotebookRun {
  /** Path relative to the root, e.g. notebooks/01_data.ipynb. */
  notebook: string;
  /** Where the executed file was written; null when nothing was written (determinism check without outDir). */
  written: string | null;
  bytes: number;
  /** Seconds of each execution (two with checkDeterminism). */
  seconds: number[];
}

export class NotebookExecutionError extends MmctrError {
  constructor(
    readonly notebook: string,
    /** 1-based cell number; 0 when the failure was not in a cell (kernel start). */
    readonly cell: number,
    readonly errorText: string,
    readonly partialCopy: string | null,
  ) {
    super(
      `${notebook}: ${cell > 0 ? `cell ${cell} failed` : 'execution failed'}:\n${indent(errorText)}` +
        (partialCopy ? `\n  (the executed copy with its outputs so far: ${partialCopy})` : ''),
    );
  }
}

export class NotebookDeterminismError extends MmctrError {
  constructor(
    readonly notebook: string,
    /** 1-based cell number; 0 = the notebook's metadata. */
    readonly cell: number,
    first: string,
    second: string,
  ) {
    super(`${notebook}: two executions differ, first in ${cell > 0 ? `cell ${cell}` : 'the notebook metadata'}:\n  run 1: ${first}\n  run 2: ${second}`);
  }
}

export class NotebookSizeError extends MmctrError {}

function indent(text: string, max = 40): string {
  const lines = text.trimEnd().split('\n');
  const shown = lines.length > max ? [...lines.slice(0, max), `… (${lines.length - max} more lines)`] : lines;
  return shown.map((l) => `  ${l}`).join('\n');
}

/** Notebook files in `dir` matching `names` (see RunNotebooksOptions.names), sorted; paths joined to `dir`. */
export function selectNotebooks(dir: string, names?: string[]): string[] {
  if (!existsSync(dir)) throw new MmctrError(`${dir}: no notebooks folder (run from the repository root)`);
  const all = readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort();
  if (!names || names.length === 0) return all.map((f) => path.join(dir, f));
  return names.map((n) => {
    const base = path.basename(n);
    const exact = all.find((f) => f === base || f === `${base}.ipynb`);
    if (exact) return path.join(dir, exact);
    const byPrefix = all.filter((f) => f.startsWith(base));
    if (byPrefix.length === 1) return path.join(dir, byPrefix[0]);
    throw new MmctrError(
      byPrefix.length ? `notebook ${n}: ambiguous (${byPrefix.join(', ')})` : `notebook ${n}: not found in ${dir} (there: ${all.join(', ') || 'none'})`,
    );
  });
}

/** Writes (or refreshes) the project kernelspec and returns the Jupyter folder to point JUPYTER_PATH at. */
export function ensureKernelspec(root: string): string {
  const script = path.join(root, 'environment', 'jupyter.sh');
  if (!existsSync(script)) throw new MmctrError(`${script}: missing (it writes the project's Jupyter kernel)`);
  const r = spawnSync('bash', [script], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new MmctrError(`environment/jupyter.sh failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  return path.join(root, '.jupyter');
}

/** The environment of Jupyter processes: the project's Jupyter folder only, the scale, no progress output. */
export function jupyterEnv(root: string, scale: NotebookScale, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const jupyterDir = path.join(root, '.jupyter');
  return {
    ...base,
    JUPYTER_PATH: jupyterDir,
    JUPYTER_RUNTIME_DIR: path.join(jupyterDir, 'runtime'),
    JUPYTER_CONFIG_DIR: path.join(jupyterDir, 'config'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    [SCALE_ENV_VAR]: scale,
    MMCTR_PROGRESS: '0',
  };
}

interface DriverStatus {
  ok: boolean;
  cell?: number;
  error?: string;
}

/** Runs execute.py on one notebook; resolves with its status line and stderr. */
function runDriver(python: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; status: DriverStatus | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err) => reject(new MmctrError(`${python}: could not start (${err.message}); Debian's python3 with nbclient is needed (environment/setup.sh)`)));
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let status: DriverStatus | null = null;
      try {
        status = JSON.parse(last) as DriverStatus;
      } catch {
        status = null;
      }
      resolve({ code, status, stderr });
    });
  });
}

interface ExecuteOneOptions {
  root: string;
  python: string;
  env: NodeJS.ProcessEnv;
  cellTimeoutSeconds: number;
  maxBytes: number;
  tmpDir: string;
  tag: string;
}

/** Executes one notebook into a temporary file; returns the normalised file text and the seconds taken. */
async function executeOne(notebook: string, o: ExecuteOneOptions): Promise<{ text: string; seconds: number }> {
  const input = path.resolve(o.root, notebook);
  const raw = path.join(o.tmpDir, `${o.tag}-${path.basename(notebook)}`);
  const driver = path.join(o.root, 'src', 'notebooks', 'execute.py');
  const t0 = performance.now();
  const { code, status, stderr } = await runDriver(
    o.python,
    [driver, '--input', input, '--output', raw, '--kernel', KERNEL_NAME, '--timeout', String(o.cellTimeoutSeconds), '--cwd', path.dirname(input)],
    o.env,
    o.root,
  );
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0 || !status?.ok) {
    const cell = status?.cell ?? -1;
    const text = status?.error ?? (stderr.trim().split('\n').slice(-20).join('\n') || `exit status ${code}`);
    throw new NotebookExecutionError(notebook, cell >= 0 ? cell + 1 : 0, cellLabel(input, cell) + text, existsSync(raw) ? raw : null);
  }
  const nb = normalizeNotebook(parseNotebook(readFileSync(raw, 'utf8'), raw), { root: o.root });
  const text = serializeNotebook(nb);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > o.maxBytes) {
    throw new NotebookSizeError(`${notebook}: the executed notebook is ${bytes.toLocaleString('en-US')} bytes, over the ${o.maxBytes.toLocaleString('en-US')}-byte limit (large figures or printed arrays?)`);
  }
  return { text, seconds };
}

/** "`first line of the cell`\n" for error messages, or '' when unknown. */
function cellLabel(file: string, cell: number): string {
  if (cell < 0) return '';
  try {
    const nb = parseNotebook(readFileSync(file, 'utf8'), file);
    const first = String(nb.cells[cell]?.source ?? '').split('\n')[0];
    return first ? `(cell begins: ${first})\n` : '';
  } catch {
    return '';
  }
}

/** Executes the notebooks (see the module comment); throws on the first failure. */
export async function runNotebooks(options: RunNotebooksOptions = {}): Promise<NotebookRun[]> {
  const root = path.resolve(options.root ?? process.cwd());
  const scale = options.scale ?? 'small';
  if (!NOTEBOOK_SCALES.includes(scale)) throw new MmctrError(`scale ${scale}: expected one of ${NOTEBOOK_SCALES.join(', ')}`);
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const notebooksDir = path.resolve(root, options.notebooksDir ?? 'notebooks');
  const notebooks = selectNotebooks(notebooksDir, options.names).map((f) => path.relative(root, f));
  if (notebooks.length === 0) throw new MmctrError(`${notebooksDir}: no notebooks`);

  ensureKernelspec(root);
  const ctx = notebookContext({ [SCALE_ENV_VAR]: scale });
  const prevCwd = process.cwd();
  process.chdir(root);
  try {
    if (await ensureNotebookData(ctx)) log(`generated the '${scale}' data set in ${ctx.dataRoot}`);
  } finally {
    process.chdir(prevCwd);
  }

  const env = jupyterEnv(root, scale);
  mkdirSync(env.JUPYTER_RUNTIME_DIR!, { recursive: true });
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'mmctr-notebooks-'));
  const exec: Omit<ExecuteOneOptions, 'tag'> = {
    root,
    python: options.python ?? DEFAULT_PYTHON,
    env,
    cellTimeoutSeconds: options.cellTimeoutSeconds ?? 900,
    maxBytes: options.maxBytes ?? MAX_NOTEBOOK_BYTES,
    tmpDir,
  };
  const results: NotebookRun[] = [];
  let failed = false;
  try {
    for (const notebook of notebooks) {
      const first = await executeOne(notebook, { ...exec, tag: 'run1' });
      log(`${notebook}: executed at scale ${scale} in ${first.seconds.toFixed(1)} s`);
      const seconds = [first.seconds];
      if (options.checkDeterminism) {
        const second = await executeOne(notebook, { ...exec, tag: 'run2' });
        seconds.push(second.seconds);
        const diff = firstDifference(first.text, second.text);
        if (diff) throw new NotebookDeterminismError(notebook, diff.cell + 1, diff.a, diff.b);
        log(`${notebook}: second execution identical (${second.seconds.toFixed(1)} s)`);
      }
      let written: string | null = null;
      if (options.outDir) {
        mkdirSync(options.outDir, { recursive: true });
        written = path.join(options.outDir, path.basename(notebook));
      } else if (!options.checkDeterminism) {
        written = path.resolve(root, notebook);
      }
      if (written) writeFileSync(written, first.text);
      results.push({ notebook, written, bytes: Buffer.byteLength(first.text, 'utf8'), seconds });
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // A failed run keeps its temporary copies: the error message points at the partial notebook.
    if (!failed) rmSync(tmpDir, { recursive: true, force: true });
  }
  return results;
}
