// Loads the reference values written by scripts/fixtures/sklearn_metrics.py (scikit-learn 1.2, numpy).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';

let dir: string | null = null;

export function sklearnFixture<T>(file: string): T {
  dir ??= ensureFixtures('sklearn_metrics');
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

/** Element by element within tol, same length; names the first index that differs. */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol)) expect.fail(`${what}[${i}]: ${a} vs ${e} (tol ${tol})`);
  }
}
