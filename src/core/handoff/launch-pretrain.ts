// Launch scripts for a pretraining run on MoCo-CXR's main_moco.py, with every setting of ours mapped to its
// flag (REFERENCE 1.2, 1.3, 1.6; the flags as main_moco.py's ArgumentParser defines them):
//   arch -> --arch, dim/K/m/T -> --moco-dim/--moco-k/--moco-m/--moco-t, the MLP head -> --mlp,
//   lr -> --lr, weightDecay -> --weight-decay, Adam -> --optimizer adam, batch -> --batch-size (per node),
//   epochs -> --epochs, step milestones -> --schedule, cosine -> --cos --cos-rate,
//   size/crop/rotate -> --img-size/--crop/--rotate with --aug-setting chexpert --maintain-ratio,
//   an ImageNet start -> --from-imagenet, seed -> --seed, the run's MoCo checkpoint -> --resume.
// main_moco.py runs only under DistributedDataParallel and starts one process per visible GPU itself
// (mp.spawn under --multiprocessing-distributed); it reads neither LOCAL_RANK nor RANK. So torchrun starts
// ONE process per node (--nproc_per_node=1) and passes the node's rank as --rank; main_moco.py's own process
// group meets on tcp://MASTER_ADDR:(MASTER_PORT + 1), next to torchrun's rendezvous port.
// `--batch-size` is the batch of one node (main_moco.py divides it among the node's GPUs), so the run's batch
// B becomes B / nodes per node, and B must split evenly over all GPUs.
import type { Arch } from '../models/index.ts';
import { CXR_MEAN, CXR_STD } from '../augment/params.ts';
import type { PretrainSettings } from '../moco/settings.ts';
import { stepsPerEpoch } from '../moco/settings.ts';
import { clusterOptions, sbatchHeader, type ClusterOptions } from './cluster.ts';
import { PDB_PATTERN, STORAGE_MARKER, setupScript } from './setup-script.ts';
import { commentBlock, floatArg, HandoffError, intArg, renderCommand, shq, shv, slug, type ShellArg } from './shell.ts';
import { MAIN_MOCO_PATH, MOCO_CXR_COMMIT, STORAGE_UTIL_PATH, type HandoffNote } from './target.ts';

export interface LaunchFile {
  /** path inside the bundle folder */
  path: string;
  text: string;
}

export interface PretrainLaunchInput {
  settings: PretrainSettings;
  runName: string;
  /** images the run pretrains on (all of the dataset's, as the app uses them) */
  imageCount: number;
  /** the run's MoCo checkpoint inside the bundle (`checkpoints/...`) and the epoch written in it, or null
   *  to start main_moco.py from the beginning */
  resume: { file: string; epoch: number } | null;
  /** the run started from torchvision's ImageNet weights (the 'w' of r8w-00001) */
  imagenetStart: boolean;
  /** where the run stands (completed epochs, steps into the current one), for the notes */
  progress?: { epoch: number; step: number };
  cluster?: Partial<ClusterOptions>;
}

/** The job-name convention of r8w1n416.sh: arch, w/o, lr as `1n4` (1e-4), batch. */
export function mocoJobName(arch: Arch, imagenet: boolean, lr: number, batch: number): string {
  const short: Record<Arch, string> = { resnet18: 'r8', resnet50: 'r5', densenet121: 'd1', mnasnet1_0: 'mnn' };
  const [mant, exp] = lr.toExponential().split('e') as [string, string];
  const lrToken = Number(exp) < 0 && /^\d$/.test(mant) ? `${mant}n${-Number(exp)}` : slug(String(lr));
  return `${short[arch]}${imagenet ? 'w' : 'o'}${lrToken}${batch}`;
}

