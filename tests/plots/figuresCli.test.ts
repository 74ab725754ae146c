/** `mmctr figures` on the committed fixture (tests/plots/fixture): every figure, twice, same SVG bytes. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureStdout, runCli } from '../helpers/cli';
import { register } from '../../src/cli/figures';
import { PAPER_FIGURES } from '../../src/plots/paperFigures';

const FIXTURE = path.resolve(__dirname, 'fixture');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mmctr-figures-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const stdout = captureStdout();

const run = (...argv: string[]) => runCli([register], argv);

const fixtureArgs = (dir: string) => ['figures', '--out', dir, '--results', path.join(FIXTURE, 'results'), '--data-dir', path.join(FIXTURE, 'data')];

describe('mmctr figures', () => {
  it('writes every figure as SVG and 2× PNG, and a second run gives the same SVG bytes', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    await run(...fixtureArgs(a));
    for (const f of PAPER_FIGURES) {
      expect(stdout()).toContain(path.join(a, `${f.name}.svg`));
      const png = fs.readFileSync(path.join(a, `${f.name}.png`));
      expect(png.readUInt32BE(16)).toBe(1008); // 504 px layout at scale 2
    }
    await run(...fixtureArgs(b), '--no-png');
    for (const f of PAPER_FIGURES) {
      expect(fs.readFileSync(path.join(b, `${f.name}.svg`), 'utf8')).toBe(fs.readFileSync(path.join(a, `${f.name}.svg`), 'utf8'));
      expect(fs.existsSync(path.join(b, `${f.name}.png`))).toBe(false);
    }
    expect(fs.readFileSync(path.join(a, 'roc.svg'), 'utf8')).toContain('oracle (0.869)');
  });

  it('builds only the figures asked for, and names missing inputs and misplaced flags', async () => {
    const c = path.join(tmp, 'c');
    await run(...fixtureArgs(c), '--only', 'auc_vs_oracle', '--no-png');
    expect(fs.readdirSync(c)).toEqual(['auc_vs_oracle.svg']);
    await expect(run('figures', '--out', c, '--results', path.join(tmp, 'none'), '--data-dir', path.join(FIXTURE, 'data'), '--only', 'auc_vs_oracle')).rejects.toThrow(
      /missing figure inputs: .*none\/zoo.json/,
    );
    await expect(run(...fixtureArgs(c), '--only', 'pie')).rejects.toThrow(/unknown figure pie/);
    await expect(run(...fixtureArgs(c), '--runs', 'runs/zoo')).rejects.toThrow(/--runs and --data apply to --collect/);
    await expect(run(...fixtureArgs(c), '--collect')).rejects.toThrow(/--data <root> is required/);
  });
});
