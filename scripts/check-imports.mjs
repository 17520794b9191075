// Checks the architecture rules of docs/architecture.md and that the repository stands alone (run by
// `npm run check`):
//  1. imports between src/ folders point one way (ALLOWED below);
//  2. another folder is imported only through its index.ts;
//  3. pure folders touch no fs/net/child_process, no Date.now(), no Math.random() — except files that
//     declare themselves an edge with a first-line comment `// @edge: <reason>` (e.g. alert sinks).
// Test files (*.test.ts) are exempt from 3. Exits 1 with one line per violation.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ALLOWED = {
  common: [],
  physics: ['common'],
  qkd: ['common', 'physics'],
  postprocess: ['common', 'physics', 'qkd'],
  sim: ['common'],
  kms: ['common'],
  detect: ['common', 'physics', 'qkd'],
  network: ['common', 'physics', 'qkd', 'postprocess', 'sim', 'kms', 'detect'],
  ipsec: ['common', 'kms', 'detect'],
  server: ['common', 'physics', 'qkd', 'postprocess', 'sim', 'kms', 'network', 'detect', 'ipsec'],
  cli: ['common', 'physics', 'qkd', 'postprocess', 'sim', 'kms', 'network', 'detect', 'ipsec', 'server'],
};
const PURE = new Set(['common', 'physics', 'qkd', 'postprocess', 'sim', 'detect']);
const IMPURE_PATTERNS = [
  [/from\s+['"]node:(fs|fs\/promises|net|dgram|tls|http|https|child_process)['"]/, 'imports an I/O module'],
  [/\bDate\.now\(\)/, 'reads the wall clock (Date.now)'],
  [/\bMath\.random\(\)/, 'uses Math.random (use a seeded Rng)'],
];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const root = resolve('src');
const problems = [];
for (const file of walk(root)) {
  const rel = relative(root, file);
  const folder = rel.split('/')[0];
  const text = readFileSync(file, 'utf8');
  const isTest = file.endsWith('.test.ts');
  for (const m of text.matchAll(
    /(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    // 6. Test support lives in `*.fixture.ts` files, which only tests, other fixtures and benchmarks import.
    if (spec.endsWith('.fixture.ts') && !isTest && !file.endsWith('.fixture.ts'))
      problems.push(`${rel}: production code imports the test fixture ${spec}`);
    const target = relative(root, resolve(dirname(file), spec));
    if (target.startsWith('..')) continue; // outside src (e.g. web types): not governed here
    const tFolder = target.split('/')[0];
    if (tFolder === folder) continue;
    if (!(ALLOWED[folder] ?? []).includes(tFolder))
      problems.push(`${rel}: ${folder}/ may not import ${tFolder}/ (${spec})`);
    else if (target !== `${tFolder}/index.ts` && !isTest)
      problems.push(`${rel}: import ${tFolder}/ through its index.ts, not ${spec}`);
  }
  if (PURE.has(folder) && !isTest && !/^\/\/ @edge:/.test(text)) {
    for (const [re, what] of IMPURE_PATTERNS)
      if (re.test(text)) problems.push(`${rel}: pure folder ${folder}/ ${what}`);
  }
}
// 4. The repository stands alone: no citation of files outside it (../shared, CONVENTIONS.md, DESIGN.md)
//    and no "issue N" of a tracker its readers cannot see — say what is meant instead.
const STANDALONE = [
  [/\bissues? #?\d+\b/i, 'cites an issue number (say what is meant instead)'],
  [/\.\.\/shared\/|\bCONVENTIONS\.md\b|\bDESIGN\.md\b/, 'cites a file outside the repository'],
];
function walkText(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'results' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walkText(p, out);
    else if (/\.(ts|tsx|mjs|js|md|ya?ml|css|html)$/.test(name)) out.push(p);
  }
  return out;
}
for (const file of [
  ...['src', 'test', 'bench', 'scripts', 'docs', 'web/src', 'scenarios', 'deploy'].flatMap((d) =>
    existsSync(d) ? walkText(d) : [],
  ),
  'README.md',
].filter((f) => f !== 'scripts/check-imports.mjs')) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const [re, what] of STANDALONE) if (re.test(line)) problems.push(`${file}:${i + 1}: ${what}`);
  });
}
// 5. The dashboard's list renders give each item a key (Preact reuses DOM nodes by key; without one a
//    re-ordered list updates the wrong rows): `.map((x) => <tag …>` must put `key=` on that tag.
for (const file of walkText('web/src').filter((f) => f.endsWith('.tsx'))) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/\.map\(\(?[^)]*\)?\s*=>\s*\(?\s*<([A-Za-z][\w.]*)([^>]*)>/g)) {
    if (!/\bkey=/.test(m[2])) {
      const line = text.slice(0, m.index).split('\n').length;
      problems.push(`${file}:${line}: list render of <${m[1]}> without a key`);
    }
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`check-imports: ${problems.length} violation(s)`);
  process.exit(1);
}
console.log('check-imports: import directions and purity rules hold');
