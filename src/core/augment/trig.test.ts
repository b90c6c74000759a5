// The Python semantics trig.ts reproduces, on the values where JavaScript's defaults differ.
import { describe, expect, it } from 'vitest';
import { pyMod360, pyRound15, sinCosCorrectlyRounded } from './trig.ts';

describe('pyMod360 (Python float %)', () => {
  it('moves negatives into [0, 360) and gives +0 for a zero remainder', () => {
    expect(pyMod360(-5)).toBe(355);
    expect(pyMod360(725.5)).toBe(5.5);
    expect(Object.is(pyMod360(-0), 0)).toBe(true);
    expect(Object.is(pyMod360(-360), 0)).toBe(true);
    // -1e-15 + 360 rounds to 360.0 in Python too, which is why Image.rotate does not take its copy path
    expect(pyMod360(-1e-15)).toBe(360);
  });
});

describe('pyRound15 (Python round(x, 15))', () => {
  it('rounds the exact binary value and keeps the sign of zero', () => {
    // expected values printed by Python 3.11; scaling by 1e15 and Math.round gets the first two wrong
    expect(pyRound15(0.1234567890123455)).toBe(0.123456789012345);
    expect(pyRound15(2.5e-15)).toBe(2e-15);
    expect(pyRound15(0.5000000000000006)).toBe(0.500000000000001);
    expect(pyRound15(-0.1234567890123445)).toBe(-0.123456789012344);
    expect(Object.is(pyRound15(-1e-17), -0)).toBe(true);
    expect(pyRound15(0.9999999999999999)).toBe(1);
  });
});

describe('sinCosCorrectlyRounded', () => {
  it('agrees with Math.sin / Math.cos to 1 ulp over [-8, 8], exactly at 0, and keeps the sign of zero', () => {
    for (let i = -7999; i <= 7999; i++) {
      const x = i / 1000 + 1e-7;
      const { sin, cos } = sinCosCorrectlyRounded(x);
      expect(Math.abs(sin - Math.sin(x))).toBeLessThanOrEqual(Math.abs(Math.sin(x)) * 2.3e-16 + 1e-300);
      expect(Math.abs(cos - Math.cos(x))).toBeLessThanOrEqual(Math.abs(Math.cos(x)) * 2.3e-16 + 1e-300);
    }
    expect(sinCosCorrectlyRounded(0)).toEqual({ sin: 0, cos: 1 });
    expect(Object.is(sinCosCorrectlyRounded(-0).sin, -0)).toBe(true);
  });

  it('gives the correctly rounded double where V8 and glibc do not (decimal references computed to 80 digits)', () => {
    // x, and sin(x) rounded to nearest from an 80-digit Taylor sum (Python decimal); glibc returns
    // -0.11238842847818976 and 0.15806321477104457 for these, 0.502 ulp away
    expect(sinCosCorrectlyRounded(-0.11262638286186152).sin).toBe(-0.11238842847818975);
    expect(sinCosCorrectlyRounded(-6.124456406041683).sin).toBe(0.1580632147710446);
  });

  it('refuses arguments beyond the reduction it was written for', () => {
    expect(() => sinCosCorrectlyRounded(9)).toThrow(RangeError);
    expect(() => sinCosCorrectlyRounded(Number.NaN)).toThrow(RangeError);
  });
});
