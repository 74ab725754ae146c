/**
 * The notebook CI check: every notebook in notebooks/ executed twice at `tiny` scale with the project's kernel, the
 * two files compared byte for byte (what `mmctr notebooks --scale tiny --check-determinism` does), plus the
 * runner's error reporting on a notebook whose cell fails. The committed notebooks are never written.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotebookExecutionError, runNotebooks, selectNotebooks } from '../../src/notebooks/runner';
import { parseNotebook } from '../../src/notebooks/nbformat';

const root = path.resolve(__dirname, '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mmctr-nbtest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function codeCell(source: string) {
  return { cell_type: 'code', id: `c${source.length}`, metadata: {}, execution_count: null, outputs: [], source };
}

describe('notebook runner', () => {
  it('selects notebooks by name, file name or unique prefix', () => {
    const dir = path.join(root, 'notebooks');
    const all = selectNotebooks(dir);
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(selectNotebooks(dir, ['01'])).toEqual([path.join(dir, '01_data.ipynb')]);
    expect(selectNotebooks(dir, ['05_full_pipeline'])).toEqual([path.join(dir, '05_full_pipeline.ipynb')]);
    expect(() => selectNotebooks(dir, ['99'])).toThrow(/notebook 99: not found/);
  });

  it('names the notebook, the cell and the error text when a cell fails', async () => {
    const dir = path.join(tmp, 'bad');
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'mmctr-ts', display_name: 'mmctr (TypeScript)', language: 'typescript' } },
      cells: [codeCell("import { MICROLENS_DIMS } from './src/data/schema';\nconsole.log(MICROLENS_DIMS.itemEmbDim);"), codeCell("throw new Error('planted failure 42');")],
    };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'bad.ipynb'), JSON.stringify(nb));
    const err = await runNotebooks({ root, notebooksDir: dir, scale: 'tiny', outDir: path.join(tmp, 'bad-out'), log: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotebookExecutionError);
    const e = err as NotebookExecutionError;
    expect(e.cell).toBe(2);
    expect(e.message).toMatch(/bad\.ipynb: cell 2 failed/);
    expect(e.message).toMatch(/planted failure 42/);
    // the partial copy holds the first cell's output: the kernel resolved ./src from the repository root
    expect(readFileSync(e.partialCopy!, 'utf8')).toContain('128');
  }, 120_000);

  it('executes every notebook twice at tiny scale to identical files, each ≤ 1 MB, without touching the committed ones', async () => {
    const dir = path.join(root, 'notebooks');
    const files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    const before = Object.fromEntries(files.map((f) => [f, readFileSync(path.join(dir, f))]));
    const out = path.join(tmp, 'out');
    const runs = await runNotebooks({ root, scale: 'tiny', checkDeterminism: true, outDir: out, log: (l) => process.stderr.write(`${l}\n`) });
    expect(runs.map((r) => path.basename(r.notebook))).toEqual(Object.keys(before).filter((f) => f.endsWith('.ipynb')).sort());
    for (const r of runs) {
      expect(r.seconds).toHaveLength(2);
      expect(r.bytes).toBeLessThanOrEqual(1_000_000);
      const nb = parseNotebook(readFileSync(r.written!, 'utf8'));
      expect(nb.metadata.kernelspec).toMatchObject({ name: 'mmctr-ts' });
      for (const cell of nb.cells) {
        expect(cell.metadata.execution).toBeUndefined();
        for (const o of cell.outputs ?? []) expect(o.output_type === 'error' || (o.output_type === 'stream' && o.name === 'stderr'), `${r.notebook} ${cell.id}: ${JSON.stringify(o).slice(0, 300)}`).toBe(false);
      }
      const text = readFileSync(r.written!, 'utf8');
      expect(text).not.toContain(root);
    }
    const pipeline = readFileSync(path.join(out, '05_full_pipeline.ipynb'), 'utf8');
    expect(pipeline).toMatch(/model +valid AUC +logloss +gAUC +oracle AUC +gap/);
    for (const [f, bytes] of Object.entries(before)) expect(readFileSync(path.join(dir, f)).equals(bytes), `${f} unchanged`).toBe(true);
  }, 1_200_000);
});