/** What the original does differently from the app for these settings, or cannot be told. */
export function pretrainNotes(input: PretrainLaunchInput): HandoffNote[] {
  const s = input.settings;
  const notes: HandoffNote[] = [];
  notes.push({
    setting: `seed ${s.seed}`,
    app: "seeds the app's own generators (epoch order, augmentation draws, queue and head initialisation)",
    original: `--seed ${s.seed} seeds Python's random and torch (and sets cudnn.deterministic, which is slower); the draws differ from the app's because the generators differ`,
  });
  notes.push({
    setting: `checkpoint every ${s.checkpointEvery} steps`,
    app: 'a checkpoint every N steps and at each epoch end',
    original: 'main_moco.py saves checkpoint_{epoch:04d}.pth.tar at each epoch end only (--save-epoch 1); there is no flag for step checkpoints',
  });
  if (s.mean !== CXR_MEAN || s.std !== CXR_STD) {
    notes.push({
      setting: `normalisation mean ${s.mean}, std ${s.std}`,
      app: 'normalises with these values',
      original: `no flag: aihc_utils/image_transform.py hard-codes mean ${CXR_MEAN}, std ${CXR_STD}`,
    });
  }
  if (!Number.isInteger(s.rotate)) {
    notes.push({ setting: `rotation ${s.rotate} degrees`, app: 'draws angles in [-rotate, rotate]', original: `--rotate is an int; the scripts pass ${Math.round(s.rotate)}` });
  }
  if (s.init.kind === 'backbone' && !input.imagenetStart && !input.resume) {
    throw new HandoffError('the run starts from a stored backbone that is not ImageNet: main_moco.py can only start from random or ImageNet weights, so export the start as a MoCo checkpoint (--resume) first');
  }
  if (input.resume) {
    const p = input.progress;
    if (p && p.step > 0 && p.epoch === input.resume.epoch) {
      notes.push({
        setting: `resume at epoch ${p.epoch}, step ${p.step}`,
        app: `the checkpoint is ${p.step} steps into epoch ${p.epoch + 1}`,
        original: `main_moco.py --resume starts epoch ${p.epoch + 1} from its first step (it resumes at epoch boundaries), so those ${p.step} steps are trained again`,
      });
    }
    if (input.resume.epoch >= s.epochs) {
      notes.push({
        setting: `epochs ${s.epochs}`,
        app: `the run is complete (${input.resume.epoch} epochs)`,
        original: `--resume starts at epoch ${input.resume.epoch} = --epochs, so main_moco.py trains nothing: raise EPOCHS to continue training`,
      });
    }
    if (input.imagenetStart) {
      notes.push({
        setting: 'ImageNet start with a checkpoint',
        app: 'the weights come from the checkpoint',
        original: '--from-imagenet makes builder.py download the ImageNet weights first; --resume then replaces them with the checkpoint',
      });
    }
  }
  notes.push({
    setting: `batch ${s.batch} on one device`,
    app: 'batch norm over the whole batch; shuffle-BN is a no-op on one device',
    original: 'with more than one GPU each normalises over its share of the batch and MoCo shuffles keys across GPUs (shuffle-BN), as upstream MoCo does; MoCo-CXR itself ran on one GPU',
  });
  return notes;
}

/** main_moco.py's arguments for the run. `batchVar` and the distributed values are shell expressions. */
export function mainMocoArgs(input: PretrainLaunchInput, shell: { batch: string; workers: string; trainData: string; resume: string | null; worldSize: string; rank: string; distUrl: string }): ShellArg[] {
  const s = input.settings;
  if (s.K % s.batch !== 0) throw new HandoffError(`K = ${s.K} is not a multiple of the batch ${s.batch} (builder.py asserts K % batch == 0)`);
  const args: ShellArg[] = [
    ['--arch', s.arch],
    ['--moco-dim', intArg(s.dim, 'feature dimension')],
    ['--moco-k', intArg(s.K, 'queue length K')],
    ['--moco-m', floatArg(s.m, 'momentum m')],
    ['--moco-t', floatArg(s.T, 'temperature T')],
    ['--mlp'],
    ['--optimizer', 'adam'],
    ['--lr', floatArg(s.lr, 'learning rate')],
    ['--weight-decay', floatArg(s.weightDecay, 'weight decay')],
    ['--batch-size', shell.batch],
    ['--epochs', intArg(s.epochs, 'epochs')],
  ];
  if (s.schedule === 'cos') args.push(['--cos'], ['--cos-rate', floatArg(s.cosRate, 'cos rate')]);
  else args.push(['--schedule', ...s.milestones.map((m) => intArg(m, 'milestone'))]);
  args.push(
    ['--aug-setting', 'chexpert'],
    ['--img-size', intArg(s.size, 'image size')],
    ['--crop', intArg(s.crop, 'crop')],
    ['--rotate', String(Math.round(s.rotate))],
    ['--maintain-ratio'],
  );
  if (input.imagenetStart) args.push(['--from-imagenet']);
  args.push(['--seed', intArg(s.seed, 'seed')], ['--save-epoch', '1'], ['--workers', shell.workers], ['--train_data', shell.trainData], ['--exp-name', shq(slug(input.runName))]);
  if (shell.resume) args.push(['--resume', shell.resume]);
  args.push(['--multiprocessing-distributed'], ['--world-size', shell.worldSize], ['--rank', shell.rank], ['--dist-url', shell.distUrl]);
  return args;
}

