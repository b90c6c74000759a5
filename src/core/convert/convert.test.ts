// Checkpoint layouts and conversion against PyTorch itself: torch-written fixtures of every layout
// (scripts/fixtures/torch_convert_check.py, Debian torch 1.13) are detected and extracted here, every
// export is loaded back by torch into the model the original code builds, strict=True, and compared
// bit for bit with the source. The architectures' key lists are checked against torchvision's own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFixtures, PYTHON, REPO_ROOT } from '../../../scripts/fixtures/ensure.ts';
import { readCheckpointFile } from '../../cli/read-file.ts';
import { readTorchFile, Tensor, tensorBytes, tensorToFloat32, TorchFileError, type PickleValue } from '../torchfile/index.ts';
import {
  ARCHS,
  checkKeys,
  ConvertError,
  detectLayout,
  expectedKeys,
  extractModel,
  isParameterKey,
  toApp,
  toMoco,
  toPipeline,
  toTorchvision,
  type AdamState,
  type Arch,
  type CanonicalModel,
} from './index.ts';

const keysDir = ensureFixtures('torch_model_keys');
const dir = ensureFixtures('torch_convert_check');
const outDir = join(dir, 'exports');
mkdirSync(outDir, { recursive: true });

interface ManifestEntry {
  layout: string;
  arch: Arch;
  prefix: string;
  head: [string, number, number?];
  dim?: number;
  K?: number;
  queue_ptr?: number;
  epoch?: number;
  optimizer?: string;
  optimizer_params?: number;
  tasks?: string[];
  iteration?: number;
  model_name?: string;
  bad?: boolean;
}
const manifest: Record<string, ManifestEntry> = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const load = (name: string) => readTorchFile(readCheckpointFile(join(dir, name))).root;

type Rules = { rules: [string, string | null][]; zeros?: string[]; optimizer_from_source?: boolean };
function torchCheck(kind: string, exportName: string, bytes: Uint8Array, source: string, rules: Rules): Record<string, unknown> {
  const path = join(outDir, exportName);
  writeFileSync(path, bytes);
  let out: string;
  try {
    out = execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/fixtures/torch_convert_check.py'), '--check', kind, path, join(dir, source), JSON.stringify(rules)], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
      timeout: 120_000,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`torch refused ${exportName}: ${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  const r = JSON.parse(out.trim().split('\n').pop()!);
  expect(r.ok).toBe(true);
  return r;
}

const shapes = (m: Map<string, Tensor>) => new Map([...m].map(([k, t]) => [k, { shape: t.shape, dtype: t.dtype }]));

describe('architecture key lists', () => {
  const tv = JSON.parse(readFileSync(join(keysDir, 'keys.json'), 'utf8'));
  for (const arch of ARCHS) {
    it(`${arch}: names, order, shapes and dtypes equal torchvision ${tv.torchvision}'s`, () => {
      const want: [string, number[], string][] = tv.archs[arch].keys;
      const head = want.at(-2)!;
      const got = expectedKeys(arch, { kind: 'linear', outputs: 1000 });
      expect([...got].map(([k, s]) => [k, s.shape, s.dtype])).toEqual(want);
      expect(head[0]).toMatch(/^(fc|classifier(\.1)?)\.weight$/);
      // parameters, in model.parameters() order, are the keys that are not buffers
      expect([...got.keys()].filter(isParameterKey)).toEqual(tv.archs[arch].parameters);
    });
  }
});

describe('layout detection on torch-written checkpoints', () => {
  for (const [name, m] of Object.entries(manifest)) {
    if (m.bad) continue;
    it(`${name}: ${m.layout} ${m.arch}`, () => {
      const d = detectLayout(load(name));
      expect(d.layout).toBe(m.layout);
      expect(d.arch).toBe(m.arch);
      expect(d.prefix).toBe(m.prefix);
      if (m.head[0] === 'mlp') expect(d.head).toEqual({ kind: 'mlp', hidden: m.head[1], dim: m.head[2] });
      else expect(d.head).toMatchObject({ kind: 'linear', outputs: m.head[1] });
      if (m.epoch !== undefined) expect(d.epoch).toBe(m.epoch);
      if (m.layout === 'moco') {
        expect(d.moco).toMatchObject({ dim: m.dim, K: m.K, queuePtr: m.queue_ptr });
        expect(d.moco!.optimizer).toMatchObject({ kind: m.optimizer, params: m.optimizer_params });
        expect(d.summary).toMatch(new RegExp(`^moco \\(${m.arch}, dim ${m.dim}, K ${m.K}`));
      }
      if (m.layout === 'pipeline') {
        expect(d.tasks).toEqual(m.tasks);
        expect(d.pipeline).toMatchObject({ modelName: m.model_name, iteration: m.iteration, uncertainty: false });
      }
    });
  }
});

