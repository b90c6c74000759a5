// The cluster-side choices a bundle's scripts take as defaults (each can be overridden by an environment
// variable when the script runs), and the `#SBATCH` header in the style of MoCo-CXR's SLURM templates
// (moco_pretraining/scripts/training_scripts/r8w1n416.sh, chexpert-model/sbatch/gen_sbatch.py).
import { HandoffError } from './shell.ts';

export interface ClusterOptions {
  /** nodes (multi-node pretraining; fine-tuning runs spread over them) */
  nodes: number;
  /** GPUs per node */
  gpusPerNode: number;
  /** SLURM partition; left out, the line stays commented and SLURM's default partition is used */
  partition: string | null;
  cpusPerTask: number;
  /** memory per node in MB (the templates ask for 32000) */
  memMB: number;
  /** SLURM time limit (`HH:MM:SS` or `D-HH:MM:SS`), or null for the partition's default */
  time: string | null;
  /** DataLoader workers (main_moco.py --workers, train.py --num_workers) */
  workers: number;
  /** torchrun's rendezvous port on the first node; main_moco.py's own process group uses the next one */
  masterPort: number;
}

export const DEFAULT_CLUSTER: ClusterOptions = { nodes: 1, gpusPerNode: 1, partition: null, cpusPerTask: 4, memMB: 32000, time: null, workers: 8, masterPort: 29500 };

export function clusterOptions(over: Partial<ClusterOptions> = {}): ClusterOptions {
  const c = { ...DEFAULT_CLUSTER, ...over };
  for (const k of ['nodes', 'gpusPerNode', 'cpusPerTask', 'memMB', 'workers', 'masterPort'] as const) {
    if (!Number.isSafeInteger(c[k]) || c[k] < (k === 'workers' ? 0 : 1)) throw new HandoffError(`cluster option ${k} must be a positive whole number (got ${c[k]})`);
  }
  if (c.masterPort > 65534) throw new HandoffError(`master port ${c.masterPort} leaves no room for the next port`);
  if (c.partition !== null && !/^[A-Za-z0-9_.,-]+$/.test(c.partition)) throw new HandoffError(`partition '${c.partition}' has characters SLURM does not take`);
  if (c.time !== null && !/^(\d+-)?\d{1,3}(:\d{2}){0,2}$/.test(c.time)) throw new HandoffError(`time limit '${c.time}' is not in SLURM's [D-]HH:MM:SS form`);
  return c;
}

export interface SbatchHeader {
  jobName: string;
  nodes: number;
  gpusPerNode: number;
  /** `--array=0-N`, for one task per fine-tuning run */
  array?: number;
  /** the log file pattern (in the folder sbatch is called from) */
  output: string;
}

/** The header block and the "useful information" lines of MoCo-CXR's templates. The templates' `NPROCS=`
 *  line (an sbatch call from inside the job) is left out: it submits a second job. */
export function sbatchHeader(h: SbatchHeader, c: ClusterOptions): string {
  const lines = ['#!/bin/bash'];
  lines.push(c.partition ? `#SBATCH --partition=${c.partition}` : '##SBATCH --partition=YOUR_PARTITION    # uncomment to choose one; SLURM uses its default otherwise');
  lines.push(`#SBATCH --nodes=${h.nodes}`);
  if (h.nodes > 1) lines.push('#SBATCH --ntasks-per-node=1');
  lines.push(`#SBATCH --cpus-per-task=${c.cpusPerTask}`);
  lines.push(`#SBATCH --mem=${c.memMB}`);
  if (c.time) lines.push(`#SBATCH --time=${c.time}`);
  lines.push('', '# only use the following on partition with GPUs', `#SBATCH --gres=gpu:${h.gpusPerNode}`, '');
  lines.push(`#SBATCH --job-name="${h.jobName}"`);
  lines.push(`#SBATCH --output=${h.output}`);
  if (h.array !== undefined) lines.push(`#SBATCH --array=0-${h.array - 1}`);
  lines.push(
    '',
    '# only use the following if you want email notification',
    '####SBATCH --mail-user=youremailaddress',
    '####SBATCH --mail-type=ALL',
    '',
    '# list out some useful information',
    'echo "SLURM_JOBID="${SLURM_JOBID:-}',
    'echo "SLURM_JOB_NODELIST"=${SLURM_JOB_NODELIST:-}',
    'echo "SLURM_NNODES"=${SLURM_NNODES:-}',
    'echo "SLURMTMPDIR="${SLURMTMPDIR:-}',
    'echo "working directory = "${SLURM_SUBMIT_DIR:-}',
  );
  return lines.join('\n');
}
