import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decadeLabel, escapeXml, renderLinePlot } from './svg-plot.ts';

const spec = {
  title: 'Rate <vs> distance',
  xLabel: 'Fiber length (km)',
  yLabel: 'Secret key rate (bits per pulse)',
  yLog: true,
  series: [
    {
      name: 'decoy & co',
      points: [
        [0, 1e-3],
        [50, 1e-4],
        [100, 1e-5],
        [150, 0],
      ] as [number, number][],
    },
    {
      name: 'plob',
      points: [
        [0, 1],
        [150, 1e-3],
      ] as [number, number][],
      dashed: true,
    },
  ],
};

test('renderLinePlot draws one polyline per drawable run, a legend entry per series and escapes text', () => {
  const svg = renderLinePlot(spec);
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
  assert.ok(svg.includes('Rate &lt;vs&gt; distance'));
  assert.ok(svg.includes('decoy &amp; co'));
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 2); // the bound's line and its legend sample
});

test('log axes label every decade from the smallest to the largest value', () => {
  const svg = renderLinePlot(spec);
  for (const e of [-5, -4, -3, -2, -1, 0]) assert.ok(svg.includes(`>${decadeLabel(e)}<`), decadeLabel(e));
  assert.equal(decadeLabel(-12), '10⁻¹²');
});

test('a zero or negative value on a log axis breaks the line instead of bending it', () => {
  const svg = renderLinePlot({
    ...spec,
    series: [
      {
        name: 's',
        points: [
          [0, 1],
          [1, 0],
          [2, 0.1],
          [3, 0.01],
        ],
      },
    ],
  });
  assert.equal((svg.match(/<polyline /g) ?? []).length, 2);
});

test('linear axes get 1–2–5 ticks and the output is deterministic', () => {
  const lin = {
    ...spec,
    yLog: false,
    series: [
      {
        name: 'a',
        points: [
          [0, 0],
          [10, 7],
        ] as [number, number][],
      },
    ],
  };
  const svg = renderLinePlot(lin);
  for (const t of ['0', '2', '4', '6', '8', '10']) assert.ok(svg.includes(`>${t}<`), t);
  assert.equal(renderLinePlot(lin), svg);
  assert.equal(escapeXml(`"a'`), '&quot;a&apos;');
});
