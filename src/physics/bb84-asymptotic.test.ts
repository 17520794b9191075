import { test } from 'node:test';
import fc from 'fast-check';
import { bb84DecoyInfiniteRate, bb84VacuumWeakRate, type Bb84Channel } from './bb84-asymptotic.ts';

// With one exact yield convention (source-detector.ts) the vacuum+weak decoy estimate is a lower bound on the
// same single-photon yield the infinite-decoy rate uses, so it can never give more key. Before the convention was
// unified, high background (Y0 ~ 1e-2) let it exceed the infinite-decoy rate.
test('vacuum+weak decoy never beats infinite decoys, whatever the background (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        eta: fc.double({ min: 1e-6, max: 0.9, noNaN: true }),
        y0: fc.double({ min: 0, max: 0.05, noNaN: true }),
        ed: fc.double({ min: 0, max: 0.1, noNaN: true }),
        afterpulse: fc.double({ min: 0, max: 0.1, noNaN: true }),
        mu: fc.double({ min: 0.02, max: 1.2, noNaN: true }),
        nuFrac: fc.double({ min: 0.01, max: 0.95, noNaN: true }),
      }),
      ({ eta, y0, ed, afterpulse, mu, nuFrac }) => {
        const ch: Bb84Channel = { eta, y0, ed, f: 1.16, q: 0.5, afterpulse, deadTimeGates: 0 };
        const weak = bb84VacuumWeakRate(ch, mu, mu * nuFrac).rate;
        const inf = bb84DecoyInfiniteRate(ch, mu).rate;
        return weak <= inf * (1 + 1e-12) + 1e-300;
      },
    ),
    { numRuns: 2000, seed: 2005 },
  );
});
