// A pretraining run's cluster bundle, read the way the cluster reads it: unzipped by Python's zipfile, its
// MoCo checkpoint loaded from the zip into builder.py's MoCo (the repo's PyTorch mirror) with strict=True
// and stepped once on the CPU, setup_moco_cxr.sh and prepare_data.py run for real, and the launch scripts run
// under shims that check every command line against main_moco.py's argparse contract
// (scripts/fixtures/moco_cxr_argparse.py).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PYTHON } from '../../../scripts/fixtures/ensure.ts';
import { useBackend } from '../backend/kernels/backends.testutil.ts';
import type { ImageMeta } from '../data/types.ts';
import { ZipArchive } from '../torchfile/zip-reader.ts';
import { HandoffError, MOCO_CXR_COMMIT, MOCO_CXR_REPOSITORY, PACKAGES, parseRunJson, pretrainBundle, pretrainBundleContents, type PretrainBundleInput } from './index.ts';
import { BUNDLE_CHECK, calls, CHECKER, demoImages, fakeMocoCxr, runChecker, SMALL_MOCO, smallMocoCheckpoint, unzip, type SmallMoco } from './fixtures.testutil.ts';

let dir: string;
let ck: SmallMoco;
let images: ImageMeta[];
let input: PretrainBundleInput;
let bundleDir: string;
let repo: string;
let work: string;
let dataRoot: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'handoff-pretrain-'));
  ck = await smallMocoCheckpoint();
  const demo = demoImages();
  images = demo.images;
  input = {
    run: { id: 'run-1', name: 'small run', status: 'paused', progress: { epoch: 3, step: 0, globalStep: 30 }, stepsPerEpoch: 10, settings: SMALL_MOCO },
    dataset: demo.dataset,
    images,
    checkpoint: ck.bytes,
    imagenetStart: false,
    createdAt: new Date('2026-12-01T10:00:00Z'),
  };
  writeFileSync(join(dir, 'bundle.zip'), pretrainBundle(input));
  unzip(join(dir, 'bundle.zip'), join(dir, 'unzipped'));
  bundleDir = join(dir, 'unzipped', 'moco-cxr-pretrain-small-run');
  // the cluster side: a MoCo-CXR checkout (stand-in files), the images below a data root, the work folder
  repo = join(dir, 'MoCo-CXR');
  fakeMocoCxr(repo);
  dataRoot = join(dir, 'data');
  for (const img of images) {
    mkdirSync(join(dataRoot, img.file, '..'), { recursive: true });
    writeFileSync(join(dataRoot, img.file), img.key);
  }
  work = join(dir, 'work');
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXPECTED_FILES = [
  'README.md',
  'run.json',
  'checkpoints/small-run_epoch3.pth.tar',
  'splits/full_train.csv',
  'splits/images.csv',
  'prepare_data.py',
  'setup_moco_cxr.sh',
  'launch_torchrun.sh',
  'launch_sbatch.sh',
];

