import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE, QkdnetError, isQkdnetError } from './errors.ts';

test('docs/errors.md lists exactly the codes and statuses of the catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) documented.set(m[1]!, Number(m[2]));
  const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([k, v]) => [k, v.status as number]));
  assert.deepEqual([...documented.entries()].sort(), [...catalogue.entries()].sort());
});

test('QkdnetError carries the status of its code', () => {
  const e = new QkdnetError('KMS_KEY_EXHAUSTED', 'Cannot reserve 3 keys for SAE "sae-b": 0 stored');
  assert.equal(e.status, 503);
  assert.ok(isQkdnetError(e, 'KMS_KEY_EXHAUSTED'));
  assert.ok(!isQkdnetError(new Error('x')));
});

/** Every non-test TypeScript file under src/, except the catalogue itself. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'errors.ts' ? [p] : [];
  });
}

test('every catalogue code is raised somewhere in src/ (a code nobody raises is a promise nobody keeps)', () => {
  const text = sourceFiles(fileURLToPath(new URL('..', import.meta.url)))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unraised = Object.keys(ERROR_CATALOGUE).filter((code) => !text.includes(`'${code}'`));
  assert.deepEqual(unraised, []);
});
