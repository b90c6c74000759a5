// run.json: written, parsed back equal, and refused with the bad key's path when it is not what a re-run needs.
import { describe, expect, it } from 'vitest';
import { CORE_VERSION } from '../version.ts';
import { demoExperiment, demoImages, demoManifest, SMALL_MOCO } from './fixtures.testutil.ts';
import { finetuneAugmentations, missingImages, parseRunJson, pretrainAugmentations, RUN_JSON_VERSION, RunJsonError, writeRunJson, type FinetuneRunJson, type PretrainRunJson } from './run-json.ts';
import { MOCO_CXR_COMMIT, MOCO_CXR_REPOSITORY } from './target.ts';

const { dataset, images } = demoImages();

function pretrainJson(): PretrainRunJson {
  return {
    format: 'moco-cxr-web/run',
    version: 1,
    createdAt: '2026-12-01T10:00:00.000Z',
    app: { name: 'MoCo-CXR Web', coreVersion: CORE_VERSION },
    kind: 'pretrain',
    dataset,
    seed: SMALL_MOCO.seed,
    target: { repository: MOCO_CXR_REPOSITORY, commit: MOCO_CXR_COMMIT, notes: [{ setting: 's', app: 'a', original: 'o' }] },
    run: { id: 'r', name: 'n', status: 'paused', progress: { epoch: 3, step: 2, globalStep: 32 }, stepsPerEpoch: 10 },
    settings: { ...SMALL_MOCO, init: { kind: 'moco', checkpointId: 'ck' } },
    imagenetStart: false,
    augmentations: pretrainAugmentations(SMALL_MOCO),
    manifest: { kind: 'pretrain', keys: images.map((i) => i.key) },
    checkpoint: { file: 'checkpoints/n_epoch3.pth.tar', format: 'moco', epoch: 3 },
  };
}

function finetuneJson(): FinetuneRunJson {
  const experiment = demoExperiment();
  return {
    format: 'moco-cxr-web/run',
    version: 1,
    createdAt: '2026-12-01T10:00:00.000Z',
    app: { name: 'MoCo-CXR Web', coreVersion: CORE_VERSION },
    kind: 'finetune',
    dataset,
    seed: experiment.settings.seed,
    target: { repository: MOCO_CXR_REPOSITORY, commit: MOCO_CXR_COMMIT, notes: [] },
    experiment,
    augmentations: finetuneAugmentations(experiment.settings),
    manifest: demoManifest(images),
    checkpoints: [{ label: 'MoCo r8', file: 'checkpoints/MoCo-r8.moco.pth.tar', format: 'moco' }],
  };
}

describe('run.json', () => {
  it('round-trips a pretraining run and a fine-tuning experiment unchanged', () => {
    for (const r of [pretrainJson(), finetuneJson()]) {
      const text = writeRunJson(r);
      const back = parseRunJson(text);
      expect(back).toEqual(r);
      expect(writeRunJson(back)).toBe(text);
    }
  });

  it('is versioned: another format or version is refused by name', () => {
    const t = JSON.parse(writeRunJson(pretrainJson())) as Record<string, unknown>;
    expect(() => parseRunJson(JSON.stringify({ ...t, version: RUN_JSON_VERSION + 1 }))).toThrow(/run.json: version 2 is not one this app reads/);
    expect(() => parseRunJson(JSON.stringify({ ...t, format: 'something' }))).toThrow(/run.json: format must be 'moco-cxr-web\/run'/);
    expect(() => parseRunJson('{"format": ')).toThrow(/run.json is not JSON/);
  });

  it('names the first bad key by its path', () => {
    const bad: [string, (r: PretrainRunJson) => void, RegExp][] = [
      ['K not a multiple of the batch', (r) => void (r.settings.K = 10), /settings.K \(10\) must be a multiple of settings.batch \(4\)/],
      ['an unknown arch', (r) => void ((r.settings as { arch: string }).arch = 'vgg16'), /settings.arch must be one of resnet18, resnet50, densenet121, mnasnet1_0/],
      ['a seed that disagrees', (r) => void (r.seed = 8), /seed must equal settings.seed/],
      ['a key twice', (r) => void r.manifest.keys.push(r.manifest.keys[0]!), /manifest.keys holds a key twice/],
      ['a negative step', (r) => void (r.run.progress.step = -1), /run.progress.step must be at least 0/],
      ['a crop above the size', (r) => void (r.settings.crop = 99), /settings.crop must be at most 16/],
    ];
    for (const [what, mutate, message] of bad) {
      const r = pretrainJson();
      mutate(r);
      expect(() => parseRunJson(JSON.stringify(r)), what).toThrow(message);
      expect(() => parseRunJson(JSON.stringify(r)), what).toThrow(RunJsonError);
    }
    const ft: [string, (r: FinetuneRunJson) => void, RegExp][] = [
      ['a test image also in valid', (r) => void r.manifest.test.push(r.manifest.valid[0]!), /manifest.test and manifest.valid both hold/],
      ['a train image in test', (r) => void r.manifest.train[0]!.keys.push(r.manifest.test[0]!), /manifest.train\[0\].keys holds '.*', which is also in manifest.test/],
      ['a picking task that is no output', (r) => void (r.experiment.settings.tasks.pick = ['Nodule']), /experiment.settings.tasks.pick\[0\] \('Nodule'\) must be one of the outputs/],
      ['a cadence off the batch', (r) => void (r.experiment.settings.examplesPerEval = 100), /experiment.settings.examplesPerEval \(100\) must be a multiple of experiment.settings.batch \(16\)/],
      ['a checkpoint for no init', (r) => void (r.checkpoints[0]!.label = 'X'), /checkpoints\[0\].label \('X'\) names no initialisation/],
      ['a bad init kind', (r) => void ((r.experiment.inits[0]!.init as { kind: string }).kind = 'scratch'), /experiment.inits\[0\].init.kind must be one of moco, imagenet, random/],
    ];
    for (const [what, mutate, message] of ft) {
      const r = finetuneJson();
      mutate(r);
      expect(() => parseRunJson(JSON.stringify(r)), what).toThrow(message);
    }
  });

  it('lists the images a dataset lacks for a re-run', () => {
    const r = finetuneJson();
    const have = new Set(images.map((i) => i.key));
    expect(missingImages(r, have)).toEqual([]);
    have.delete(r.manifest.test[0]!);
    have.delete(r.manifest.train[2]!.keys[1]!);
    expect(missingImages(r, have).sort()).toEqual([r.manifest.test[0]!, r.manifest.train[2]!.keys[1]!].sort());
  });
});