describe('exports, loaded by torch with strict=True and compared bit for bit', () => {
  it('torchvision backbone from MoCo resnet18: main_lincls.py loads it (only fc missing)', () => {
    const { model } = extractModel(load('moco_r18.pth.tar'));
    expect(model.backbone.size).toBe(120);
    const r = torchCheck('torchvision:resnet18', 'tv_from_moco_r18.pth', toTorchvision(model), 'moco_r18.pth.tar', { rules: [['', 'module.encoder_q.']] });
    expect(r).toMatchObject({ compared: 120, weights_only: true });
  });

  it('torchvision backbone from MoCo densenet121 and mnasnet1_0 (mnasnet needs _metadata version)', () => {
    const d = extractModel(load('moco_d121.pth.tar')).model;
    expect(torchCheck('torchvision:densenet121', 'tv_from_moco_d121.pth', toTorchvision(d), 'moco_d121.pth.tar', { rules: [['', 'module.encoder_q.']] }).compared).toBe(725);
    const mn = extractModel(load('moco_mnasnet.pth.tar')).model;
    expect(torchCheck('torchvision:mnasnet1_0', 'tv_from_moco_mnasnet.pth', toTorchvision(mn), 'moco_mnasnet.pth.tar', { rules: [['', 'module.encoder_q.']] }).compared).toBe(312);
  });

  it('torchvision backbone from a pipeline checkpoint (Cadene names)', () => {
    const { model } = extractModel(load('pipeline_r18.pth.tar'));
    const r = torchCheck('torchvision:resnet18', 'tv_from_pipeline_r18.pth', toTorchvision(model), 'pipeline_r18.pth.tar', { rules: [['', 'module.model.']] });
    expect(r.compared).toBe(120);
  });

  it('MoCo round trip: main_moco.py --resume loads state and Adam state, and steps', () => {
    const { model } = extractModel(load('moco_r18.pth.tar'));
    const r = torchCheck('moco:resnet18:128:256', 'moco_from_moco_r18.pth.tar', toMoco(model), 'moco_r18.pth.tar', { rules: [['', '']], optimizer_from_source: true });
    expect(r).toMatchObject({ compared: 250, epoch: 7, arch: 'resnet18', optimizer_compared: 64, stepped: true, weights_only: false });
    expect(String(r.weights_only_error)).toMatch(/Unsupported operand|weights_only/i);
  });

  it("MoCo export with the app's own Adam state: torch's parameter indices match the names", () => {
    const root = load('moco_r18.pth.tar') as Map<PickleValue, PickleValue>;
    const { model } = extractModel(root);
    // the source's Adam state by parameter name, as the app would keep it
    const names = [...(root.get('state_dict') as Map<PickleValue, PickleValue>).keys()].map((k) => String(k).slice('module.'.length)).filter(isParameterKey);
    const src = (root.get('optimizer') as Map<PickleValue, PickleValue>).get('state') as Map<PickleValue, PickleValue>;
    const state: AdamState['state'] = new Map();
    for (const [i, s] of src) {
      const m = s as Map<PickleValue, PickleValue>;
      const step = m.get('step') as Tensor;
      state.set(names[i as number]!, { step: tensorToFloat32(step)[0]!, expAvg: m.get('exp_avg') as Tensor, expAvgSq: m.get('exp_avg_sq') as Tensor });
    }
    expect(state.size).toBe(64);
    const adam: AdamState = { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-4, state };
    const r = torchCheck('moco:resnet18:128:256', 'moco_app_adam_r18.pth.tar', toMoco({ ...model, moco: { ...model.moco!, optimizer: null } }, { optimizer: adam }), 'moco_r18.pth.tar', {
      rules: [['', '']],
      optimizer_from_source: true,
    });
    expect(r).toMatchObject({ compared: 250, optimizer_compared: 64, stepped: true });
  });

  it('MoCo export of a single-GPU legacy save gets the module. prefix; mnasnet MoCo round trip', () => {
    const { model, detected } = extractModel(load('moco_r18_single.legacy.pth.tar'));
    expect(detected.prefix).toBe('');
    // its SGD optimizer is written back as it was; main_moco.py --optimizer adam needs Adam: drop it
    const r = torchCheck('moco:resnet18:128:256', 'moco_from_single_r18.pth.tar', toMoco({ ...model, moco: { ...model.moco!, optimizer: null } }), 'moco_r18_single.legacy.pth.tar', {
      rules: [['module.', '']],
    });
    expect(r).toMatchObject({ compared: 250, epoch: 1, optimizer_state: 0 });
    const mn = extractModel(load('moco_mnasnet.pth.tar')).model;
    expect(torchCheck('moco:mnasnet1_0:128:64', 'moco_from_moco_mnasnet.pth.tar', toMoco(mn), 'moco_mnasnet.pth.tar', { rules: [['', '']] }).compared).toBe(2 * 316 + 2);
  });

  it('pipeline round trip (ResNet18 as Cadene names, last_linear kept) and DenseNet121', () => {
    const { model } = extractModel(load('pipeline_r18.pth.tar'));
    const r = torchCheck('pipeline', 'pipeline_from_pipeline_r18.pth.tar', toPipeline(model, { epoch: 3 }), 'pipeline_r18.pth.tar', { rules: [['', '']] });
    expect(r).toMatchObject({ model_name: 'ResNet18', compared: 124, outputs: 14, optimizer: true, epoch: 3 });
    expect(r.tasks).toEqual(manifest['pipeline_r18.pth.tar']!.tasks);
    const d = extractModel(load('pipeline_d121.pth.tar')).model;
    const rd = torchCheck('pipeline', 'pipeline_from_pipeline_d121.pth.tar', toPipeline(d), 'pipeline_d121.pth.tar', { rules: [['', '']] });
    expect(rd).toMatchObject({ model_name: 'DenseNet121', compared: 727, outputs: 5 });
  });

  it('pipeline export of a torchvision resnet18 fine-tuned elsewhere (14 outputs; last_linear zeros)', () => {
    const { model } = extractModel(load('tv_r18_14.pth'));
    const tasks = manifest['pipeline_r18.pth.tar']!.tasks!;
    const r = torchCheck('pipeline', 'pipeline_from_tv_r18.pth.tar', toPipeline(model, { tasks }), 'tv_r18_14.pth', {
      rules: [['module.model.', ''], ['module.fc.', 'fc.']],
      zeros: ['module.model.last_linear.'],
    });
    expect(r).toMatchObject({ compared: 122, outputs: 14 });
  });

  it("the app's own format: weights_only=True loads it; read back it is the same model", () => {
    const { model } = extractModel(load('tv_r18_14.pth'));
    const bytes = toApp({ ...model, tasks: ['a', 'b'] }, { meta: { name: 'r18 fine-tuned', created: '2024-01-01', lr: 1e-4 } });
    const r = torchCheck('app:resnet18:14', 'app_r18.pth.tar', bytes, 'tv_r18_14.pth', { rules: [['', '']] });
    expect(r).toMatchObject({ compared: 122, weights_only: true, meta: { name: 'r18 fine-tuned' } });
    const back = extractModel(readTorchFile(bytes).root);
    expect(back.detected.summary).toBe('app (resnet18, 14 outputs)');
    expect(back.model.tasks).toEqual(['a', 'b']);
    for (const [k, t] of model.backbone) expect(Buffer.compare(tensorBytes(back.model.backbone.get(k)!), tensorBytes(t)), k).toBe(0);
    // MoCo state survives the app format too (optimizer floats encoded as strings)
    const moco = extractModel(load('moco_mnasnet.pth.tar')).model;
    const again = extractModel(readTorchFile(toApp(moco)).root);
    expect(again.detected.moco).toMatchObject({ dim: 128, K: 64, queuePtr: 48, optimizer: { kind: 'adam', lr: 1e-4 } });
    expect(again.model.moco!.encoderK.size).toBe(316);
  });
});

