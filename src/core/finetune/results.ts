// A model's scores on a split, wherever they were made: a fine-tuning run in the browser, an offline
// evaluation of an uploaded checkpoint, or predictions a cluster run sent back (pipeline CSVs). One shape,
// so tables and figures show them side by side. Plain arrays: it is stored, cloned and exported as JSON.

export type ResultSource = 'browser' | 'offline' | 'cluster';

export interface TaskScore {
  task: string;
  /** null where the split has one class for the task (sklearn raises; the original reports NaN) */
  auroc: number | null;
  auprc: number | null;
  /** studies counted (uncertain dropped) and positives among them */
  studies: number;
  positives: number;
  /** 95 % bootstrap interval of the AUROC over studies (the original's index rule) */
  ci?: { lower: number; mean: number; upper: number; replicates: number };
}

/** Study-level predictions: [task][study] probabilities and labels (1, 0, -1 = uncertain, left out). */
export interface StudyTable {
  tasks: string[];
  studies: string[];
  probs: number[][];
  labels: number[][];
}

export interface EvaluationResult {
  id: string;
  /** what the model is, for tables and legends ("MoCo r8w-00001, linear") */
  label: string;
  source: ResultSource;
  /** the initialisation a line of the figure belongs to, the fraction and draw (sweep runs) */
  init?: string;
  ratio?: number;
  draw?: number;
  experimentId?: string;
  datasetId?: string;
  split: 'valid' | 'test';
  predictions: StudyTable;
  scores: TaskScore[];
  createdAt: number;
}
