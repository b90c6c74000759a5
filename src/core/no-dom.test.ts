// The core must run in workers, Node tests and the CLI: no DOM globals, no Svelte, no UI imports.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('src/core stays free of DOM and Svelte', () => {
  const root = join(import.meta.dirname, '.');
  const files = walk(root).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  it('has source files to check', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    it(relative(root, f), () => {
      const src = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(src).not.toMatch(/from ['"](svelte|\.\.\/\.\.\/ui|.*\/ui\/)/);
      expect(src).not.toMatch(/\b(document|window|localStorage|HTMLElement)\b/);
    });
  }
});
