/**
 * `mmctr`: one subcommand per file in this folder. Each file exports `register(program)`, which declares the
 * subcommand, its flags and its `--help`, parses and validates the flags once, and calls the library below.
 */
import { Command, CommanderError } from 'commander';
import { register as registerSynth } from './synth';
import { register as registerValidate } from './validate';
import { register as registerStats } from './stats';
import { register as registerBackend } from './backend';
import { register as registerMain } from './mainJob';
import { register as registerTrain } from './train';
import { register as registerPredict } from './predict';
import { register as registerCompare } from './compare';
import { register as registerEnsemble } from './ensemble';
import { register as registerEmbed } from './embed';
import { register as registerFigures } from './figures';
import { register as registerNotebooks } from './notebooks';
import { MmctrError } from '../errors';

export function buildProgram(): Command {
  const program = new Command('mmctr')
    .description('Multimodal CTR prediction for the WWW 2025 MMCTR challenge (MicroLens_1M_x1), in TypeScript')
    .showHelpAfterError()
    .exitOverride();
  registerMain(program);
  registerSynth(program);
  registerValidate(program);
  registerStats(program);
  registerEmbed(program);
  registerTrain(program);
  registerPredict(program);
  registerCompare(program);
  registerEnsemble(program);
  registerFigures(program);
  registerBackend(program);
  registerNotebooks(program);
  return program;
}

/** Runs the CLI; returns the process exit code. Known errors print one clear line, never a native stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof MmctrError) {
      process.stderr.write(`mmctr: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
