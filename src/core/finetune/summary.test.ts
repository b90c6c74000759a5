import { describe, expect, it } from 'vitest';
import { auroc, bootstrapAuroc, bootstrapAurocDiff } from '../metrics/index.ts';
import { mulberry32 } from '../random.ts';
import type { EvaluationResult } from './results.ts';
import { pairedDifferences, summarize } from './summary.ts';

const S = 60;
const rand = mulberry32(7);
const labels = Array.from({ length: S }, (_, i) => (i % 3 === 0 ? 1 : 0));
const studies = labels.map((_, i) => `s${i}`);
const noisy = (signal: number) => labels.map((y) => y * signal + rand());

function result(init: string, ratio: number, draw: number, probs: number[], reverse = false): EvaluationResult {
  const order = reverse ? [...studies.keys()].reverse() : [...studies.keys()];
  return {
    id: `${init}-${ratio}-${draw}`,
    label: init,
    source: 'browser',
    init,
    ratio,
    draw,
    split: 'test',
    predictions: { tasks: ['Other', 'PE'], studies: order.map((i) => studies[i]!), probs: [order.map(() => 0.5), order.map((i) => probs[i]!)], labels: [order.map(() => 0), order.map((i) => labels[i]!)] },
    scores: [],
    createdAt: 0,
  };
}

describe('experiment summary', () => {
  const moco = [noisy(0.6), noisy(0.6)];
  const rnd = [noisy(0.1), noisy(0.1)];
  const results = [result('MoCo', 0.5, 0, moco[0]!), result('MoCo', 0.5, 1, moco[1]!, true), result('random', 0.5, 0, rnd[0]!), result('random', 0.5, 1, rnd[1]!), result('MoCo', 1, 0, noisy(0.8))];

  it('averages AUROC over draws and gives the draw-averaged interval, whatever the study order', () => {
    const cells = summarize(results, 'PE', { bootstrap: 300, seed: 1 });
    const c = cells.find((x) => x.init === 'MoCo' && x.ratio === 0.5)!;
    expect(c.draws).toBe(2);
    expect(c.auroc).toBeCloseTo((auroc(labels, moco[0]!) + auroc(labels, moco[1]!)) / 2, 12);
    const b = bootstrapAuroc([labels], [[moco[0]!], [moco[1]!]], { replicates: 300, seed: 1 });
    expect(c.ci).toMatchObject({ lower: b.tasks[0]!.lower, upper: b.tasks[0]!.upper });
    expect(cells.map((x) => `${x.init}@${x.ratio}`)).toEqual(['MoCo@0.5', 'MoCo@1', 'random@0.5']);
  });

  it('pairs the difference on the same resamples', () => {
    const d = pairedDifferences(results, 'PE', 'MoCo', 'random', { bootstrap: 300, seed: 1 });
    expect(d.map((x) => x.ratio)).toEqual([0.5]);
    const b = bootstrapAurocDiff([labels], [[moco[0]!], [moco[1]!]], [[rnd[0]!], [rnd[1]!]], { replicates: 300, seed: 1 });
    expect(d[0]).toMatchObject({ lower: b.tasks[0]!.lower, mean: b.tasks[0]!.mean, upper: b.tasks[0]!.upper });
    expect(d[0]!.lower).toBeGreaterThan(0);
  });

  it('names a task the predictions lack', () => {
    expect(() => summarize(results, 'Edema')).toThrow(/no task Edema/);
  });
});
