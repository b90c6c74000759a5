// Loads what scripts/fixtures/python_splits.py wrote with CPython's own `random`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures } from '../../../scripts/fixtures/ensure.ts';

let dir: string | null = null;

export function splitsFixtureDir(): string {
  dir ??= ensureFixtures('python_splits');
  return dir;
}

export function splitsFixture<T>(file: string): T {
  return JSON.parse(readFileSync(join(splitsFixtureDir(), file), 'utf8')) as T;
}
