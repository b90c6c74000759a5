// AUROC, AUPRC, roc_curve and precision_recall_curve against scikit-learn 1.2 on random, tie-heavy,
// tiny and large cases (scripts/fixtures/sklearn_metrics.py), within 1e-12.
import { beforeAll, describe, expect, it } from 'vitest';
import { auprc, auroc, binaryClfCurve, MetricError, precisionRecallCurve, rocCurve } from './roc.ts';
import { expectClose, sklearnFixture } from './fixtures.testutil.ts';

interface Curve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}
interface Case {
  name: string;
  y: number[];
  s: number[];
  error?: string | null;
  auroc?: number;
  auprc?: number;
  roc?: Curve;
  roc_all?: Curve;
  pr?: { precision: number[]; recall: number[]; thresholds: number[] };
}

const TOL = 1e-12;
let cases: Case[] = [];
beforeAll(() => {
  cases = sklearnFixture<{ cases: Case[] }>('curves.json').cases;
});

describe('against scikit-learn', () => {
  it('has the expected cases', () => {
    expect(cases.map((c) => c.name)).toEqual(expect.arrayContaining(['two', 'three_tie', 'all_tied', 'ties_int3', 'large_ties_3dp', 'large_continuous', 'only_negatives']));
  });

  it('roc_auc_score and average_precision_score', () => {
    for (const c of cases.filter((c) => c.auroc !== undefined)) {
      expectClose([auroc(c.y, c.s)], [c.auroc!], TOL, `${c.name} auroc`);
      expectClose([auprc(c.y, c.s)], [c.auprc!], TOL, `${c.name} auprc`);
    }
  });

  it('roc_curve with drop_intermediate (the default) and without', () => {
    for (const c of cases.filter((c) => c.roc)) {
      const d = rocCurve(c.y, c.s);
      expectClose(d.fpr, c.roc!.fpr, TOL, `${c.name} fpr`);
      expectClose(d.tpr, c.roc!.tpr, TOL, `${c.name} tpr`);
      expectClose(d.thresholds, c.roc!.thresholds, 0, `${c.name} thresholds`);
      const a = rocCurve(c.y, c.s, { dropIntermediate: false });
      expectClose(a.fpr, c.roc_all!.fpr, TOL, `${c.name} fpr (all)`);
      expectClose(a.tpr, c.roc_all!.tpr, TOL, `${c.name} tpr (all)`);
      expectClose(a.thresholds, c.roc_all!.thresholds, 0, `${c.name} thresholds (all)`);
    }
  });

  it('precision_recall_curve', () => {
    for (const c of cases.filter((c) => c.pr)) {
      const p = precisionRecallCurve(c.y, c.s);
      expectClose(p.precision, c.pr!.precision, TOL, `${c.name} precision`);
      expectClose(p.recall, c.pr!.recall, TOL, `${c.name} recall`);
      expectClose(p.thresholds, c.pr!.thresholds, 0, `${c.name} thresholds`);
    }
  });

  it('one class: AUROC throws the same message sklearn raises', () => {
    const one = cases.filter((c) => c.error !== undefined);
    expect(one.length).toBe(2);
    for (const c of one) {
      expect(c.error).toBeTruthy();
      expect(() => auroc(c.y, c.s)).toThrow(c.error!);
      expect(() => rocCurve(c.y, c.s)).toThrow(MetricError);
    }
  });
});

describe('definitions and input checks', () => {
  it('AUROC is the Mann-Whitney probability with ties counting one half', () => {
    // Brute force over all positive/negative pairs on a tie-heavy sample.
    const y = [1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1];
    const s = [3, 1, 2, 2, 2, 0, 3, 3, 1, 0, 2, 1];
    let num = 0;
    let pairs = 0;
    for (let i = 0; i < y.length; i++) {
      for (let j = 0; j < y.length; j++) {
        if (y[i] !== 1 || y[j] !== 0) continue;
        pairs++;
        num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(auroc(y, s)).toBeCloseTo(num / pairs, 15);
  });

  it('a curve point per distinct score, highest first', () => {
    const c = binaryClfCurve([1, 0, 1, 0], [0.9, 0.9, 0.2, 0.1]);
    expect([...c.thresholds]).toEqual([0.9, 0.2, 0.1]);
    expect([...c.tps]).toEqual([1, 2, 2]);
    expect([...c.fps]).toEqual([1, 1, 2]);
  });

  it('AUPRC: all positives gives 1 (as sklearn), no positive throws', () => {
    expect(auprc([1, 1, 1], [0.2, 0.5, 0.1])).toBe(1);
    expect(() => auprc([0, 0], [0.2, 0.5])).toThrow(/No positive/);
  });

  it('refuses labels other than 0/1, non-finite scores and length mismatches', () => {
    expect(() => auroc([1, 0, -1], [0.1, 0.2, 0.3])).toThrow(/not 0 or 1/);
    expect(() => auroc([1, 0], [0.1, NaN])).toThrow(/not finite/);
    expect(() => auroc([1, 0], [0.1, Infinity])).toThrow(/not finite/);
    expect(() => auroc([1, 0], [0.1])).toThrow(/length/);
    expect(() => auroc([], [])).toThrow(/no samples/);
  });

  it('a million rows in seconds (O(n log n))', () => {
    const n = 1_000_000;
    const y = new Uint8Array(n);
    const s = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3 === 0 ? 1 : 0;
      s[i] = ((i * 2654435761) % 1000003) / 1000003 + 0.3 * y[i]!;
    }
    const t0 = performance.now();
    const a = auroc(y, s);
    const ms = performance.now() - t0;
    // Uniform scores shifted by 0.3 for positives: AUROC = 1 - 0.7**2 / 2 = 0.755.
    expect(a).toBeCloseTo(0.755, 2);
    // Generous bound for a shared 2-core machine; a quadratic algorithm would take hours.
    expect(ms).toBeLessThan(10_000);
  });
});