describe('the pretraining bundle', () => {
  it('opens (our zip reader and Python zipfile) and holds the listed files', () => {
    const bytes = readFileSync(join(dir, 'bundle.zip'));
    const zip = new ZipArchive(new Uint8Array(bytes));
    expect(zip.folder).toBe('moco-cxr-pretrain-small-run');
    expect([...zip.entries.keys()].map((n) => n.slice(zip.folder.length + 1)).sort()).toEqual([...EXPECTED_FILES].sort());
    expect(readdirSync(bundleDir).sort()).toEqual(['README.md', 'checkpoints', 'launch_sbatch.sh', 'launch_torchrun.sh', 'prepare_data.py', 'run.json', 'setup_moco_cxr.sh', 'splits']);
    // the checkpoint is carried byte for byte
    expect(Buffer.compare(readFileSync(join(bundleDir, 'checkpoints/small-run_epoch3.pth.tar')), Buffer.from(ck.bytes))).toBe(0);
  });

  it('README names the repository, the commit, the steps and every package version', () => {
    const text = readFileSync(join(bundleDir, 'README.md'), 'utf8');
    expect(text).toContain(MOCO_CXR_REPOSITORY);
    expect(text).toContain(MOCO_CXR_COMMIT);
    for (const p of PACKAGES) expect(text).toContain(`| ${p.name} | ${p.version} |`);
    for (const step of ['bash setup_moco_cxr.sh', 'python3 prepare_data.py --data-root DIR', 'bash launch_torchrun.sh', 'sbatch launch_sbatch.sh']) expect(text).toContain(step);
    // the departures are spelled out, here and in the scripts
    expect(text).toContain('**seed 7**');
    expect(readFileSync(join(bundleDir, 'launch_torchrun.sh'), 'utf8')).toContain('- checkpoint every 200 steps: main_moco.py saves');
  });

  it('run.json holds the settings, seed, augmentations and the images in run order, and reads back', () => {
    const r = parseRunJson(readFileSync(join(bundleDir, 'run.json'), 'utf8'));
    if (r.kind !== 'pretrain') throw new Error('kind');
    expect(r.settings).toEqual(SMALL_MOCO);
    expect(r.seed).toBe(7);
    expect(r.manifest.keys).toEqual(images.map((i) => i.key));
    expect(r.augmentations.map((a) => a.op)).toEqual(['Grayscale->RGB', 'Resize', 'RandomHorizontalFlip', 'RandomRotation', 'RandomCrop', 'ToTensor', 'Normalize']);
    expect(r.checkpoint).toEqual({ file: 'checkpoints/small-run_epoch3.pth.tar', format: 'moco', epoch: 3 });
    expect(r.target.commit).toBe(MOCO_CXR_COMMIT);
  });

  it('the MoCo checkpoint taken from the zip loads strict=True into builder.py\'s MoCo and one CPU step continues with epoch, queue, pointer and Adam intact', () => {
    const expect_ = join(dir, 'expect.json');
    writeFileSync(expect_, JSON.stringify({ queue: Array.from(ck.queue) }));
    const out = JSON.parse(execFileSync(PYTHON, [BUNDLE_CHECK, join(dir, 'bundle.zip'), expect_], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } })) as {
      splits: Record<string, { header: string[]; keys: string[] }>;
      resume: { epoch: number; arch: string; dim: number; K: number; queue_ptr: number; adam_steps: number[]; adam_state_count: number; lr: number; queue_diff: number; next: { queue_ptr: number; queue_kept: boolean; new_keys_unit: boolean; adam_steps: number[]; adam_state_count: number; moment_rel_err: number; loss: number } };
    };
    const r = out.resume;
    console.log('torch resume from the bundle:', JSON.stringify(r));
    expect([r.epoch, r.arch, r.dim, r.K]).toEqual([ck.epoch, 'resnet18', SMALL_MOCO.dim, SMALL_MOCO.K]);
    expect(r.lr).toBe(SMALL_MOCO.lr); // epoch 3 is before the first milestone
    expect(r.queue_ptr).toBe(ck.ptr);
    expect(r.queue_diff).toBe(0);
    expect(r.adam_steps).toEqual([ck.adamSteps]);
    expect(r.adam_state_count).toBe(ck.trainable);
    expect(Number.isFinite(r.next.loss)).toBe(true);
    expect(r.next.queue_ptr).toBe((ck.ptr + SMALL_MOCO.batch) % SMALL_MOCO.K);
    expect(r.next.queue_kept).toBe(true);
    expect(r.next.new_keys_unit).toBe(true);
    expect(r.next.adam_steps).toEqual([ck.adamSteps + 1]);
    expect(r.next.adam_state_count).toBe(ck.trainable);
    expect(r.next.moment_rel_err).toBeLessThan(1e-5);
    // full_train.csv read with Python's csv module gives the run's images back, in order
    expect(out.splits['full_train.csv']!.keys).toEqual(images.map((i) => i.key));
    expect(out.splits['full_train.csv']!.header.slice(0, 5)).toEqual(['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA']);
  }, 120_000);

  it('setup_moco_cxr.sh patches the pdb stop and the storage path once; prepare_data.py builds the ImageFolder', () => {
    execFileSync('bash', [join(bundleDir, 'setup_moco_cxr.sh')], { env: { ...process.env, MOCO_CXR: repo }, stdio: 'pipe' });
    const main = join(repo, 'moco_pretraining/moco/main_moco.py');
    const storage = join(repo, 'moco_pretraining/moco/aihc_utils/storage_util.py');
    const [m1, s1] = [readFileSync(main, 'utf8'), readFileSync(storage, 'utf8')];
    expect(m1).not.toMatch(/^\s*import pdb; pdb\.set_trace\(\)/m);
    expect(m1).toContain('    pass  # MoCo-CXR Web bundle');
    expect(m1).toContain('    # import pdb; pdb.set_trace()'); // the commented one stays
    // the appended lines do what they say in Python
    const root = execFileSync(PYTHON, ['-c', `import runpy; print(runpy.run_path(${JSON.stringify(storage)})['STORAGE_ROOT'])`], { encoding: 'utf8', env: { ...process.env, MOCO_CXR_STORAGE: '/scratch/x' } }).trim();
    expect(root).toBe('/scratch/x');
    execFileSync('bash', [join(bundleDir, 'setup_moco_cxr.sh')], { env: { ...process.env, MOCO_CXR: repo }, stdio: 'pipe' });
    expect([readFileSync(main, 'utf8'), readFileSync(storage, 'utf8')]).toEqual([m1, s1]);

    execFileSync(PYTHON, [join(bundleDir, 'prepare_data.py'), '--data-root', dataRoot, '--work', work]);
    const folder = join(work, 'full_train/images');
    const links = readdirSync(folder);
    expect(links.length).toBe(images.length);
    for (const img of images) {
      const link = join(folder, img.key.replace(/\//g, '__'));
      expect(readlinkSync(link)).toBe(join(dataRoot, img.file));
    }
  });
});

