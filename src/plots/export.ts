/**
 * Headless export of figures to SVG and PNG: one Chromium (Debian's /usr/bin/chromium through playwright-core)
 * and one page with plotly.js-dist-min loaded from node_modules (no network), started on first use and reused by
 * every call until `closeRenderer()`. Starting costs ≈ 2–4 s; each export then ≈ 0.05–0.3 s.
 *
 * SVG output is made byte-stable: plotly names clip paths and defs after a random per-plot uid
 * (`clip82271axy`, `defs-82271a`), so the ids are renamed in order of appearance (`mmctr-1`, …) and every
 * reference to them rewritten; traces get fixed uids; attributes are written in name order. Text is measured in the theme's explicit font (DejaVu Sans), so the same figure on
 * the same machine gives the same bytes.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MmctrError } from '../errors';
import type { Figure } from './types';

export class RenderError extends MmctrError {}

/** Chromium used unless MMCTR_CHROMIUM names another executable. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags of a quiet, offline headless Chromium (see the toolchain reference). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface PngOptions {
  /** Pixel ratio: 2 gives a 1008 px wide PNG of a 504 px layout. Default 2. */
  scale?: number;
}

interface Renderer {
  browser: Browser;
  page: Page;
}

let renderer: Promise<Renderer> | null = null;
/** Exports run one at a time on the page (a chain of promises). */
let queue: Promise<unknown> = Promise.resolve();

function chromiumPath(): string {
  return process.env.MMCTR_CHROMIUM && process.env.MMCTR_CHROMIUM !== '' ? process.env.MMCTR_CHROMIUM : DEFAULT_CHROMIUM;
}

/** This module's folder, from the stack (absolute under tsx ESM and in CommonJS; src/ may not use import.meta). */
function moduleDir(): string | undefined {
  const frame = new Error().stack?.split('\n').find((l) => /[\\/]export\.[cm]?[tj]s\b/.test(l));
  const m = frame?.match(/(?:file:\/\/)?(\/[^:()]*[\\/]export\.[cm]?[tj]s)/);
  if (m) return path.dirname(m[1]);
  if (typeof __dirname === 'string' && path.isAbsolute(__dirname)) return __dirname;
  return undefined;
}

/** plotly.min.js of the installed plotly.js-dist-min, resolved from this module, else from the working folder. */
export function plotlyScriptPath(): string {
  const bases = [moduleDir(), process.cwd()].filter((d): d is string => d !== undefined);
  for (const base of bases) {
    try {
      return createRequire(path.join(base, 'noop.js')).resolve('plotly.js-dist-min');
    } catch {
      // try the next base
    }
  }
  throw new RenderError(`plotly.js-dist-min is not installed (looked from ${bases.join(', ')}); run npm install in the project`);
}

