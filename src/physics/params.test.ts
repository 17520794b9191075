import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isQkdnetError } from '../common/index.ts';
import { PARAM_BY_NAME, PARAM_DEFAULTS, PARAM_SPECS, param, paramsToJson, withOverrides } from './params.ts';
import { PRESETS, findPreset } from './presets.ts';
import { channelLossDb, channelTransmittance, isFreeSpace, systemTransmittance } from './channel.ts';

test('every parameter has a snake_case name with its unit, and every optional one a default', () => {
  for (const [key, spec] of Object.entries(PARAM_SPECS)) {
    assert.match(spec.name, /^[a-z0-9_]+$/);
    assert.equal(PARAM_BY_NAME.get(spec.name), key);
    assert.ok(spec.min <= spec.max);
  }
  for (const key of Object.keys(PARAM_DEFAULTS)) assert.ok(Object.hasOwn(PARAM_SPECS, key), key);
});

test('presets cite a source, stay inside the parameter ranges and include gys, metro, micius, lim2014, tf2018, pm2018 and mdi2012', () => {
  assert.deepEqual(Object.keys(PRESETS).sort(), [
    'gys',
    'lim2014',
    'mdi2012',
    'metro',
    'micius',
    'pm2018',
    'tf2018',
  ]);
  for (const p of Object.values(PRESETS)) {
    assert.ok(p.source.length > 30 && p.notes.length > 10, p.name);
    for (const [name, v] of Object.entries(paramsToJson(p.params))) {
      const spec = PARAM_SPECS[PARAM_BY_NAME.get(name)!];
      assert.ok(v >= spec.min && v <= spec.max, `${p.name}.${name} = ${v}`);
    }
  }
  assert.equal(findPreset('constructor'), undefined);
});

test('withOverrides copies, checks names and ranges, and leaves the preset untouched', () => {
  const gys = PRESETS.gys!.params;
  const p = withOverrides(gys, { attenuation_db_per_km: 0.16, cv_excess_noise: 0.01 });
  assert.equal(p.attenuationDbPerKm, 0.16);
  assert.equal(param(p, 'cvExcessNoise'), 0.01);
  assert.equal(gys.attenuationDbPerKm, 0.21);
  assert.equal(param(gys, 'cvExcessNoise'), PARAM_DEFAULTS.cvExcessNoise);
  assert.throws(
    () => withOverrides(gys, { attenuation: 1 }),
    (e) => isQkdnetError(e, 'UNKNOWN_PARAMETER'),
  );
  assert.throws(() => withOverrides(gys, { detector_efficiency: 2 }), RangeError);
  assert.throws(() => withOverrides(gys, { detector_efficiency: NaN }), RangeError);
});

test('a fiber record loses α·L + extra; η = η_Bob·η_ch', () => {
  const p = withOverrides(PRESETS.gys!.params, { extra_loss_db: 3 });
  assert.equal(isFreeSpace(p), false);
  assert.ok(Math.abs(channelLossDb(p, 100) - 24) < 1e-12);
  assert.ok(Math.abs(channelTransmittance(p, 100) - Math.pow(10, -2.4)) < 1e-15);
  assert.ok(Math.abs(systemTransmittance(p, 100) - 0.045 * Math.pow(10, -2.4)) < 1e-16);
});

test('a free-space record reads the distance as slant range and grows its loss with it', () => {
  const m = PRESETS.micius!.params;
  assert.equal(isFreeSpace(m), true);
  const l500 = channelLossDb(m, 500);
  const l1200 = channelLossDb(m, 1200);
  assert.ok(l500 > 6 && l1200 > l500 + 5, `${l500} → ${l1200} dB`);
  assert.throws(() => channelLossDb(m, -1), RangeError);
});
