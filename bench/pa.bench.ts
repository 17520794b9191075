/**
 * `npm run bench -- pa [--quick]`: privacy amplification by multiply-add-shift hashing against GMP.
 *
 * The same hash family, h_{a,b}(x) = ⌊((a·x + b) mod 2^{n+m}) / 2ⁿ⌋ with seed a ‖ b of 2(n+m) bits, at
 * n = 10⁶ (m = 4·10⁵) and n = 10⁷ (m = 4·10⁶), computed three ways in one run:
 * - qkdnet: `privacyAmplify('multiply-add-shift', …)` (the checked FFT multiplier of fft-multiply.ts),
 *   from the key's BitArray to the output BitArray, conversions included;
 * - qkdnet's BigInt path (`multiplyAddShiftBigInt`, the exact reference and the previous code);
 * - GMP through Debian's python3-gmpy2: ((a·x + b) & (2^{n+m} − 1)) >> n on mpz integers (conversions
 *   excluded: the baseline gets its operands ready-made). Skipped with a line saying so when python3 or
 *   gmpy2 is missing.
 * After three untimed calls of each qkdnet path (JIT warm-up), rounds alternate between the three so each sees the same load; per hash the CPU time of the measuring
 * process (JS: process.cpuUsage; Python: time.process_time) and the wall time. Outputs of the two qkdnet
 * paths are checked equal. Writes bench/results/pa.json.
 */
import { spawnSync } from 'node:child_process';
import { BitArray, createRng } from '../src/common/index.ts';
import {
  multiplyAddShiftBigInt,
  paSeedBits,
  privacyAmplify,
  randomPaSeed,
} from '../src/postprocess/index.ts';
import { benchContext, writeBenchResult } from './meta.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 4;

const GMP_SCRIPT = `
import sys, os, time
import gmpy2
n, m, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
w = n + m
rnd = lambda bits: gmpy2.mpz(int.from_bytes(os.urandom((bits + 7) // 8), 'little')) & ((gmpy2.mpz(1) << bits) - 1)
a, b, x = rnd(w), rnd(w), rnd(n)
mask = (gmpy2.mpz(1) << w) - 1
y = ((a * x + b) & mask) >> n
c0, w0 = time.process_time(), time.perf_counter()
for _ in range(reps):
    y = ((a * x + b) & mask) >> n
print((time.process_time() - c0) / reps * 1e3, (time.perf_counter() - w0) / reps * 1e3)
`;

/** GMP's time per hash (CPU ms, wall ms), or null when python3-gmpy2 is unavailable. */
function gmp(n: number, m: number, reps: number): { cpu: number; wall: number } | null {
  // The first python3 on PATH may be a private one without Debian's packages; the system one has them.
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', GMP_SCRIPT, String(n), String(m), String(reps)], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const [cpu, wall] = r.stdout.trim().split(/\s+/).map(Number);
    return { cpu: cpu!, wall: wall! };
  }
  return null;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Time per call of f over `reps` calls (CPU ms, wall ms). */
function time(f: () => void, reps: number): { cpu: number; wall: number } {
  const c0 = cpuMs();
  const w0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return { cpu: (cpuMs() - c0) / reps, wall: (performance.now() - w0) / reps };
}

const sizes = quick ? [1e6] : [1e6, 1e7];
const results: Record<string, unknown>[] = [];
let gmpMissing = false;
for (const n of sizes) {
  const m = 0.4 * n;
  const reps = n >= 1e7 ? 2 : 10;
  const rng = createRng(`bench-pa:${n}`);
  const key = BitArray.random(n, rng);
  const seed = randomPaSeed('multiply-add-shift', n, m, rng);
  const fast = privacyAmplify('multiply-add-shift', key, seed, m);
  if (!fast.equals(multiplyAddShiftBigInt(key, seed, m)))
    throw new Error(`FFT and BigInt hashes differ at n = ${n}`);
  // Untimed warm-up: V8 compiles the hot loops during the first calls.
  for (let i = 0; i < 3; i++) {
    privacyAmplify('multiply-add-shift', key, seed, m);
    multiplyAddShiftBigInt(key, seed, m);
  }
  const sum = { js: { cpu: 0, wall: 0 }, big: { cpu: 0, wall: 0 }, gmp: { cpu: 0, wall: 0 } };
  for (let r = 0; r < ROUNDS; r++) {
    const js = time(() => privacyAmplify('multiply-add-shift', key, seed, m), reps);
    const big = time(() => multiplyAddShiftBigInt(key, seed, m), reps);
    const g = gmpMissing ? null : gmp(n, m, reps);
    if (!g) gmpMissing = true;
    for (const [k, v] of [
      ['js', js],
      ['big', big],
      ['gmp', g],
    ] as const)
      if (v) {
        sum[k].cpu += v.cpu / ROUNDS;
        sum[k].wall += v.wall / ROUNDS;
      }
  }
  const mbps = (ms: number) => n / (ms * 1000);
  const row = {
    n,
    m,
    seed_bits: paSeedBits('multiply-add-shift', n, m),
    qkdnet_fft: { cpu_ms: sum.js.cpu, wall_ms: sum.js.wall, mbps_cpu: mbps(sum.js.cpu) },
    qkdnet_bigint: { cpu_ms: sum.big.cpu, wall_ms: sum.big.wall, mbps_cpu: mbps(sum.big.cpu) },
    gmp: gmpMissing ? null : { cpu_ms: sum.gmp.cpu, wall_ms: sum.gmp.wall, mbps_cpu: mbps(sum.gmp.cpu) },
    ratio_to_gmp_cpu: gmpMissing ? null : sum.gmp.cpu / sum.js.cpu,
  };
  results.push(row);
  console.log(
    `n=${n} m=${m} seed ${row.seed_bits} bits: qkdnet ${sum.js.cpu.toFixed(2)} ms CPU (${mbps(sum.js.cpu).toFixed(0)} Mbit/s), ` +
      `BigInt ${sum.big.cpu.toFixed(2)} ms` +
      (gmpMissing
        ? ''
        : `, GMP ${sum.gmp.cpu.toFixed(2)} ms (${mbps(sum.gmp.cpu).toFixed(0)} Mbit/s); qkdnet/GMP speed ${row.ratio_to_gmp_cpu!.toFixed(2)}`),
  );
}
if (gmpMissing)
  console.log(
    'GMP baseline skipped: python3 with gmpy2 is not installed (Debian: apt-get install python3-gmpy2)',
  );
const ctx = benchContext();
console.log(
  `load average ${ctx.machine.loadavg.map((x) => x.toFixed(2)).join(' ')} (2 shared cores: CPU times are inflated by contention)`,
);
writeBenchResult('pa', { ...ctx, quick, gmp_available: !gmpMissing, results });
