// Study-level aggregation against a numpy + sklearn rendering of predict.py (max logit over a study's
// images, sigmoid, labels of the first row, blank = 0) and evaluator.py (-1 dropped per task).
import { describe, expect, it } from 'vitest';
import { aggregateStudies, sigmoid, studyAuprcs, studyAurocs, taskView, type ImagePrediction } from './study.ts';
import { expectClose, sklearnFixture } from './fixtures.testutil.ts';

interface StudyFixture {
  tasks: string[];
  rows: ImagePrediction[];
  studies: string[];
  probs: number[][];
  labels: number[][];
  aurocs: number[];
  auprcs: number[];
}

describe('aggregateStudies', () => {
  it('matches the reference on interleaved rows with -1, blanks and disagreeing later views', () => {
    const f = sklearnFixture<StudyFixture>('study.json');
    const sp = aggregateStudies(f.rows, f.tasks);
    expect(sp.studies).toEqual(f.studies);
    f.tasks.forEach((task, t) => {
      expectClose(sp.probs[t]!, f.probs[t]!, 1e-15, `${task} probs`);
      expect([...sp.labels[t]!], `${task} labels`).toEqual(f.labels[t]);
    });
    expectClose(studyAurocs(sp), f.aurocs, 1e-12, 'aurocs');
    expectClose(studyAuprcs(sp), f.auprcs, 1e-12, 'auprcs');
    // The fixture has uncertain studies in every task, so the -1 rule was exercised.
    for (const lab of f.labels) expect(lab).toContain(-1);
  });

  it('takes the max logit, not the mean, and the first row labels', () => {
    const rows: ImagePrediction[] = [
      { study: 's1', logits: [-2, 0.5], labels: [1, null] },
      { study: 's2', logits: [1, 1], labels: [0, -1] },
      { study: 's1', logits: [3, -4], labels: [0, 1] },
    ];
    const sp = aggregateStudies(rows, ['a', 'b']);
    expect(sp.studies).toEqual(['s1', 's2']);
    expect([...sp.probs[0]!]).toEqual([sigmoid(3), sigmoid(1)]);
    expect([...sp.probs[1]!]).toEqual([sigmoid(0.5), sigmoid(1)]);
    expect([...sp.labels[0]!]).toEqual([1, 0]);
    expect([...sp.labels[1]!]).toEqual([0, -1]);
    const v = taskView(sp.labels[1]!, sp.probs[1]!);
    expect([...v.studyIndex]).toEqual([0]);
  });

  it('reports NaN for a task left with one class, as evaluator.py does', () => {
    const rows: ImagePrediction[] = [
      { study: 'a', logits: [0], labels: [1] },
      { study: 'b', logits: [1], labels: [-1] },
    ];
    const sp = aggregateStudies(rows, ['t']);
    expect(studyAurocs(sp)).toEqual([NaN]);
    expect(studyAuprcs(sp)).toEqual([1]);
  });

  it('sigmoid stays finite and exact at the extremes', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(-30)).toBeCloseTo(9.357622968839299e-14, 25);
  });

  it('refuses rows of the wrong width and labels outside 1/0/-1/blank', () => {
    expect(() => aggregateStudies([{ study: 'a', logits: [0, 1], labels: [1] }], ['x', 'y'])).toThrow(/2 logits and 1 labels/);
    expect(() => aggregateStudies([{ study: 'a', logits: [0], labels: [2] }], ['x'])).toThrow(/not 1, 0, -1/);
    expect(() => aggregateStudies([{ study: 'a', logits: [NaN], labels: [1] }], ['x'])).toThrow(/NaN/);
  });
});
