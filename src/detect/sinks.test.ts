import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '../common/index.ts';
import { FileSink, SyslogTcpSink, SyslogUdpSink, WebhookSink, attachSinks } from './sinks.ts';
import { formatCef } from './cef-format.ts';
import { formatRfc5424 } from './syslog-format.ts';

const alert: Alert = {
  id: 'a-b:7',
  timeNs: 1_795_000_000_123_456_789, // `date -u -d @1795000000` = 2026-11-18T11:06:40Z; ns beyond 2^53 round to 256 ns
  severity: 'critical',
  linkId: 'a-b',
  kind: 'qber-cusum',
  evidence: { statistic: 'cusum-llr[Z]', value: 71.25, threshold: 10.8, window: 'blocks 3..5' },
  action: 'quarantine-link',
  message: 'QBER in basis Z has shifted up: "quoted" \\ and ] and = | pipes',
};

// RFC 5424 §6 ABNF, as a regular expression: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
// MSGID SP STRUCTURED-DATA [SP MSG]; SD-PARAM values may contain escaped \" \\ \].
const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) ((?:\[[^ =\]"]{1,32}(?: [^ =\]"]{1,32}="(?:[^"\\\]]|\\["\\\]])*")*\])+|-)(?: (.*))?$/su;

function checkRfc5424(line: string): void {
  const m = RFC5424.exec(line);
  assert.ok(m, `not RFC 5424: ${line}`);
  const pri = Number(m[1]);
  assert.equal(pri, 10 * 8 + 2); // authpriv.crit
  assert.equal(m[2], '2026-11-18T11:06:40.123456Z');
  assert.equal(m[6], 'qber-cusum');
  assert.match(m[7]!, /^\[qkdnet@32473 id="a-b:\d+" kind="qber-cusum" severity="critical" link="a-b" /);
  assert.match(m[7]!, /statistic="cusum-llr\[Z\\\]"/);
}

// CEF: 7 unescaped pipes in the header, then key=value pairs whose values escape = and \.
function checkCef(line: string): void {
  assert.ok(line.startsWith('CEF:0|'), line);
  // the header is the first 7 unescaped pipes; pipes in the extension need no escaping
  const head = /^((?:[^|\\]|\\.)*\|){7}/.exec(line);
  assert.ok(head, 'CEF has 7 header fields');
  const parts = [...head[0].slice(0, -1).split(/(?<!\\)\|/), line.slice(head[0].length)];
  assert.equal(parts.length, 8, `CEF fields: ${parts.length}`);
  assert.deepEqual(parts.slice(0, 5), ['CEF:0', 'qkdnet', 'qkdnet-detect', '0.1.0', 'qber-cusum']);
  assert.equal(parts[6], '10');
  const ext = parts[7]!;
  const pairs = ext.split(/ (?=[A-Za-z0-9]+=)/);
  for (const p of pairs) assert.match(p, /^[A-Za-z0-9]+=(?:[^=\\]|\\[=\\nr])*$/, `bad extension pair: ${p}`);
  assert.ok(
    ext.includes('cs3=cusum-llr[Z]') &&
      ext.includes('act=quarantine-link') &&
      ext.includes('rt=1795000000123'),
  );
  assert.ok(ext.includes('\\= | pipes'), 'msg escapes "=" and keeps pipes in the extension');
}

test('formatters produce well-formed RFC 5424 and CEF', () => {
  checkRfc5424(formatRfc5424(alert));
  checkCef(formatCef(alert));
});

test('syslog over UDP reaches a real listener on 127.0.0.1 as RFC 5424 and as CEF', async () => {
  const server = createSocket('udp4');
  const got: string[] = [];
  const two = new Promise<void>((resolve) =>
    server.on('message', (m) => {
      got.push(m.toString('utf8'));
      if (got.length === 2) resolve();
    }),
  );
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  const { port } = server.address();
  const plain = new SyslogUdpSink({ host: '127.0.0.1', port });
  const cef = new SyslogUdpSink({ host: '127.0.0.1', port }, { format: 'cef' });
  await plain.send(alert);
  await cef.send(alert);
  await two;
  await Promise.all([plain.close(), cef.close()]);
  server.close();
  const [a, b] = got.sort((x, y) => x.length - y.length);
  const withCef = [a!, b!].find((x) => x.includes('CEF:0|'))!;
  checkRfc5424([a!, b!].find((x) => !x.includes('CEF:0|'))!);
  const m = RFC5424.exec(withCef);
  assert.ok(m, 'CEF travels inside an RFC 5424 message');
  checkCef(m[8]!);
});

test('syslog over TCP uses RFC 6587 octet counting, two frames on one connection', async () => {
  const chunks: Buffer[] = [];
  let done: () => void;
  const closed = new Promise<void>((r) => (done = r));
  const server = createTcpServer((s) => {
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => done());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const sink = new SyslogTcpSink({ host: '127.0.0.1', port });
  await sink.send(alert);
  await sink.send({ ...alert, id: 'a-b:8' });
  await sink.close();
  await closed;
  server.close();
  let buf = Buffer.concat(chunks);
  const frames: string[] = [];
  while (buf.length > 0) {
    const sp = buf.indexOf(0x20);
    const len = Number(buf.subarray(0, sp).toString('ascii'));
    assert.ok(Number.isInteger(len) && len > 0, 'MSG-LEN is a positive integer');
    frames.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    buf = buf.subarray(sp + 1 + len);
  }
  assert.equal(frames.length, 2);
  for (const f of frames) checkRfc5424(f);
  assert.match(frames[1]!, /id="a-b:8"/);
});

test('syslog over TLS (RFC 5425) reaches a real TLS listener and verifies its certificate', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qkdnet-tls-'));
  // a throw-away self-signed certificate for 127.0.0.1 (openssl is installed wherever strongSwan is)
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=syslog-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const key = await readFile(join(dir, 'key.pem'));
  const cert = await readFile(join(dir, 'cert.pem'));
  const chunks: Buffer[] = [];
  let done: () => void;
  const ended = new Promise<void>((r) => (done = r));
  const server = createTlsServer({ key, cert }, (s) => {
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => done());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const untrusting = new SyslogTcpSink({ host: '127.0.0.1', port, tls: {} });
  await assert.rejects(untrusting.send(alert), /Cannot connect to syslog receiver/);
  const sink = new SyslogTcpSink({ host: '127.0.0.1', port, tls: { ca: cert } });
  assert.equal(sink.name, `syslog+tls://127.0.0.1:${port}`);
  await sink.send(alert);
  await sink.close();
  await ended;
  server.close();
  const buf = Buffer.concat(chunks);
  const sp = buf.indexOf(0x20);
  const len = Number(buf.subarray(0, sp).toString('ascii'));
  assert.equal(buf.length, sp + 1 + len);
  checkRfc5424(buf.subarray(sp + 1).toString('utf8'));
  await rm(dir, { recursive: true });
});

test('a TCP sink reports an unreachable receiver as a failed send, not a crash', async () => {
  const server = createTcpServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  const sink = new SyslogTcpSink({ host: '127.0.0.1', port });
  await assert.rejects(sink.send(alert), /Cannot connect to syslog receiver/);
  await sink.close();
});

test('JSON-lines file sink appends one parseable Alert per line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'qkdnet-detect-'));
  const path = join(dir, 'alerts.jsonl');
  const sink = new FileSink(path);
  await sink.send(alert);
  await sink.send({ ...alert, id: 'a-b:9' });
  await sink.close();
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.deepEqual(JSON.parse(lines[0]!), alert);
  assert.equal(JSON.parse(lines[1]!).id, 'a-b:9');
  await rm(dir, { recursive: true });
});

test('webhook POSTs the alert as JSON; attachSinks counts a refusing endpoint as a failure', async () => {
  const bodies: unknown[] = [];
  let refuse = false;
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body) });
      res.statusCode = refuse ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const sink = new WebhookSink(`http://127.0.0.1:${port}/alerts`);
  const listeners: ((a: Alert) => void)[] = [];
  const source = { subscribe: (l: (a: Alert) => void) => (listeners.push(l), () => {}) };
  const errors: unknown[] = [];
  const att = attachSinks(source, [sink], (_s, _a, e) => errors.push(e));
  listeners[0]!(alert);
  await att.flush();
  refuse = true;
  listeners[0]!({ ...alert, id: 'a-b:10' });
  await att.flush();
  server.close();
  assert.deepEqual(bodies[0], { method: 'POST', type: 'application/json', body: alert });
  assert.equal(att.failures, 1);
  assert.match(String(errors[0]), /HTTP 500/);
  assert.throws(() => new WebhookSink('file:///etc/passwd'), RangeError);
});
