import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AuditLog, auditAlert, describeAudit } from './audit.ts';
import { LiveHub } from './hub.ts';
import { feedSiem, sinkFromUrl } from './siem.ts';
import type { AuditRecord } from './types.ts';

const entry = (over: Partial<AuditRecord> = {}) => ({
  timeS: 12,
  actor: 'alice',
  role: 'operator' as const,
  via: 'certificate' as const,
  action: 'link-fail',
  target: 'hq-dcn',
  detail: null,
  from: '192.0.2.7',
  outcome: 'accepted' as const,
  status: 202,
  reason: null,
  ...over,
});

test('the audit log keeps records in order with unique ids and tells subscribers', () => {
  const log = new AuditLog({ idPrefix: 'run' });
  const seen: string[] = [];
  const off = log.subscribe((r) => seen.push(r.id));
  const a = log.record(entry(), Date.UTC(2026, 0, 2, 3, 4, 5));
  log.record(entry({ action: 'speed', target: null, detail: '10' }));
  off();
  log.record(entry());
  assert.deepEqual(seen, ['run-1', 'run-2']);
  assert.equal(a.time, '2026-01-02T03:04:05.000Z');
  assert.deepEqual(
    log.list(2).map((r) => r.id),
    ['run-2', 'run-3'],
  );
  assert.equal(
    describeAudit(a),
    'alice (operator, certificate) from 192.0.2.7: link-fail hq-dcn — accepted (202)',
  );
  const alert = auditAlert(a);
  assert.deepEqual(
    [alert.kind, alert.severity, alert.linkId, alert.action],
    ['audit-link-fail', 'info', 'hq-dcn', 'notify'],
  );
  assert.equal(alert.timeNs, Date.UTC(2026, 0, 2, 3, 4, 5) * 1e6);
  const refused = auditAlert(
    log.record(
      entry({
        action: 'node-compromise',
        target: 'hq',
        outcome: 'refused',
        status: 403,
        reason: 'DASHBOARD_FORBIDDEN',
      }),
    ),
  );
  assert.deepEqual([refused.severity, refused.nodeId, refused.linkId], ['warning', 'hq', undefined]);
  assert.match(refused.message, /refused \(403\): DASHBOARD_FORBIDDEN$/);
});

test('audit records and network alerts reach real SIEM sinks: CEF over UDP syslog and a JSON-lines file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkdnet-siem-'));
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const got: string[] = [];
  const twoMessages = new Promise<void>((resolve) =>
    udp.on('message', (m) => {
      got.push(String(m));
      if (got.length === 2) resolve();
    }),
  );
  const hub = new LiveHub(
    {
      scenario: { name: 't', title: 'T' },
      nodes: [],
      links: [],
      apps: [],
      attackKinds: [],
      engines: {},
      speed: 1,
    },
    {
      failLink: () => undefined,
      restoreLink: () => undefined,
      compromiseNode: () => undefined,
      restoreNode: () => undefined,
      injectAttack: () => undefined,
      clearAttack: () => undefined,
      setSpeed: () => undefined,
      close: async () => undefined,
    },
  );
  const log = new AuditLog({ idPrefix: 'run' });
  const file = join(dir, 'siem.jsonl');
  const errors: string[] = [];
  const feed = feedSiem(
    hub,
    log,
    [
      sinkFromUrl(`syslog+udp://127.0.0.1:${(udp.address() as { port: number }).port}`, 'cef'),
      sinkFromUrl(pathToFileURL(file).href),
    ],
    (line) => errors.push(line),
  );
  try {
    log.record(entry({ action: 'attack-inject', detail: 'intercept-resend' }));
    hub.addAlert({
      id: 'al-1',
      timeNs: 5e9,
      severity: 'critical',
      linkId: 'hq-dcn',
      kind: 'qber-cusum',
      evidence: { statistic: 'cusum', value: 9, threshold: 5 },
      action: 'quarantine-link',
      message: 'QBER rose',
    });
    await twoMessages;
    await feed.close();
    const audit = got.find((m) => m.includes('audit-attack-inject'))!;
    assert.match(audit, /CEF:0\|qkdnet\|qkdnet-detect\|[^|]+\|audit-attack-inject\|/);
    assert.match(
      audit,
      /msg=alice \(operator, certificate\) from 192\.0\.2\.7: attack-inject hq-dcn intercept-resend/,
    );
    assert.ok(got.some((m) => m.includes('|qber-cusum|')));
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; timeNs: number });
    assert.deepEqual(lines.map((l) => l.kind).sort(), ['audit-attack-inject', 'qber-cusum']);
    // SIEM time is the wall clock, not the simulated 5 s.
    assert.ok(
      lines.every((l) => l.timeNs > 1e18),
      JSON.stringify(lines),
    );
    assert.deepEqual(errors, []);
  } finally {
    udp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--siem URLs: each sink kind, and a clear refusal of anything else', () => {
  assert.match(sinkFromUrl('syslog+tcp://siem.example:601').name, /^syslog\+tcp:\/\/siem\.example:601$/);
  assert.match(sinkFromUrl('syslog+tls://siem.example:6514').name, /^syslog\+tls:/);
  assert.match(
    sinkFromUrl('https://hooks.example/qkd?secret=1').name,
    /^webhook https:\/\/hooks\.example\/qkd$/,
  );
  assert.throws(
    () => sinkFromUrl('ftp://x:21'),
    /is not syslog\+udp, syslog\+tcp, syslog\+tls, file, http or https/,
  );
  assert.throws(() => sinkFromUrl('syslog+udp://siem.example'), /needs a host and a port/);
  assert.throws(() => sinkFromUrl('not a url'), /is not a URL/);
});