describe("the pretraining scripts against main_moco.py's argparse contract", () => {
  const env = () => ({ MOCO_CXR: repo, WORK: work });
  const s = SMALL_MOCO;

  function expectSettings(p: Record<string, unknown>) {
    expect(p).toMatchObject({
      arch: s.arch, moco_dim: s.dim, moco_k: s.K, moco_m: s.m, moco_t: s.T, mlp: true, optimizer: 'adam', lr: s.lr, weight_decay: s.weightDecay,
      epochs: s.epochs, schedule: s.milestones, cos: false, aug_setting: 'chexpert', img_size: s.size, crop: s.crop, rotate: s.rotate, maintain_ratio: true,
      from_imagenet: false, seed: s.seed, save_epoch: 1, multiprocessing_distributed: true, train_data: join(work, 'full_train'),
      resume: join(bundleDir, 'checkpoints/small-run_epoch3.pth.tar'), exp_name: 'small-run',
    });
  }

  it('launch_torchrun.sh, one node: every flag known, typed and within its choices; values equal the run', () => {
    const r = runChecker(join(bundleDir, 'launch_torchrun.sh'), env());
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    const [t] = calls(r, 'torchrun');
    expect([t!.nnodes, t!.node_rank, t!.nproc_per_node]).toEqual([1, 0, 1]);
    const m = calls(r, 'main_moco.py');
    expect(m.length).toBe(1);
    expectSettings(m[0]!.parsed!);
    expect(m[0]!.parsed).toMatchObject({ batch_size: 4, world_size: 1, rank: 0, dist_url: 'tcp://127.0.0.1:29501' });
    expect(m[0]!.env.CUDA_VISIBLE_DEVICES).toBe('0');
  }, 60_000);

  it('launch_torchrun.sh, two nodes of two GPUs: one main_moco.py per node with the node rank; the batch splits per node', () => {
    for (const rank of [0, 1]) {
      const r = runChecker(join(bundleDir, 'launch_torchrun.sh'), { ...env(), NNODES: '2', NODE_RANK: String(rank), GPUS_PER_NODE: '2', MASTER_ADDR: '10.0.0.1' });
      expect(r.errors).toEqual([]);
      const m = calls(r, 'main_moco.py');
      expect(m.length).toBe(1);
      expectSettings(m[0]!.parsed!);
      expect(m[0]!.parsed).toMatchObject({ batch_size: 2, world_size: 2, rank, dist_url: 'tcp://10.0.0.1:29501' });
      expect(m[0]!.env.CUDA_VISIBLE_DEVICES).toBe('0,1');
    }
    // 4 images over 3 GPUs does not split: the script refuses before launching
    const bad = runChecker(join(bundleDir, 'launch_torchrun.sh'), { ...env(), GPUS_PER_NODE: '3' });
    expect(bad.ok).toBe(false);
    expect(bad.stderr).toContain('does not split over 1 node(s) x 3 GPU(s)');
  }, 60_000);

  it('launch_sbatch.sh: #SBATCH lines as the templates; srun runs main_moco.py once per node', () => {
    const r = runChecker(join(bundleDir, 'launch_sbatch.sh'), { ...env(), SLURM_SUBMIT_DIR: bundleDir, SLURM_NNODES: '2', SLURM_GPUS_ON_NODE: '2', SLURM_JOB_NODELIST: 'gpu[01-02]', SLURM_JOB_ID: '42' });
    expect(r.errors).toEqual([]);
    expect(r.sbatch).toEqual(['--nodes=1', '--cpus-per-task=4', '--mem=32000', '--gres=gpu:1', '--job-name=r8o1n34', '--output=r8o1n34-%j.out']);
    const m = calls(r, 'main_moco.py');
    expect(m.map((c) => c.parsed!.rank)).toEqual([0, 1]);
    for (const c of m) {
      expectSettings(c.parsed!);
      expect(c.parsed).toMatchObject({ batch_size: 2, world_size: 2, dist_url: 'tcp://node00:29501' });
    }
  }, 60_000);

  it('a wrong flag, a value of the wrong type or outside the choices fails the check (negative)', () => {
    // on launch_sbatch.sh (the same main_moco.py flags; its srun shim is quicker than torchrun's, which imports torch)
    const original = readFileSync(join(bundleDir, 'launch_sbatch.sh'), 'utf8');
    const cases: [string, string, string, RegExp][] = [
      ['unknown flag', '--moco-k 12', '--moco-queue 12', /unrecognized arguments: --moco-queue/],
      ['int flag given a float', '--moco-k 12', '--moco-k 12.5', /argument --moco-k: invalid int value: '12.5'/],
      ['value outside the choices', '--aug-setting chexpert', '--aug-setting cxr', /argument --aug-setting: invalid choice: 'cxr'/],
      ['DDP left out', '--multiprocessing-distributed \\\n', '', /only runs under DistributedDataParallel/],
    ];
    for (const [what, from, to, message] of cases) {
      expect(original, what).toContain(from);
      const path = join(bundleDir, `broken.sh`);
      writeFileSync(path, original.replace(from, to));
      const r = runChecker(path, { ...env(), SLURM_SUBMIT_DIR: bundleDir });
      expect(r.ok, what).toBe(false);
      expect(r.errors.join('\n'), what).toMatch(message);
    }
    rmSync(join(bundleDir, 'broken.sh'));
    // the contract itself: MoCo-CXR's own r8w1n416.sh command passes
    const published = '-a resnet18 --lr 0.0001 --batch-size 16 --epochs 20 --world-size 1 --rank 0 --mlp --moco-t 0.2 --from-imagenet --dist-url tcp://localhost:10001 --multiprocessing-distributed --aug-setting chexpert --rotate 10 --maintain-ratio --train_data /deep/full_train --exp-name r8w1n416_20200911h13';
    expect(JSON.parse(execFileSync(PYTHON, [CHECKER, 'check-args', 'main_moco.py', ...published.split(' ')], { encoding: 'utf8' })).ok).toBe(true);
  }, 120_000);

  it('a launch without setup or prepare stops with the reason', () => {
    const r = runChecker(join(bundleDir, 'launch_torchrun.sh'), { MOCO_CXR: join(dir, 'nowhere'), WORK: work });
    expect(r.ok).toBe(false);
    expect(r.stderr).toContain("run 'bash setup_moco_cxr.sh'");
    const r2 = runChecker(join(bundleDir, 'launch_torchrun.sh'), { MOCO_CXR: repo, WORK: join(dir, 'empty-work') });
    expect(r2.stderr).toContain('full_train is missing');
    expect(existsSync(join(dir, 'empty-work/moco_runs'))).toBe(false);
  }, 60_000);
});

