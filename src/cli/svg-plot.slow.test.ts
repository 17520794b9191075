import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderLinePlot } from './svg-plot.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

// Real Chromium parses and renders the SVG: its DOM must hold our polylines and no <parsererror> (what
// Chromium shows for malformed XML), and the screenshot must be a PNG well above a blank page (≈ 2 KB).
test(
  'Chromium renders the key-rate figure with the first series in its colour',
  { skip: CHROMIUM === undefined && 'no Chromium on this machine' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'svgplot-'));
    try {
      const svg = renderLinePlot({
        title: 'Secret key rate vs distance',
        xLabel: 'Fiber length (km)',
        yLabel: 'Secret key rate (bits per pulse)',
        yLog: true,
        series: [
          {
            name: 'decoy',
            points: Array.from(
              { length: 50 },
              (_, i) => [i * 3, Math.pow(10, -2 - i / 15)] as [number, number],
            ),
          },
          {
            name: 'plob',
            points: [
              [0, 1],
              [150, 1e-3],
            ],
            dashed: true,
          },
        ],
      });
      const svgFile = join(dir, 'k.svg');
      const png = join(dir, 'k.png');
      writeFileSync(svgFile, svg);
      execFileSync(
        CHROMIUM!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          `--screenshot=${png}`,
          '--window-size=720,480',
          `file://${svgFile}`,
        ],
        { stdio: 'ignore', timeout: 60_000 },
      );
      const dom = execFileSync(
        CHROMIUM!,
        ['--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', `file://${svgFile}`],
        { timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
      ).toString();
      assert.ok(!dom.includes('parsererror'), 'Chromium reports an XML parse error');
      assert.equal((dom.match(/<polyline/g) ?? []).length, 2);
      const bytes = readFileSync(png);
      assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
      assert.ok(bytes.length > 10_000, `screenshot only ${bytes.length} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
