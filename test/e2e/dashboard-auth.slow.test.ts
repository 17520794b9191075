/**
 * End-to-end, off loopback: `qkdnet up --host <this machine's interface address> --generate-tokens` as a
 * real process (0.0.0.0 reached through 127.0.0.1 when the machine has no other address). The dashboard is
 * served over HTTPS with a certificate from the run's PKI that names the address; Chromium (playwright-core,
 * Debian's /usr/bin/chromium) gets the login page, logs in with the operator token printed at start-up,
 * cuts a link and sees the action — who, from where, accepted — in the activity list; the audit API and a
 * viewer login agree. Screenshots go to test-artifacts/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium, waitFor } from './browser.fixture.ts';
import { type Browser } from 'playwright-core';
import type { AuditRecord } from '../../src/server/index.ts';

const ARTIFACTS = 'test-artifacts';

function interfaceAddress(): string | null {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

const bindHost = interfaceAddress() ?? '0.0.0.0';
const connectHost = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost;
let proc: ChildProcess;
let browser: Browser;
let dataDir = '';
let base = '';
let tokens: { operator: string; viewer: string };
let exited: Promise<unknown>;

/** GET over HTTPS verifying the server certificate against the run's CA (hostname checked too). */
function verifiedGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const ca = readFileSync(join(dataDir, 'pki', 'ca.pem'));
  return new Promise((resolve, reject) => {
    get(`${base}${path.replace(/^\//, '')}`, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject);
  });
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'qkdnet-e2e-auth-'));
  proc = spawn(
    process.execPath,
    [
      'bin/qkdnet.js',
      'up',
      'scenarios/metro-demo.yaml',
      '--host',
      bindHost,
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--no-kme',
      '--speed',
      '20',
      '--generate-tokens',
      '--siem',
      pathToFileURL(join(dataDir, 'siem.jsonl')).href,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  exited = new Promise((r) => proc.once('exit', r));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c) => (out += String(c)));
  proc.stderr!.on('data', (c) => (err += String(c)));
  const line = await waitFor('the start-up line', 60_000, async () => {
    if (proc.exitCode !== null) throw new Error(`qkdnet up exited ${proc.exitCode}: ${err}`);
    const l = out.split('\n').find((x) => x.startsWith('{'));
    return l ? (JSON.parse(l) as { dashboard: string; tls: boolean; tokens: typeof tokens }) : undefined;
  });
  assert.equal(line.tls, true);
  tokens = line.tokens;
  base = line.dashboard.replace(`//${bindHost}:`, `//${connectHost}:`);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (proc && proc.exitCode === null) {
    proc.kill('SIGINT');
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test(`HTTPS on ${bindHost} with a certificate for the address; no state without a login`, async () => {
  assert.match(base, /^https:\/\//);
  assert.equal((await verifiedGet('/healthz')).status, 200);
  assert.equal((await verifiedGet('/api/state')).status, 401);
  assert.equal((await verifiedGet('/api/state', { authorization: `Bearer ${tokens.viewer}` })).status, 200);
});

test('an operator logs in in Chromium, cuts a link and sees it in the audit trail', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  await page.goto(base);
  await page.waitForSelector('[data-testid="login-form"]');
  await page.fill('[data-testid="login-token"]', 'not-the-token-at-all');
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('.login [role="alert"]');
  await page.fill('[data-testid="login-token"]', tokens.operator);
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('[data-testid="connection"]:text("live")');
  assert.equal(await page.getAttribute('[data-testid="who"]', 'data-role'), 'operator');
  const cookie = (await ctx.cookies()).find((c) => c.name === 'qkdnet_session')!;
  assert.deepEqual([cookie.httpOnly, cookie.secure, cookie.sameSite], [true, true, 'Strict']);

  await page.selectOption('[data-testid="control-link"]', 'hq-dcn');
  await page.click('[data-testid="cut"]');
  await page.waitForSelector('tr[data-link="hq-dcn"][data-state="down"]');
  const item = await page.waitForSelector('[data-testid="activity"] [data-audit-action="link-fail"]');
  const text = (await item.textContent()) ?? '';
  assert.match(text, /operator-token \(operator, token\) from \S+: link-fail hq-dcn — accepted/);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-operator-audit.png') });

  const audit = JSON.parse(
    (await verifiedGet('/api/audit', { authorization: `Bearer ${tokens.viewer}` })).body,
  ) as {
    records: AuditRecord[];
  };
  const cut = audit.records.find((r) => r.action === 'link-fail' && r.outcome === 'accepted')!;
  assert.deepEqual(
    [cut.actor, cut.role, cut.via, cut.target],
    ['operator-token', 'operator', 'token', 'hq-dcn'],
  );
  assert.ok(
    audit.records.some((r) => r.action === 'login' && r.outcome === 'refused'),
    'the wrong token is audited',
  );
  assert.ok(!JSON.stringify(audit).includes(tokens.operator), 'no token in the trail');
  // The same record reached the --siem sink (a JSON-lines file here), like the network's alerts.
  const siem = await waitFor('the cut in the SIEM file', 10_000, async () => {
    const lines = readFileSync(join(dataDir, 'siem.jsonl'), 'utf8').trim().split('\n');
    const alerts = lines.map((l) => JSON.parse(l) as { id: string; kind: string; message: string });
    return alerts.some((a) => a.id === cut.id) ? alerts : undefined;
  });
  const cutAlert = siem.find((a) => a.id === cut.id)!;
  assert.equal(cutAlert.kind, 'audit-link-fail');
  assert.match(cutAlert.message, /^operator-token \(operator, token\) from \S+: link-fail hq-dcn — accepted/);
  assert.ok(
    siem.some((a) => a.kind === 'link-down'),
    'network alerts go to the same sink',
  );
  assert.ok(!readFileSync(join(dataDir, 'siem.jsonl'), 'utf8').includes(tokens.operator));
  await ctx.close();
});

test('a viewer in Chromium sees the trail but no controls', async () => {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(base);
  await page.fill('[data-testid="login-token"]', tokens.viewer);
  await page.click('[data-testid="login-submit"]');
  await page.waitForSelector('[data-testid="connection"]:text("live")');
  assert.equal(await page.$('[data-testid="cut"]'), null);
  await page.waitForSelector('[data-testid="activity"] [data-audit-action="link-fail"]');
  await ctx.close();
});
