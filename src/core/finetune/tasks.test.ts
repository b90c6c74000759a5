import { describe, expect, it } from 'vitest';
import { CHEXPERT_OBSERVATIONS } from '../data/types.ts';
import { checkTasks, CHEXPERT_TASKS, evaluationLabels, labelColumnOf, TASK_PRESETS, TaskError, targetOf, trainingTargets } from './tasks.ts';

describe('tasks', () => {
  it('CheXpert tasks are the 14 observations with Lung Opacity renamed, in constants.py order', () => {
    expect(CHEXPERT_TASKS.length).toBe(14);
    expect(CHEXPERT_TASKS.map((t) => labelColumnOf(t, CHEXPERT_OBSERVATIONS)).sort()).toEqual([...CHEXPERT_OBSERVATIONS].sort());
    // Airspace Opacity comes after Lung Lesion in the model, before it in the CSV
    expect(CHEXPERT_TASKS.indexOf('Airspace Opacity')).toBe(CHEXPERT_TASKS.indexOf('Lung Lesion') + 1);
    expect(labelColumnOf('Airspace Opacity', ['Airspace Opacity'])).toBe('Airspace Opacity');
  });

  it('applies the uncertainty policies; blanks are negative', () => {
    expect(targetOf(-1, 'ignore')).toEqual({ target: 0, weight: 0 });
    expect(targetOf(-1, 'zeros')).toEqual({ target: 0, weight: 1 });
    expect(targetOf(-1, 'ones')).toEqual({ target: 1, weight: 1 });
    for (const p of ['ignore', 'zeros', 'ones'] as const) {
      expect(targetOf(null, p)).toEqual({ target: 0, weight: 1 });
      expect(targetOf(1, p)).toEqual({ target: 1, weight: 1 });
      expect(targetOf(0, p)).toEqual({ target: 0, weight: 1 });
    }
  });

  it('builds [N, T] targets and masks in task order', () => {
    const imgs = [{ labels: { 'Pleural Effusion': 1, 'Lung Opacity': -1 } as const }, { labels: { 'Pleural Effusion': null, 'Lung Opacity': 0 } as const }];
    const { targets, mask } = trainingTargets(imgs, ['Airspace Opacity', 'Pleural Effusion'], ['Lung Opacity', 'Pleural Effusion'], 'ignore');
    expect([...targets]).toEqual([0, 1, 0, 0]);
    expect([...mask]).toEqual([0, 1, 1, 1]);
    expect(evaluationLabels(imgs[0]!, ['Airspace Opacity', 'Pleural Effusion'], ['Lung Opacity', 'Pleural Effusion'])).toEqual([-1, 1]);
  });

  it('names missing label columns', () => {
    expect(() => checkTasks(TASK_PRESETS['chexpert-14'], ['Tuberculosis'])).toThrow(TaskError);
    expect(() => checkTasks(TASK_PRESETS.tuberculosis, ['No Finding', 'Tuberculosis'])).not.toThrow();
    expect(() => checkTasks({ outputs: ['A'], pick: ['B'] }, ['A', 'B'])).toThrow(/among the outputs: B/);
  });
});
