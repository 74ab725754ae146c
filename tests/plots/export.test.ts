/** Headless export through the real Chromium (/usr/bin/chromium): stable SVG bytes, 2× PNG, clear errors. */
import { afterAll, describe, expect, it } from 'vitest';
import { closeRenderer, normalizeSvg, renderPng, renderSvg, sortAttributes } from '../../src/plots/export';
import { calibrationFigure, rocFigure, trainingCurvesFigure } from '../../src/plots/figures';
import { MmctrError } from '../../src/errors';

afterAll(() => closeRenderer());

const roc = rocFigure(
  [
    { name: 'din', auc: 0.7, fpr: [0, 0.2, 0.6, 1], tpr: [0, 0.5, 0.9, 1] },
    { name: 'dcn', auc: 0.68, fpr: [0, 0.25, 0.6, 1], tpr: [0, 0.45, 0.85, 1] },
  ],
  { name: 'oracle', auc: 0.869, fpr: [0, 0.1, 0.4, 1], tpr: [0, 0.6, 0.95, 1] },
);

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): [number, number] {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

describe('normalizeSvg', () => {
  it('renames ids in order of appearance and rewrites whole-id references only', () => {
    const svg =
      '<svg><defs id="defs-ab12cd"><clipPath id="clipab12cdxy"/><clipPath id="clipab12cdxyplot"/></defs>' +
      '<g clip-path="url(#clipab12cdxyplot)" style="clip-path: url(&quot;#clipab12cdxy&quot;);"><use href="#clipab12cdxy"/></g></svg>';
    expect(normalizeSvg(svg)).toBe(
      '<svg><defs id="mmctr-1"><clipPath id="mmctr-2"/><clipPath id="mmctr-3"/></defs>' +
        '<g clip-path="url(#mmctr-3)" style="clip-path: url(&quot;#mmctr-2&quot;);"><use href="#mmctr-2"/></g></svg>',
    );
    // Two uids, same structure → same bytes.
    expect(normalizeSvg(svg.replaceAll('ab12cd', 'ff00ee'))).toBe(normalizeSvg(svg));
  });

  it('writes attributes in name order', () => {
    expect(sortAttributes('<rect style="a" width="2" class="bg"/><g y="1" x="0">t</g>')).toBe('<rect class="bg" style="a" width="2"/><g x="0" y="1">t</g>');
  });
});

describe('renderSvg / renderPng (Chromium)', () => {
  it('gives byte-identical SVG for the same figure, with other figures in between (fresh browsers: figuresCli.test.ts)', async () => {
    const a = await renderSvg(roc);
    expect(a.startsWith('<svg')).toBe(true);
    expect(a).toContain('DejaVu Sans');
    expect(a).toContain('oracle (0.869)');
    expect(a).not.toMatch(/id="(?!mmctr-)/);
    await renderSvg(trainingCurvesFigure([{ name: 'din', epochs: [{ epoch: 1, trainLoss: 0.5, validAuc: 0.7 }] }]));
    const b = await renderSvg(roc);
    expect(b).toBe(a);
  });

  it('renders concurrent calls one at a time, each right', async () => {
    const cal = calibrationFigure([{ name: 'din', bins: [{ meanPred: 0.1, fracPos: 0.1, count: 3 }] }]);
    const [x, y, z] = await Promise.all([renderSvg(roc), renderSvg(cal), renderSvg(roc)]);
    expect(x).toBe(z);
    expect(y).toContain('perfectly calibrated');
  });

  it('exports PNG at 2× the layout size by default', async () => {
    const png = await renderPng(roc);
    expect(pngSize(png)).toEqual([2 * (roc.layout.width as number), 2 * (roc.layout.height as number)]);
    expect(pngSize(await renderPng(roc, { scale: 1 }))).toEqual([roc.layout.width, roc.layout.height]);
    await expect(renderPng(roc, { scale: 0 })).rejects.toThrow(/scale 0/);
  });

  it('refuses a figure without a size', async () => {
    await expect(renderSvg({ data: [], layout: {} })).rejects.toThrow(/positive width and height/);
  });

  it('names the path and the Debian package when Chromium is missing', async () => {
    await closeRenderer();
    const saved = process.env.MMCTR_CHROMIUM;
    process.env.MMCTR_CHROMIUM = '/nonexistent/chromium';
    try {
      const err = await renderSvg(roc).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MmctrError);
      expect((err as Error).message).toMatch(/Chromium not found at \/nonexistent\/chromium.*Debian package `chromium`/);
    } finally {
      if (saved === undefined) delete process.env.MMCTR_CHROMIUM;
      else process.env.MMCTR_CHROMIUM = saved;
    }
    // The failed start is not cached.
    expect((await renderSvg(roc)).startsWith('<svg')).toBe(true);
  });
});