describe('bad input: each refusal names the mismatch', () => {
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConvertError || e instanceof TorchFileError) return e;
      throw e;
    }
    throw new Error('not refused');
  };

  it('a densenet121 checkpoint where resnet18 is expected', () => {
    const e = refusal(() => extractModel(load('tv_d121_5.pth'), { arch: 'resnet18' }));
    expect(e.message).toMatch(/this is a densenet121 checkpoint but resnet18 was expected/);
    const sd = load('tv_d121_5.pth') as Map<string, Tensor>;
    const c = checkKeys('resnet18', shapes(sd));
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/^this is a densenet121 checkpoint but resnet18 was expected/);
    expect(c.missing).toHaveLength(122 - 2);
    expect(c.message).toMatch(/120 missing: conv1\.weight, bn1\.weight/);
    expect(c.message).toMatch(/727 unexpected: features\.conv0\.weight/);
  });

  it('one tensor of the wrong shape', () => {
    const e = refusal(() => extractModel(load('tv_r18_badshape.pth')));
    expect(e).toBeInstanceOf(ConvertError);
    expect(e.message).toMatch(/1 wrongly shaped: layer2\.0\.conv1\.weight is \[128, 64, 1, 1\], \[128, 64, 3, 3\] expected/);
    const c = checkKeys('resnet18', shapes(load('tv_r18_badshape.pth') as Map<string, Tensor>));
    expect(c.wrongShape).toEqual([{ key: 'layer2.0.conv1.weight', expected: [128, 64, 3, 3], got: [128, 64, 1, 1] }]);
    expect(c.missing).toEqual([]);
    expect(c.unexpected).toEqual([]);
  });

  it('a classifier with an unexpected number of outputs', () => {
    const e = refusal(() => extractModel(load('tv_d121_5.pth'), { numClasses: 14 }));
    expect(e.message).toMatch(/the classifier has 5 outputs, 14 expected/);
    const c = checkKeys('resnet18', shapes(load('tv_r18_14.pth') as Map<string, Tensor>), { numClasses: 5 });
    expect(c.message).toMatch(/^the classifier \(fc\) has 14 outputs, 5 expected/);
    expect(c.wrongShape.map((w) => w.key)).toEqual(['fc.weight', 'fc.bias']);
    // and the pipeline writer will not pair 14 outputs with 5 task names
    const { model } = extractModel(load('tv_r18_14.pth'));
    expect(refusal(() => toPipeline(model, { tasks: ['a', 'b', 'c', 'd', 'e'] })).message).toMatch(/the classifier has 14 outputs, 5 expected/);
  });

  it('a truncated file', () => {
    const bytes = readCheckpointFile(join(dir, 'tv_r18_14.pth'));
    const e = refusal(() => readTorchFile(bytes.subarray(0, Math.floor(bytes.length / 2))));
    expect(e).toBeInstanceOf(TorchFileError);
    expect(e.message).toMatch(/truncat|end of central directory|zip/i);
    const legacy = readCheckpointFile(join(dir, 'moco_r18_single.legacy.pth.tar'));
    expect(refusal(() => readTorchFile(legacy.subarray(0, legacy.length - 1000))).message).toMatch(/truncat|ends/i);
  });

  it('a missing key, a stray key, and no state dict at all', () => {
    const sd = new Map(load('tv_r18_14.pth') as Map<string, Tensor>);
    const t = sd.get('layer3.1.bn2.running_var')!;
    sd.delete('layer3.1.bn2.running_var');
    sd.set('layer5.0.conv1.weight', t);
    const c = checkKeys('resnet18', shapes(sd));
    expect(c.missing).toEqual(['layer3.1.bn2.running_var']);
    expect(c.unexpected).toEqual(['layer5.0.conv1.weight']);
    expect(c.message).toBe('1 missing: layer3.1.bn2.running_var; 1 unexpected: layer5.0.conv1.weight');
    expect(refusal(() => detectLayout(new Map<PickleValue, PickleValue>([['epoch', 3]]))).message).toMatch(/no state dict found \(top-level keys: epoch\)/);
  });

  it("MoCo export refuses a model without the MLP head; 'backbone' takes the backbone alone", () => {
    const { model } = extractModel(load('tv_r18_14.pth'));
    expect(refusal(() => toMoco(model)).message).toMatch(/needs the MLP projection head \(fc\.0 \/ fc\.2\); this model has a linear head/);
    const bb = extractModel(load('moco_d121.pth.tar'), { take: 'backbone' }).model as CanonicalModel;
    expect(bb.head).toBeUndefined();
    expect(bb.moco).toBeUndefined();
    expect(bb.backbone.size).toBe(725);
  });
});
