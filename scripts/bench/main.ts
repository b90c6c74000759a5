// `npm run bench`: runs every scripts/bench/*.bench.ts, prints a table and writes bench-results.json.
// Each bench module exports `run(): Promise<BenchResult[]>`, measuring ours and the reference side by
// side in one run, so that ratios compare like with like on this machine.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../fixtures/ensure.ts';

export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  reference: { name: string; value: number };
  /** ours compared with the reference so that higher is better */
  ratio: number;
  /** the ratio the issue asks for, or null */
  goal: number | null;
}

const dir = join(REPO_ROOT, 'scripts/bench');
const only = process.argv.slice(2);
// benches that train for most of an hour run only when named: `npm run bench -- pneumoniamnist`
const ONLY_WHEN_NAMED = ['pneumoniamnist.bench.ts'];
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => (only.length === 0 ? !ONLY_WHEN_NAMED.includes(f) : only.some((o) => f.includes(o))))
  .sort();

const results: BenchResult[] = [];
for (const f of files) {
  console.error(`bench: ${f}`);
  const mod = (await import(pathToFileURL(join(dir, f)).href)) as { run: () => Promise<BenchResult[]> };
  results.push(...(await mod.run()));
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const rows = results.map((r) => [
  r.name,
  `${fmt(r.value)} ${r.unit}`,
  `${r.reference.name}: ${fmt(r.reference.value)} ${r.unit}`,
  `${r.ratio.toFixed(2)}x`,
  r.goal === null ? '-' : `${r.goal}x ${r.ratio >= r.goal ? 'met' : 'NOT met'}`,
]);
const head = ['benchmark', 'ours', 'reference', 'ratio', 'goal'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));
writeFileSync(join(REPO_ROOT, 'bench-results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote bench-results.json (${results.length} results)`);
