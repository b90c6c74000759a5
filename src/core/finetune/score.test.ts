import { describe, expect, it } from 'vitest';
import { aggregateStudies, auroc, bootstrapAuroc } from '../metrics/index.ts';
import { meanAuroc, scoreStudies, toStudyTable } from './score.ts';

describe('scoreStudies', () => {
  const rows = [
    { study: 'a', logits: [2, -1], labels: [1, 0] },
    { study: 'a', logits: [3, -2], labels: [1, 0] },
    { study: 'b', logits: [-1, 0.5], labels: [0, -1] },
    { study: 'c', logits: [0.2, 1.5], labels: [null, 1] },
    { study: 'd', logits: [1.0, -0.5], labels: [1, 0] },
  ];
  const table = toStudyTable(aggregateStudies(rows, ['A', 'B']));

  it('scores per task with uncertain studies dropped and the bootstrap of the metrics module', () => {
    const s = scoreStudies(table, { bootstrap: 200, seed: 3 });
    expect(s[0]).toMatchObject({ task: 'A', studies: 4, positives: 2 });
    expect(s[0]!.auroc).toBe(auroc([1, 0, 0, 1], table.probs[0]!));
    expect(s[1]).toMatchObject({ task: 'B', studies: 3, positives: 1, auroc: 1 });
    const b = bootstrapAuroc(table.labels, [table.probs], { replicates: 200, seed: 3 });
    expect(s[0]!.ci).toEqual({ lower: b.tasks[0]!.lower, mean: b.tasks[0]!.mean, upper: b.tasks[0]!.upper, replicates: b.tasks[0]!.replicates });
    expect(meanAuroc(s, ['A', 'B'])).toBe((s[0]!.auroc! + 1) / 2);
  });

  it('leaves a one-class task without AUROC or interval', () => {
    const one = toStudyTable(aggregateStudies([{ study: 'x', logits: [1], labels: [1] }, { study: 'y', logits: [0], labels: [1] }], ['A']));
    const s = scoreStudies(one, { bootstrap: 10 });
    expect(s[0]!.auroc).toBeNull();
    expect(s[0]!.ci).toBeUndefined();
    expect(Number.isNaN(meanAuroc(s, ['A']))).toBe(true);
  });
});
