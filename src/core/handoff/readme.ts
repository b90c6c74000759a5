// README.md inside a bundle: which repository and commit the scripts target, the exact steps, the package
// versions, where the results land, and where the original departs from the app.
import { MOCO_CXR_COMMIT, MOCO_CXR_REPOSITORY, PACKAGES, pipInstallLine, type HandoffNote } from './target.ts';

export interface ReadmeInput {
  kind: 'pretrain' | 'finetune';
  title: string;
  /** one paragraph: what ran in the app */
  summary: string;
  /** the bundle's files with one line each */
  files: { path: string; what: string }[];
  /** how the data root is found, e.g. "the folder that holds CheXpert-v1.0-small" */
  dataRoot: string;
  /** where the outputs land and how to bring them back */
  results: string[];
  notes: HandoffNote[];
  /** the FLOPs and, if measured, the time on the device the bundle was made on */
  estimate?: string;
}

export function readme(r: ReadmeInput): string {
  const pretrain = r.kind === 'pretrain';
  const lines = [
    `# ${r.title}`,
    '',
    r.summary,
    '',
    ...(r.estimate ? [r.estimate, ''] : []),
    '## What the scripts run',
    '',
    `MoCo-CXR's own code, [${MOCO_CXR_REPOSITORY}](${MOCO_CXR_REPOSITORY}) at commit \`${MOCO_CXR_COMMIT}\` (the repository's last commit, 2022-01-09), with arguments equal to this ${pretrain ? "run's" : "experiment's"} settings:`,
    pretrain
      ? '`moco_pretraining/moco/main_moco.py` (MoCo v2 with the MLP head, Adam, the CheXpert augmentations).'
      : '`chexpert_supervised/chexpert-model/train.py`, then `select_ensemble.py` (model picking) and `test.py` for each initialisation, label fraction and draw.',
    '',
    '## Files',
    '',
    ...r.files.map((f) => `- \`${f.path}\`: ${f.what}`),
    '',
    '## Steps',
    '',
    '1. Unzip the bundle on the cluster and `cd` into its folder.',
    '2. Make a Python environment with these packages (versions below):',
    '',
    '   ```sh',
    '   python3.10 -m venv venv && . venv/bin/activate',
    `   ${pipInstallLine()}`,
    '   ```',
    '',
    `3. \`bash setup_moco_cxr.sh\` clones MoCo-CXR into \`./MoCo-CXR\` (or \`$MOCO_CXR\`), checks out \`${MOCO_CXR_COMMIT.slice(0, 7)}\` and patches two lines of the pretraining code: \`main()\` in \`main_moco.py\` stops in the debugger (\`import pdb; pdb.set_trace()\`), and \`aihc_utils/storage_util.py\` writes checkpoints to a Stanford path; the patch lets \`$MOCO_CXR_STORAGE\` choose the folder. The fine-tuning code runs unpatched.`,
    `4. \`python3 prepare_data.py --data-root DIR\`, where DIR is ${r.dataRoot}. It links every image listed in \`splits/images.csv\` into \`./work\` (or \`--work DIR\`, then set \`WORK\` for the launch scripts too)${pretrain ? ': `work/full_train/images/`, the ImageFolder `main_moco.py --train_data` reads (MoCo-CXR\'s own `full_train` was such a folder of symlinks; the labels are not used).' : ': `work/data/` (one folder per study, so that the pipeline\'s `Path(p).parent` groups views of a study) and `work/csv/*.csv`, the split CSVs with absolute paths.'}`,
    '5. Launch, from the bundle folder:',
    pretrain
      ? '   - one node with several GPUs: `GPUS_PER_NODE=4 bash launch_torchrun.sh`;\n   - several nodes, on each: `NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<first node> GPUS_PER_NODE=4 bash launch_torchrun.sh`;\n   - SLURM: `sbatch launch_sbatch.sh` (edit its `#SBATCH` lines for nodes, GPUs, partition).\n\n   `main_moco.py` starts one process per GPU of its node itself, so torchrun (and srun) start one process per node. The run\'s batch is split evenly over all GPUs (it must divide), as the original divides `--batch-size` per node among its GPUs.'
      : '   - one node with several GPUs: `GPUS_PER_NODE=4 bash launch_torchrun.sh` (one worker per GPU, each taking every 4th run);\n   - several nodes, on each: `NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<first node> GPUS_PER_NODE=4 bash launch_torchrun.sh`;\n   - SLURM: `sbatch launch_sbatch.sh` (a job array, one GPU per run);\n   - one run by hand: `source runs.sh && run_one 0`.',
    '',
    'Variables the scripts read (defaults in brackets): `MOCO_CXR` [./MoCo-CXR], `WORK` [./work], `WORKERS` (data loader workers), `NNODES` [1], `NODE_RANK` [0], `GPUS_PER_NODE`, `MASTER_ADDR` [127.0.0.1], `MASTER_PORT` [29500]' + (pretrain ? ', `GLOBAL_BATCH` (the run\'s batch; changing it departs from the run), `MOCO_CXR_STORAGE` [work/moco_runs].' : '.'),
    '',
    '## Results',
    '',
    ...r.results,
    '',
    '## Where the original differs from the app',
    '',
    'Settings the original has no flag for, or takes differently, for this ' + (pretrain ? 'run' : 'experiment') + ' (the scripts repeat these in comments):',
    '',
    ...r.notes.map((n) => `- **${n.setting}**. App: ${n.app}. Original: ${n.original}.`),
    '- **Images.** The app stores each image resized to its shorter side at import, as Pillow does; the original resizes from the files on disk with the same Resize. The app reads 16-bit PNGs by their own value range, where Pillow\'s `convert(\'RGB\')` clips them.',
    '',
    '## Package versions',
    '',
    'MoCo-CXR pinned Python 3.7, torch 1.4 and torchvision 0.5 (`chexpert_supervised/environment.yml`). torch 1.4 cannot read the zip checkpoints that torch 1.6 and later (and this app) write, and has no torchrun, so the scripts are meant for:',
    '',
    '| package | version | why |',
    '|---|---|---|',
    ...PACKAGES.map((p) => `| ${p.name} | ${p.version} | ${p.why} |`),
    '',
    'To use a checkpoint with torch 1.4 anyway, re-save it on a newer torch: `torch.save(torch.load(f), out, _use_new_zipfile_serialization=False)`.',
    '',
    '## run.json',
    '',
    '`run.json` holds every setting, the seed, the augmentations in order and the split manifest (the app\'s image keys per split, fraction and draw, in the order the run used them). Open it in the app to run the same ' + (pretrain ? 'run' : 'experiment') + ' again on the same images.',
    '',
  ];
  return lines.join('\n');
}
