/**
 * Debian's classic Jupyter Notebook server (6.4, `/usr/bin/python3 -m notebook`) for the end-to-end UI test: on
 * loopback, a free port, a random token, no browser, the project's Jupyter folder only (JUPYTER_PATH, config and
 * runtime under `<root>/.jupyter`), serving the repository root. `stop()` ends the server's whole process group
 * (the server and its kernels).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MmctrError } from '../errors';
import { RUNS_ENV_VAR, type NotebookScale } from './context';
import { DEFAULT_PYTHON, ensureKernelspec, jupyterEnv } from './runner';

export interface NotebookServerOptions {
  /** Repository root, served as the notebook folder. Required. */
  root: string;
  /** MMCTR_SCALE of the kernels. Default 'tiny'. */
  scale?: NotebookScale;
  /** Where the kernels' notebooks write runs (MMCTR_NOTEBOOK_RUNS, relative to the root). Default the notebooks' own. */
  runsRoot?: string;
  /** Folder for the server's notebook checkpoints (absolute). Default a fresh temp folder, so nothing lands in notebooks/. */
  checkpointDir?: string;
  /** Python with the `notebook` package. Default /usr/bin/python3. */
  python?: string;
  /** Seconds to wait for the server to answer. Default 60. */
  startTimeoutSeconds?: number;
}

export interface NotebookServer {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  token: string;
  /** URL of a notebook (path relative to the root), token included. */
  notebookUrl(relPath: string): string;
  /** Server output so far (for error messages). */
  log(): string;
  /** Kills the server and its kernels; safe to call twice. */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function startNotebookServer(options: NotebookServerOptions): Promise<NotebookServer> {
  const root = path.resolve(options.root);
  ensureKernelspec(root);
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = jupyterEnv(root, options.scale ?? 'tiny');
  if (options.runsRoot) env[RUNS_ENV_VAR] = options.runsRoot;
  const ownCheckpointDir = options.checkpointDir === undefined;
  const checkpointDir = options.checkpointDir ?? mkdtempSync(path.join(os.tmpdir(), 'mmctr-nb-checkpoints-'));
  const child = spawn(
    options.python ?? DEFAULT_PYTHON,
    [
      '-m',
      'notebook',
      '--no-browser',
      '--ip=127.0.0.1',
      `--port=${port}`,
      '--port-retries=0',
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${root}`,
      // Checkpoints outside the repository (the default is a .ipynb_checkpoints folder beside each notebook).
      `--FileCheckpoints.checkpoint_dir=${checkpointDir}`,
      '--NotebookApp.open_browser=False',
      // Debian's server refuses root unless told (CI machines run as root).
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const baseUrl = `http://127.0.0.1:${port}`;
  const server: NotebookServer = {
    baseUrl,
    token,
    notebookUrl: (rel) => `${baseUrl}/notebooks/${rel.split(path.sep).map(encodeURIComponent).join('/')}?token=${token}`,
    log: () => output,
    async stop() {
      if (exited) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
      // kernels started by the server are in its process group too
      killGroup(child, 'SIGKILL');
      if (ownCheckpointDir) rmSync(checkpointDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + 1000 * (options.startTimeoutSeconds ?? 60);
  for (;;) {
    if (exited) throw new MmctrError(`the notebook server exited at start:\n${output.trim().split('\n').slice(-20).join('\n')}`);
    try {
      const r = await fetch(`${baseUrl}/api/status?token=${token}`);
      if (r.ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new MmctrError(`the notebook server did not answer on ${baseUrl} within ${options.startTimeoutSeconds ?? 60} s:\n${output.trim().split('\n').slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
