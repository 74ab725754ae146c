/**
 * End to end in a real notebook UI: Debian's classic Notebook server with the project's kernel, 05_full_pipeline
 * opened in headless Chromium, Cell → Run All through the menu, then what a user would see is checked: the kernel
 * name, no cell in error, the AUC table, the figures. A screenshot goes to runs/ui/. The notebook is never saved
 * (autosave off; the committed file's bytes are compared before and after).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startNotebookServer, type NotebookServer } from '../../src/notebooks/notebookServer';
import { KERNEL_DISPLAY_NAME } from '../../src/notebooks/runner';

const root = path.resolve(__dirname, '..', '..');
const notebook = path.join('notebooks', '05_full_pipeline.ipynb');
const screenshot = path.join('runs', 'ui', '05_full_pipeline.png');

describe('notebook UI (classic Notebook server + headless Chromium)', () => {
  let server: NotebookServer | null = null;
  let browser: Browser | null = null;
  const committed = readFileSync(path.join(root, notebook));

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    // Whatever happened, the committed notebook keeps its bytes.
    const now = readFileSync(path.join(root, notebook));
    if (!now.equals(committed)) writeFileSync(path.join(root, notebook), committed);
  });

  it('runs 05_full_pipeline through Cell → Run All with the mmctr kernel, without errors, showing the AUC table and figures', async () => {
    server = await startNotebookServer({ root, scale: 'tiny', runsRoot: path.join('runs', 'ui', 'notebook-runs') });
    browser = await chromium.launch({
      executablePath: process.env.MMCTR_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.notebookUrl(notebook));

    // The notebook and its kernel are up; autosave off so nothing is written back.
    // (Browser-side code as strings: the project's TypeScript has no DOM library.)
    await page.waitForFunction('!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())', undefined, { timeout: 90_000 });
    await page.evaluate('Jupyter.notebook.set_autosave_interval(0)');
    const kernelName = (await page.locator('.kernel_indicator_name').innerText()).trim();
    expect(kernelName).toBe(KERNEL_DISPLAY_NAME);

    // Cell → All Output → Clear (so saved prompts and outputs cannot pass for new ones), then Cell → Run All.
    await page.click('#celllink');
    await page.hover('#all_outputs');
    await page.click('#clear_all_output');
    await page.click('#celllink');
    await page.click('#run_all_cells');

    // Done when the kernel is idle and no cell is queued or running, and either every code cell has an execution
    // number or a cell failed (the UI then drops the queue).
    try {
      await page.waitForFunction(
        `(() => {
          const prompts = [...document.querySelectorAll('.code_cell .input_prompt')].map((p) => p.textContent || '');
          const idle = document.querySelector('#kernel_indicator_icon').classList.contains('kernel_idle_icon');
          const failed = document.querySelectorAll('.output_error, .output_stderr').length > 0;
          return idle && prompts.length > 0 && !prompts.some((p) => p.includes('[*]')) && (failed || prompts.every((p) => /\\[\\d+\\]/.test(p)));
        })()`,
        undefined,
        { timeout: 600_000, polling: 1000 },
      );
    } finally {
      mkdirSync(path.join(root, path.dirname(screenshot)), { recursive: true });
      // The notebook scrolls inside #site: a viewport as tall as its content shows the whole notebook.
      const height = Number(await page.evaluate("document.querySelector('#notebook').scrollHeight + 120"));
      await page.setViewportSize({ width: 1280, height: Math.min(Math.max(height, 900), 16_000) });
      await page.screenshot({ path: path.join(root, screenshot) });
      process.stdout.write(`notebook UI screenshot: ${screenshot}\n`);
    }

    const errors = await page.locator('.output_error').allInnerTexts();
    const stderr = await page.locator('.output_stderr').allInnerTexts();
    expect(errors, 'error outputs').toEqual([]);
    expect(stderr, 'stderr outputs (tslab reports errors there)').toEqual([]);

    const stdout = (await page.locator('.output_stdout').allInnerTexts()).join('\n');
    expect(stdout).toMatch(/model\s+valid AUC\s+logloss\s+gAUC\s+oracle AUC\s+gap/);
    expect(stdout).toMatch(/DCN-DIN \+ Task 1 emb\s+0\.\d{4}\s+0\.\d{4}/);

    const figures = page.locator('.output_svg svg, .output_png img');
    const boxes: { w: number; h: number }[] = [];
    for (const f of await figures.all()) {
      const b = await f.boundingBox();
      boxes.push({ w: b?.width ?? 0, h: b?.height ?? 0 });
    }
    expect(boxes.length).toBeGreaterThanOrEqual(3);
    for (const b of boxes) expect(b.w * b.h).toBeGreaterThan(10_000);

    expect(readFileSync(path.join(root, notebook)).equals(committed), 'the committed notebook was not modified').toBe(true);
  }, 780_000);
});
