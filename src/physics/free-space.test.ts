import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  airMass,
  apertureCollection,
  backgroundCountsPerGate,
  elevationFromRangeDeg,
  freeSpaceBudget,
  gaussianBeamRadiusM,
  pointingTransmittance,
  slantRangeKm,
  SKY_RADIANCE,
} from './free-space.ts';
import { leoPass, orbitalPeriodS, MICIUS_DOWNLINK } from './leo-pass.ts';

test('Gaussian beam: far-field radius is θ·L with θ = λ/(π·w0)', () => {
  // 54 mm waist at 848.62 nm: θ = 5.0023 µrad half-angle (Micius' ~10 µrad full divergence), so 6.0 m at 1,200 km.
  const w = gaussianBeamRadiusM(0.054, 848.62, 1.2e6);
  const theta = 848.62e-9 / (Math.PI * 0.054);
  assert.ok(Math.abs(w - theta * 1.2e6) / w < 1e-4); // near-field correction (z_R/L)²/2 = 4e-5
  assert.equal(gaussianBeamRadiusM(0.054, 848.62, 0), 0.054);
});

test('aperture collection is 1 − e^{−2a²/w²} and pointing loss w²/(w² + 4σ²L²)', () => {
  assert.ok(Math.abs(apertureCollection(1, 2) - (1 - Math.exp(-2))) < 1e-15);
  assert.ok(Math.abs(pointingTransmittance(5, 1e-6, 1e6) - 25 / 29) < 1e-15);
  assert.equal(pointingTransmittance(5, 0, 1e6), 1);
});

test('air mass (Kasten–Young 1989): 1.000 at zenith, ≈ 2.0 at 30°, ≈ 38 at the horizon', () => {
  // Kasten & Young, Appl. Opt. 28, 4735 (1989), Table: AM(90°) = 0.9997, AM(30°) = 1.9927, AM(0°) = 37.92.
  assert.ok(Math.abs(airMass(90) - 0.9997) < 1e-3);
  assert.ok(Math.abs(airMass(30) - 1.9927) < 2e-3);
  assert.ok(Math.abs(airMass(0) - 37.92) < 0.05);
});

// Near the zenith the range is stationary in elevation (dρ/dθ = 0), so the inverse is ill-conditioned there;
// the property is checked up to 89° and the zenith itself separately.
test('slant range and elevation are inverse functions', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1, max: 89, noNaN: true }),
      fc.double({ min: 200, max: 2000, noNaN: true }),
      (e, h) => {
        const r = slantRangeKm(e, h);
        assert.ok(Math.abs(elevationFromRangeDeg(r, h) - e) < 1e-6);
      },
    ),
    { seed: 7, numRuns: 200 },
  );
  assert.ok(Math.abs(slantRangeKm(90, 500) - 500) < 1e-9);
  assert.equal(elevationFromRangeDeg(500, 500), 90);
});

test('a LEO pass is symmetric, peaks at closest approach and lasts minutes', () => {
  const pass = leoPass({ altitudeKm: 500, maxElevationDeg: 80, timeStepS: 1 });
  const mid = pass[(pass.length - 1) / 2]!;
  assert.equal(mid.timeS, 0);
  assert.ok(Math.abs(mid.elevationDeg - 80) < 1e-6);
  assert.ok(Math.abs(mid.rangeKm - slantRangeKm(80, 500)) < 1e-6);
  assert.ok(Math.abs(pass[0]!.lossDb - pass[pass.length - 1]!.lossDb) < 1e-9);
  assert.ok(pass[0]!.elevationDeg >= 10 && pass[0]!.elevationDeg < 11);
  // Visible above 10° for ≈ 7–8 minutes at 500 km (orbit period ≈ 94.6 min: 2π√((6871 km)³/GM)).
  assert.ok(Math.abs(orbitalPeriodS(500) / 60 - 94.47) < 0.2);
  const durationS = pass[pass.length - 1]!.timeS - pass[0]!.timeS;
  assert.ok(durationS > 360 && durationS < 540, `pass lasted ${durationS} s`);
  for (let i = 1; i <= (pass.length - 1) / 2; i++) assert.ok(pass[i]!.lossDb < pass[i - 1]!.lossDb);
});

test('the Micius-like downlink loses more at low elevation, mostly by diffraction', () => {
  const hi = freeSpaceBudget({
    ...MICIUS_DOWNLINK,
    rangeKm: 600,
    elevationDeg: elevationFromRangeDeg(600, 500),
  });
  const lo = freeSpaceBudget({
    ...MICIUS_DOWNLINK,
    rangeKm: 1200,
    elevationDeg: elevationFromRangeDeg(1200, 500),
  });
  assert.ok(lo.total < hi.total);
  assert.ok(lo.diffraction < hi.diffraction && lo.atmosphere < hi.atmosphere);
});

test('daylight background is ~1e6 times the night background', () => {
  const rx = {
    fieldOfViewUrad: 100,
    rxApertureM: 1,
    filterNm: 1,
    gateNs: 1,
    efficiency: 0.5,
    wavelengthNm: 850,
  };
  const night = backgroundCountsPerGate({ ...rx, skyRadiance: SKY_RADIANCE.night });
  const day = backgroundCountsPerGate({ ...rx, skyRadiance: SKY_RADIANCE.day });
  // Hand computation: L·Ω·A·Δλ·Δt·η/(hc/λ) = 1e-2·7.854e-9·0.7854·1·1e-9·0.5/2.337e-19 = 0.132 per gate.
  assert.ok(Math.abs(day - 0.132) / 0.132 < 0.01, `day ${day}`);
  assert.ok(Math.abs(day / night - 1e6) < 1);
});
