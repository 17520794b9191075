import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliInProcess } from '../run-in-process.ts';
import { references, withinTolerance, type Reference } from '../validate/references.ts';
import { runReferences, selectReferences } from './validate.ts';

const run = (args: string[]) => runCliInProcess(['validate', ...args]);

test('every reference names a source with a figure, table, equation, section or abstract (or says it is an independent check, or the scenario file that records it), and a reason', () => {
  const ids = new Set<string>();
  for (const r of references()) {
    assert.ok(!ids.has(r.id), `duplicate id ${r.id}`);
    ids.add(r.id);
    assert.match(
      r.source,
      /(Fig\.|Table|Eq\.|Eqs\.|Sec\.|abstract|text|independent check|scenarios\/)/,
      r.id,
    );
    assert.ok(r.why.length > 10, r.id);
  }
});

test('withinTolerance reads relative, absolute and range tolerances', () => {
  const base = {
    id: 'x',
    group: 'models',
    figure: 'f',
    source: 's',
    unit: '',
    why: 'w',
    compute: () => 0,
  } as const;
  const rel: Reference = { ...base, published: 100, tolerance: { kind: 'relative', value: 0.05 } };
  assert.equal(withinTolerance(rel, 104.9), true);
  assert.equal(withinTolerance(rel, 94.9), false);
  const abs: Reference = { ...base, published: 0.25, tolerance: { kind: 'absolute', value: 0.01 } };
  assert.equal(withinTolerance(abs, 0.259), true);
  assert.equal(withinTolerance(abs, 0.261), false);
  const range: Reference = { ...base, published: 1e3, tolerance: { kind: 'range', min: 1e3, max: 1e4 } };
  assert.equal(withinTolerance(range, 999), false);
  assert.equal(withinTolerance(range, Number.NaN), false);
});

test('a failing reference is reported as such (rows are not hard-coded to pass)', () => {
  const bad: Reference = {
    id: 'deliberately-wrong',
    group: 'models',
    figure: 'f',
    source: 's',
    unit: '',
    why: 'w',
    published: 1,
    tolerance: { kind: 'relative', value: 0.01 },
    compute: () => 2,
  };
  assert.equal(runReferences([bad])[0]!.pass, false);
});

test('--only selects by id prefix and group; an unknown name is exit 2 with one line', async () => {
  assert.deepEqual(
    selectReferences(['lim2014']).map((r) => r.id),
    references()
      .filter((r) => r.id.startsWith('lim2014'))
      .map((r) => r.id),
  );
  assert.ok(selectReferences(['event-level']).every((r) => r.group === 'event-level'));
  const r = await run(['--only', 'no-such-paper']);
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
});

test('qkdnet validate --only plob --format json prints the row and exits 0; --report writes the page', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-validate-'));
  try {
    const r = await run(['--only', 'plob,gys-decoy-infinite', '--format', 'json', '--report', dir]);
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as {
      reference: string;
      pass: boolean;
      published: number;
      qkdnet: number;
    }[];
    assert.deepEqual(
      rows.map((x) => x.reference),
      ['gys-decoy-infinite-max-distance', 'plob-100km'],
    );
    assert.ok(rows.every((x) => x.pass));
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /2 of 2 references reproduced/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qkdnet validate --list names every reference without running it', async () => {
  const r = await run(['--list']);
  assert.equal(r.code, 0);
  for (const ref of references()) assert.ok(r.out.includes(ref.id), ref.id);
});