async function startRenderer(): Promise<Renderer> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new RenderError(
      `Chromium not found at ${executablePath}: figures are exported by a headless Chromium. Install the Debian package ` +
        '`chromium` (apt-get install --no-install-recommends chromium fonts-dejavu-core), or set MMCTR_CHROMIUM to a Chromium executable.',
    );
  }
  const script = plotlyScriptPath();
  const { chromium } = await import('playwright-core');
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    throw new RenderError(`could not start Chromium at ${executablePath}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    await page.addScriptTag({ path: script });
    const ok = await page.evaluate(() => typeof (globalThis as { Plotly?: unknown }).Plotly === 'object');
    if (!ok) throw new RenderError(`${script} loaded but defined no Plotly object`);
    return { browser, page };
  } catch (err) {
    await browser.close().catch(() => undefined);
    throw err;
  }
}

function getRenderer(): Promise<Renderer> {
  if (!renderer) {
    renderer = startRenderer();
    // A failed start is not cached: the next call tries again (e.g. after installing Chromium).
    renderer.catch(() => {
      renderer = null;
    });
  }
  return renderer;
}

/** Runs `fn` after every export queued before it. */
function enqueue<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

type ImageFormat = 'svg' | 'png';

/** Plotly.toImage in the page; returns the data URL. */
async function toImage(figure: Figure, format: ImageFormat, scale: number): Promise<string> {
  const width = figure.layout.width;
  const height = figure.layout.height;
  if (!(typeof width === 'number' && width > 0 && typeof height === 'number' && height > 0)) {
    throw new RenderError(`figure layout needs a positive width and height in px (got ${String(width)} × ${String(height)}); build it with src/plots/theme.ts baseLayout`);
  }
  const { page } = await getRenderer();
  const spec = JSON.parse(JSON.stringify(figure)) as Figure; // plain data: what survives the page boundary
  // Plotly names each trace's group `trace<uid>` with a random uid unless one is given.
  spec.data = spec.data.map((t, i) => ({ uid: `t${i}`, ...t }));
  try {
    return await page.evaluate(
      async ({ fig, fmt, w, h, s }) => {
        const Plotly = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
        return Plotly.toImage({ data: fig.data, layout: fig.layout, config: { staticPlot: true } }, { format: fmt, width: w, height: h, scale: s });
      },
      { fig: spec, fmt: format, w: width, h: height, s: scale },
    );
  } catch (err) {
    throw new RenderError(`plotly could not render the figure as ${format}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** The figure as an SVG document (UTF-8 text), byte-identical for the same figure. */
export function renderSvg(figure: Figure): Promise<string> {
  return enqueue(async () => {
    const url = await toImage(figure, 'svg', 1);
    const comma = url.indexOf(',');
    const body = url.slice(comma + 1);
    const svg = url.slice(0, comma).endsWith(';base64') ? Buffer.from(body, 'base64').toString('utf8') : decodeURIComponent(body);
    return normalizeSvg(svg);
  });
}

/** The figure as PNG bytes, `scale` × the layout's pixel size (default 2×). */
export function renderPng(figure: Figure, options: PngOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) return Promise.reject(new RenderError(`renderPng: scale ${scale}: expected a number in (0, 8]`));
  return enqueue(async () => {
    const url = await toImage(figure, 'png', scale);
    return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  });
}

/** Closes the browser (the next render starts a new one). Safe to call when none is running. */
export async function closeRenderer(): Promise<void> {
  const current = renderer;
  renderer = null;
  if (!current) return;
  await queue;
  try {
    const { browser } = await current;
    await browser.close();
  } catch {
    // it never started: nothing to close
  }
}

/**
 * Renames every `id` of an SVG document to `mmctr-<n>` (n in order of first appearance) and rewrites the
 * references to them (`url(#…)`, `href="#…"`), so plotly's random uids do not reach the bytes. Ids are matched
 * whole, never as substrings (`clipabcx` and `clipabcxy` are different ids).
 */
export function normalizeSvg(svg: string): string {
  const ids = new Map<string, string>();
  const rename = (id: string) => {
    let n = ids.get(id);
    if (n === undefined) {
      n = `mmctr-${ids.size + 1}`;
      ids.set(id, n);
    }
    return n;
  };
  let out = svg.replace(/\sid="([^"]+)"/g, (_m, id: string) => ` id="${rename(id)}"`);
  const ref = (id: string) => ids.get(id) ?? id;
  out = out.replace(/url\((&quot;|["']?)#([^"')&]+)\1\)/g, (_m, q: string, id: string) => `url(${q}#${ref(id)}${q})`);
  out = out.replace(/(href=")#([^"]+)"/g, (_m, pre: string, id: string) => `${pre}#${ref(id)}"`);
  return sortAttributes(out);
}

/**
 * Writes the attributes of every start tag in name order. Plotly sets some attributes in an order that depends on
 * the page's history (a legend's background gets its size before or after its style), which serialises the same
 * element two ways.
 */
export function sortAttributes(svg: string): string {
  return svg.replace(/<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")+)(\s*\/?)>/g, (_m, tag: string, attrs: string, end: string) => {
    const list = attrs.match(/[\w:.-]+="[^"]*"/g) as string[];
    list.sort((a, b) => {
      const ka = a.slice(0, a.indexOf('='));
      const kb = b.slice(0, b.indexOf('='));
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    return `<${tag} ${list.join(' ')}${end.trim()}>`;
  });
}
