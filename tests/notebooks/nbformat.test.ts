import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { firstDifference, normalizeNotebook, parseNotebook, serializeNotebook, splitLines, type Notebook } from '../../src/notebooks/nbformat';

function sample(): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'mmctr-ts', display_name: 'mmctr (TypeScript)', language: 'typescript' }, signature: 'x' },
    cells: [
      { cell_type: 'markdown', id: 'a-01', metadata: {}, source: '# Title\n\nsome prose — with ünïcode' },
      {
        cell_type: 'code',
        id: 'a-02',
        metadata: { execution: { 'iopub.status.busy': '2026-11-22T21:00:00.000Z' }, trusted: true },
        execution_count: 1,
        source: 'console.log(1);\nconsole.log(2);',
        outputs: [
          { output_type: 'stream', name: 'stdout', text: 'AUC 0.7123\n' },
          { output_type: 'stream', name: 'stdout', text: ['run folder /repo/root/runs/x\n', 'root /repo/root\n'] },
          { output_type: 'stream', name: 'stderr', text: '\x1b[31mwarn\x1b[0m\n' },
          { output_type: 'stream', name: 'stdout', text: 'after\n' },
          { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': '<svg>\n<g/>\n</svg>', 'text/plain': 'fig', 'image/png': 'iVBOR' } },
        ],
      },
    ],
  };
}

describe('splitLines', () => {
  it.each([
    ['', []],
    ['a', ['a']],
    ['a\nb', ['a\n', 'b']],
    ['a\n', ['a\n']],
    ['a\r\nb\rc\u2028d', ['a\r\n', 'b\r', 'c\u2028', 'd']],
  ])('%j → %j (as Python str.splitlines(True))', (s, want) => {
    expect(splitLines(s)).toEqual(want);
  });
});

describe('normalizeNotebook', () => {
  const nb = normalizeNotebook(sample(), { root: '/repo/root' });
  const outputs = nb.cells[1].outputs!;

  it('drops execution timestamps', () => {
    expect(nb.cells[1].metadata.execution).toBeUndefined();
  });

  it('merges consecutive chunks of one stream, keeps stream order, makes checkout paths relative, strips colour codes', () => {
    expect(outputs.map((o) => o.output_type === 'stream' && o.name)).toEqual(['stdout', 'stderr', 'stdout', false]);
    expect(outputs[0]).toMatchObject({ text: 'AUC 0.7123\nrun folder runs/x\nroot .\n' });
    expect(outputs[1]).toMatchObject({ text: 'warn\n' });
  });

  it('never changes printed numbers or figure data', () => {
    expect(JSON.stringify(outputs)).toContain('0.7123');
    expect(outputs[3]).toMatchObject({ data: { 'image/svg+xml': '<svg>\n<g/>\n</svg>', 'image/png': 'iVBOR' } });
  });

  it('is idempotent', () => {
    expect(serializeNotebook(normalizeNotebook(nb, { root: '/repo/root' }))).toBe(serializeNotebook(nb));
  });
});

describe('serializeNotebook', () => {
  it('round-trips through parseNotebook', () => {
    const text = serializeNotebook(sample());
    expect(serializeNotebook(parseNotebook(text))).toBe(text);
  });

  it("writes the bytes Jupyter's nbformat.write writes (Debian's /usr/bin/python3)", () => {
    const text = serializeNotebook(normalizeNotebook(sample()));
    const py = spawnSync(
      '/usr/bin/python3',
      ['-c', 'import sys, nbformat; nb = nbformat.reads(sys.stdin.read(), as_version=4); nbformat.write(nb, sys.stdout)'],
      { input: text, encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toBe(text);
  });

  it('rejects what is not an nbformat 4 notebook', () => {
    expect(() => parseNotebook('{"cells": []}', 'x.ipynb')).toThrow(/x.ipynb: not an nbformat 4 notebook/);
    expect(() => parseNotebook('{', 'x.ipynb')).toThrow(/x.ipynb: not valid JSON/);
  });
});

describe('firstDifference', () => {
  it('is null for identical files and names the first differing cell and line otherwise', () => {
    const a = serializeNotebook(sample());
    expect(firstDifference(a, a)).toBeNull();
    const changed = sample();
    (changed.cells[1].outputs![0] as { text: string }).text = 'AUC 0.7124\n';
    const d = firstDifference(a, serializeNotebook(changed));
    expect(d).toEqual({ cell: 1, a: '"AUC 0.7123\\n"', b: '"AUC 0.7124\\n"' });
  });

  it('reports notebook metadata as cell -1', () => {
    const changed = sample();
    changed.metadata.language_info = { name: 'typescript' };
    expect(firstDifference(serializeNotebook(sample()), serializeNotebook(changed))?.cell).toBe(-1);
  });
});
