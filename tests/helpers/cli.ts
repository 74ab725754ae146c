/** What the CLI tests share: stdout captured per test, and a commander program with subcommands registered. */
import { Command } from 'commander';
import { afterEach, beforeEach, vi } from 'vitest';

/**
 * At the top of a test file: every test's writes to stdout are captured (not printed); the returned function gives
 * what the current test wrote so far.
 */
export function captureStdout(): () => string {
  let out = '';
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return () => out;
}

/** Runs `mmctr <argv>` in-process with the given subcommands registered; commander errors throw instead of exiting. */
export async function runCli(registers: ((program: Command) => void)[], argv: string[]): Promise<void> {
  const program = new Command('mmctr').exitOverride();
  for (const register of registers) register(program);
  await program.parseAsync(argv, { from: 'user' });
}