describe('pretrainBundle refuses what main_moco.py could not resume', () => {
  it('a checkpoint of another shape, or a start it cannot express', () => {
    expect(() => pretrainBundleContents({ ...input, run: { ...input.run, settings: { ...SMALL_MOCO, K: 24 } } })).toThrow(/queue is 8 x 12, the settings say dim 8, K 24/);
    expect(() => pretrainBundleContents({ ...input, run: { ...input.run, settings: { ...SMALL_MOCO, arch: 'resnet50' } } })).toThrow(/is a resnet18, the run's settings say resnet50/);
    expect(() => pretrainBundleContents({ ...input, checkpoint: new Uint8Array([1, 2, 3]) })).toThrow(HandoffError);
    expect(() => pretrainBundleContents({ ...input, checkpoint: null, run: { ...input.run, settings: { ...SMALL_MOCO, init: { kind: 'backbone', checkpointId: 'x' } } } })).toThrow(/not ImageNet/);
    // without a checkpoint the scripts start from the beginning, with --from-imagenet for an ImageNet start
    const fresh = pretrainBundleContents({ ...input, checkpoint: null, imagenetStart: true });
    const script = new TextDecoder().decode(fresh.files.find((f) => f.path === 'launch_torchrun.sh')!.data);
    expect(script).not.toContain('--resume');
    expect(script).toContain('--from-imagenet');
    expect(fresh.files.some((f) => f.path.startsWith('checkpoints/'))).toBe(false);
  });
});