/** Variables, checks and the batch split shared by both scripts; `nodes` and `gpus` are shell expressions. */
function preamble(input: PretrainLaunchInput, c: ClusterOptions, bundleDirDefault: string): string {
  const s = input.settings;
  return `set -euo pipefail
BUNDLE_DIR=\${BUNDLE_DIR:-${bundleDirDefault}}
if [ ! -f "$BUNDLE_DIR/run.json" ]; then echo "launch: $BUNDLE_DIR is not the bundle folder (no run.json); run from it or set BUNDLE_DIR" >&2; exit 1; fi
MOCO_CXR=\${MOCO_CXR:-$BUNDLE_DIR/MoCo-CXR}    # the checkout setup_moco_cxr.sh makes
WORK=\${WORK:-$BUNDLE_DIR/work}                # what prepare_data.py made: $WORK/full_train
WORKERS=\${WORKERS:-${c.workers}}
GLOBAL_BATCH=\${GLOBAL_BATCH:-${s.batch}}      # the run's batch over all GPUs of all nodes; changing it departs from the run
MOCO_K=${s.K}
export MOCO_CXR_STORAGE=\${MOCO_CXR_STORAGE:-$WORK/moco_runs}   # main_moco.py's checkpoints: <exp>_mocov2_<date>/checkpoint_XXXX.pth.tar

MAIN_MOCO="$MOCO_CXR/${MAIN_MOCO_PATH}"
if [ ! -f "$MAIN_MOCO" ]; then echo "launch: no MoCo-CXR checkout at $MOCO_CXR: run 'bash setup_moco_cxr.sh' (or set MOCO_CXR)" >&2; exit 1; fi
if grep -qE '${PDB_PATTERN}' "$MAIN_MOCO"; then echo "launch: $MAIN_MOCO still stops in pdb: run 'bash setup_moco_cxr.sh'" >&2; exit 1; fi
if ! grep -q ${STORAGE_MARKER} "$MOCO_CXR/${STORAGE_UTIL_PATH}"; then echo "launch: storage_util.py would write to /deep/group: run 'bash setup_moco_cxr.sh'" >&2; exit 1; fi
if [ ! -d "$WORK/full_train/images" ]; then echo "launch: $WORK/full_train is missing: run 'python3 prepare_data.py --data-root DIR' first" >&2; exit 1; fi
${input.resume ? `RESUME="$BUNDLE_DIR/${input.resume.file}"
# main_moco.py starts from scratch, silently, when --resume names no file
if [ ! -f "$RESUME" ]; then echo "launch: the checkpoint $RESUME is missing" >&2; exit 1; fi
` : ''}`;
}

/** The batch split over nodes and GPUs, after NNODES and GPUS_PER_NODE are known. */
const BATCH_SPLIT = `if (( GLOBAL_BATCH % (NNODES * GPUS_PER_NODE) != 0 )); then
  echo "launch: the batch $GLOBAL_BATCH does not split over $NNODES node(s) x $GPUS_PER_NODE GPU(s); choose GPUs that divide it, or set GLOBAL_BATCH (which departs from the run)" >&2; exit 1
fi
if (( MOCO_K % GLOBAL_BATCH != 0 )); then echo "launch: K = $MOCO_K is not a multiple of the batch $GLOBAL_BATCH (builder.py asserts it)" >&2; exit 1; fi
BATCH_PER_NODE=$(( GLOBAL_BATCH / NNODES ))    # main_moco.py's --batch-size is per node; it divides it among the node's GPUs`;

function header(input: PretrainLaunchInput, what: string): string {
  const s = input.settings;
  const steps = stepsPerEpoch(input.imageCount, s.batch);
  return commentBlock(
    `Generated by MoCo-CXR Web: pretraining run "${input.runName}" (${s.arch}, batch ${s.batch}, K ${s.K}, ${s.epochs} epochs of ${steps} steps on ${input.imageCount} images) on MoCo-CXR's ${MAIN_MOCO_PATH} at commit ${MOCO_CXR_COMMIT.slice(0, 7)}.\n${what}`,
  );
}

function notesComment(notes: HandoffNote[]): string {
  return commentBlock(['Where the original differs from the app for this run (the README has the same list):', ...notes.map((n) => `- ${n.setting}: ${n.original}.`)].join('\n'));
}

