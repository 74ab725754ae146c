/**
 * `mmctr backend`: starts the TensorFlow.js backend the way training would, then prints the choice, every
 * candidate with what happened to it, and the project's kernels that were installed.
 */
import type { Command } from 'commander';
import { BACKEND_ENV_VAR, BACKEND_NAMES, parseBackendName, selectBackend, type BackendInfo } from '../engine/backend';

export interface BackendCommandOptions {
  /** Backend to force (overrides MMCTR_BACKEND). Default: automatic. */
  force?: string;
  /** Also list the installed kernel overrides. Default false. */
  kernels?: boolean;
}

/** The report printed by `mmctr backend`. */
export function formatBackendReport(info: BackendInfo, withKernels: boolean): string {
  const mark = { selected: '*', unavailable: '-', skipped: ' ' } as const;
  const lines = [
    info.line,
    '',
    'candidates (in order of preference):',
    ...info.tried.map((t) => `  ${mark[t.status]} ${t.name.padEnd(15)} ${t.status.padEnd(12)} ${t.reason}`),
  ];
  if (info.adapter) {
    const a = info.adapter;
    const kind = a.software ? `software${a.projectMesa ? ', the project lavapipe (.gpu/mesa)' : ''}` : 'hardware';
    lines.push('', `webgpu adapter: ${a.description || a.device} (vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}; ${kind})`);
  }
  if (withKernels) {
    lines.push('', `project kernels installed (${info.kernels.length}):`, ...info.kernels.map((k) => `  ${k}`));
  }
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('backend')
    .description('Start the TensorFlow.js backend as training would and show the choice and the candidates')
    .option(
      '--force <name>',
      `use this backend or fail: ${BACKEND_NAMES.join(' | ')} (default: ${BACKEND_ENV_VAR}, else automatic)`,
    )
    .option('--kernels', 'also list the project kernels installed (CPU backends, webgpu)', false)
    .addHelpText(
      'after',
      `\nOrder tried: ${BACKEND_NAMES.join(' → ')}. ${BACKEND_ENV_VAR}=<name> forces a backend for every command.`,
    )
    .action(async (opts: BackendCommandOptions) => {
      const force = opts.force !== undefined ? parseBackendName(opts.force, '--force') : undefined;
      const info = await selectBackend({ force, forceLabel: '--force', quiet: true });
      process.stdout.write(formatBackendReport(info, opts.kernels ?? false));
    });
}