export function pretrainTorchrunScript(input: PretrainLaunchInput): string {
  const c = clusterOptions(input.cluster);
  const notes = pretrainNotes(input);
  const args = mainMocoArgs(input, {
    batch: shv('BATCH_PER_NODE'),
    workers: shv('WORKERS'),
    trainData: '"$WORK/full_train"',
    resume: input.resume ? shv('RESUME') : null,
    worldSize: shv('NNODES'),
    rank: shv('NODE_RANK'),
    distUrl: '"tcp://$MASTER_ADDR:$DIST_PORT"',
  });
  return `#!/bin/bash
${header(
  input,
  `One node with several GPUs: GPUS_PER_NODE=4 bash launch_torchrun.sh\nSeveral nodes, on each: NNODES=2 NODE_RANK=<0, 1, ...> MASTER_ADDR=<first node's address> GPUS_PER_NODE=4 bash launch_torchrun.sh\nmain_moco.py starts one process per visible GPU itself (mp.spawn under --multiprocessing-distributed) and reads neither LOCAL_RANK nor RANK, so torchrun starts one process per node (--nproc_per_node=1) and the node's rank goes to --rank. torchrun meets on MASTER_PORT; main_moco.py's process group on DIST_PORT (MASTER_PORT + 1). Before the first run: bash setup_moco_cxr.sh, then python3 prepare_data.py --data-root DIR.`,
)}
${notesComment(notes)}
${preamble(input, c, '$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)')}
NNODES=\${NNODES:-${c.nodes}}
NODE_RANK=\${NODE_RANK:-0}
GPUS_PER_NODE=\${GPUS_PER_NODE:-${c.gpusPerNode}}
MASTER_ADDR=\${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=\${MASTER_PORT:-${c.masterPort}}
DIST_PORT=\${DIST_PORT:-$(( MASTER_PORT + 1 ))}
# main_moco.py uses every GPU it sees (torch.cuda.device_count()): show it GPUS_PER_NODE of them
if [ -z "\${CUDA_VISIBLE_DEVICES:-}" ]; then export CUDA_VISIBLE_DEVICES=$(seq -s, 0 $(( GPUS_PER_NODE - 1 ))); fi
IFS=, read -ra VISIBLE <<< "$CUDA_VISIBLE_DEVICES"
if [ "\${#VISIBLE[@]}" -ne "$GPUS_PER_NODE" ]; then echo "launch: CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES shows \${#VISIBLE[@]} GPUs, GPUS_PER_NODE is $GPUS_PER_NODE" >&2; exit 1; fi
${BATCH_SPLIT}

mkdir -p "$MOCO_CXR_STORAGE"
cd "$WORK"
${renderCommand(
  'torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node=1 --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \\\n  "$MAIN_MOCO"',
  args,
  '            ',
)}

# done
echo "Done"
`;
}

export function pretrainSbatchScript(input: PretrainLaunchInput): string {
  const c = clusterOptions(input.cluster);
  const s = input.settings;
  const notes = pretrainNotes(input);
  const job = mocoJobName(s.arch, input.imagenetStart, s.lr, s.batch);
  const args = mainMocoArgs(input, {
    batch: shv('BATCH_PER_NODE'),
    workers: shv('WORKERS'),
    trainData: '"$WORK/full_train"',
    resume: input.resume ? shv('RESUME') : null,
    worldSize: shv('NNODES'),
    rank: shv('SLURM_NODEID'),
    distUrl: '"tcp://$MASTER_ADDR:$DIST_PORT"',
  });
  return `${sbatchHeader({ jobName: job, nodes: c.nodes, gpusPerNode: c.gpusPerNode, output: `${job}-%j.out` }, c)}

${header(
  input,
  `Submit from the bundle folder: sbatch launch_sbatch.sh (the #SBATCH lines above ask for ${c.nodes} node(s) with ${c.gpusPerNode} GPU(s) each; edit them to change that). srun starts one task per node; main_moco.py starts one process per GPU of its node (--multiprocessing-distributed) and takes the node's SLURM_NODEID as --rank. Before the first run: bash setup_moco_cxr.sh, then python3 prepare_data.py --data-root DIR.`,
)}
${notesComment(notes)}
${preamble(input, c, '${SLURM_SUBMIT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}')}
NNODES=\${SLURM_NNODES:-${c.nodes}}
GPUS_PER_NODE=\${SLURM_GPUS_ON_NODE:-${c.gpusPerNode}}
MASTER_ADDR=$(scontrol show hostnames "\${SLURM_JOB_NODELIST:-localhost}" | sed -n 1p)   # sed reads it all: head would close the pipe early under pipefail
MASTER_PORT=\${MASTER_PORT:-${c.masterPort}}
DIST_PORT=\${DIST_PORT:-$(( MASTER_PORT + 1 ))}
${BATCH_SPLIT}
mkdir -p "$MOCO_CXR_STORAGE"
export MOCO_CXR WORK WORKERS BATCH_PER_NODE NNODES MASTER_ADDR DIST_PORT MAIN_MOCO${input.resume ? ' RESUME' : ''}

# one task per node: main_moco.py with that node's rank
node_main() {
  set -euo pipefail
  cd "$WORK"
  ${renderCommand('python "$MAIN_MOCO"', args, '            ')}
}
export -f node_main
srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c node_main

# done
echo "Done"
`;
}

export function pretrainLaunch(input: PretrainLaunchInput): { files: LaunchFile[]; notes: HandoffNote[] } {
  return {
    files: [
      { path: 'setup_moco_cxr.sh', text: setupScript() },
      { path: 'launch_torchrun.sh', text: pretrainTorchrunScript(input) },
      { path: 'launch_sbatch.sh', text: pretrainSbatchScript(input) },
    ],
    notes: pretrainNotes(input),
  };
}
