// The state-dict keys and shapes of the backbones the app supports, built the way torchvision 0.14
// builds the modules (loops over blocks, in registration order), so no generated key list is
// committed. scripts/fixtures/torch_model_keys.py dumps torchvision's own lists and a test compares.

export const ARCHS = ['resnet18', 'resnet50', 'densenet121', 'mnasnet1_0'] as const;
export type Arch = (typeof ARCHS)[number];

export const isArch = (s: unknown): s is Arch => typeof s === 'string' && (ARCHS as readonly string[]).includes(s);

export interface KeySpec {
  shape: number[];
  dtype: 'f32' | 'i64';
}

/** name -> shape/dtype, in torchvision's state-dict order */
export type KeyList = Map<string, KeySpec>;

/** The head every arch ends in, in torchvision naming. */
export interface ArchInfo {
  /** features going into the head (512 for resnet18, 2048 for resnet50, 1024, 1280) */
  features: number;
  /** the head module's name in torchvision and in MoCo: 'fc' or 'classifier' */
  headName: 'fc' | 'classifier';
  /** a torchvision linear head's parameter prefix: 'fc', 'classifier', 'classifier.1' (mnasnet,
   *  whose classifier is Sequential(Dropout, Linear)) */
  torchvisionLinear: string;
  /** the name of the pipeline model class (ModelSaver's 'model_name') */
  pipelineName: 'ResNet18' | 'ResNet50' | 'DenseNet121' | 'MNASNet';
}

export const ARCH_INFO: Readonly<Record<Arch, ArchInfo>> = {
  resnet18: { features: 512, headName: 'fc', torchvisionLinear: 'fc', pipelineName: 'ResNet18' },
  resnet50: { features: 2048, headName: 'fc', torchvisionLinear: 'fc', pipelineName: 'ResNet50' },
  densenet121: { features: 1024, headName: 'classifier', torchvisionLinear: 'classifier', pipelineName: 'DenseNet121' },
  mnasnet1_0: { features: 1280, headName: 'classifier', torchvisionLinear: 'classifier.1', pipelineName: 'MNASNet' },
};

function conv(keys: KeyList, name: string, out: number, inPerGroup: number, k: number): void {
  keys.set(`${name}.weight`, { shape: [out, inPerGroup, k, k], dtype: 'f32' });
}

function bn(keys: KeyList, name: string, c: number): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) keys.set(`${name}.${p}`, { shape: [c], dtype: 'f32' });
  keys.set(`${name}.num_batches_tracked`, { shape: [], dtype: 'i64' });
}

function resnet(blocks: number[], bottleneck: boolean): KeyList {
  const keys: KeyList = new Map();
  const expansion = bottleneck ? 4 : 1;
  conv(keys, 'conv1', 64, 3, 7);
  bn(keys, 'bn1', 64);
  let inplanes = 64;
  blocks.forEach((n, i) => {
    const planes = 64 * 2 ** i;
    const stride = i === 0 ? 1 : 2;
    for (let b = 0; b < n; b++) {
      const p = `layer${i + 1}.${b}`;
      if (bottleneck) {
        conv(keys, `${p}.conv1`, planes, inplanes, 1);
        bn(keys, `${p}.bn1`, planes);
        conv(keys, `${p}.conv2`, planes, planes, 3);
        bn(keys, `${p}.bn2`, planes);
        conv(keys, `${p}.conv3`, planes * expansion, planes, 1);
        bn(keys, `${p}.bn3`, planes * expansion);
      } else {
        conv(keys, `${p}.conv1`, planes, inplanes, 3);
        bn(keys, `${p}.bn1`, planes);
        conv(keys, `${p}.conv2`, planes, planes, 3);
        bn(keys, `${p}.bn2`, planes);
      }
      if (b === 0 && (stride !== 1 || inplanes !== planes * expansion)) {
        conv(keys, `${p}.downsample.0`, planes * expansion, inplanes, 1);
        bn(keys, `${p}.downsample.1`, planes * expansion);
      }
      inplanes = planes * expansion;
    }
  });
  return keys;
}

function densenet(blocks: number[], growth: number, init: number, bnSize: number): KeyList {
  const keys: KeyList = new Map();
  conv(keys, 'features.conv0', init, 3, 7);
  bn(keys, 'features.norm0', init);
  let nf = init;
  blocks.forEach((n, i) => {
    for (let l = 1; l <= n; l++) {
      const p = `features.denseblock${i + 1}.denselayer${l}`;
      const cin = nf + (l - 1) * growth;
      bn(keys, `${p}.norm1`, cin);
      conv(keys, `${p}.conv1`, bnSize * growth, cin, 1);
      bn(keys, `${p}.norm2`, bnSize * growth);
      conv(keys, `${p}.conv2`, growth, bnSize * growth, 3);
    }
    nf += n * growth;
    if (i !== blocks.length - 1) {
      bn(keys, `features.transition${i + 1}.norm`, nf);
      conv(keys, `features.transition${i + 1}.conv`, nf / 2, nf, 1);
      nf /= 2;
    }
  });
  bn(keys, 'features.norm5', nf);
  return keys;
}

function mnasnet10(): KeyList {
  const keys: KeyList = new Map();
  const d = [32, 16, 24, 40, 80, 96, 192, 320];
  conv(keys, 'layers.0', d[0]!, 3, 3);
  bn(keys, 'layers.1', d[0]!);
  conv(keys, 'layers.3', d[0]!, 1, 3); // depthwise: groups = channels
  bn(keys, 'layers.4', d[0]!);
  conv(keys, 'layers.6', d[1]!, d[0]!, 1);
  bn(keys, 'layers.7', d[1]!);
  // _stack(in, out, kernel, stride, expansion, repeats)
  const stacks: [number, number, number, number][] = [
    [d[1]!, d[2]!, 3, 3],
    [d[2]!, d[3]!, 5, 3],
    [d[3]!, d[4]!, 5, 6],
    [d[4]!, d[5]!, 3, 6],
    [d[5]!, d[6]!, 5, 6],
    [d[6]!, d[7]!, 3, 6],
  ];
  const repeats = [3, 3, 3, 2, 4, 1];
  stacks.forEach(([cin0, cout, k, e], s) => {
    for (let r = 0; r < repeats[s]!; r++) {
      const p = `layers.${8 + s}.${r}.layers`;
      const cin = r === 0 ? cin0 : cout;
      const mid = cin * e;
      conv(keys, `${p}.0`, mid, cin, 1);
      bn(keys, `${p}.1`, mid);
      conv(keys, `${p}.3`, mid, 1, k);
      bn(keys, `${p}.4`, mid);
      conv(keys, `${p}.6`, cout, mid, 1);
      bn(keys, `${p}.7`, cout);
    }
  });
  conv(keys, 'layers.14', 1280, d[7]!, 1);
  bn(keys, 'layers.15', 1280);
  return keys;
}

const cache = new Map<Arch, KeyList>();

/** The backbone's keys (everything but the head), torchvision names, torchvision order. */
export function backboneKeys(arch: Arch): KeyList {
  let k = cache.get(arch);
  if (!k) {
    k =
      arch === 'resnet18'
        ? resnet([2, 2, 2, 2], false)
        : arch === 'resnet50'
          ? resnet([3, 4, 6, 3], true)
          : arch === 'densenet121'
            ? densenet([6, 12, 24, 16], 32, 64, 4)
            : mnasnet10();
    cache.set(arch, k);
  }
  return k;
}

export type HeadSpec =
  | { kind: 'none' }
  /** torchvision's classifier: fc / classifier / classifier.1 (mnasnet) */
  | { kind: 'linear'; outputs: number; prefix?: string }
  /** MoCo v2's projection: <head>.0 Linear(feat, hidden), <head>.2 Linear(hidden, dim) */
  | { kind: 'mlp'; dim: number; hidden?: number };

/** The head's keys for an arch in torchvision naming (MoCo naming for the MLP). */
export function headKeys(arch: Arch, head: HeadSpec): KeyList {
  const info = ARCH_INFO[arch];
  const keys: KeyList = new Map();
  const linear = (p: string, out: number, inp: number) => {
    keys.set(`${p}.weight`, { shape: [out, inp], dtype: 'f32' });
    keys.set(`${p}.bias`, { shape: [out], dtype: 'f32' });
  };
  if (head.kind === 'linear') linear(head.prefix ?? info.torchvisionLinear, head.outputs, info.features);
  else if (head.kind === 'mlp') {
    const hidden = head.hidden ?? info.features;
    linear(`${info.headName}.0`, hidden, info.features);
    linear(`${info.headName}.2`, head.dim, hidden);
  }
  return keys;
}

/** Backbone plus head: what model.state_dict() of the torchvision (or MoCo-headed) model holds. */
export function expectedKeys(arch: Arch, head: HeadSpec = { kind: 'none' }): KeyList {
  return new Map([...backboneKeys(arch), ...headKeys(arch, head)]);
}

/** True for the keys of the parameters (not the buffers) in a state dict, as model.parameters()
 *  enumerates them; BN running stats, num_batches_tracked and MoCo's queue are buffers. */
export function isParameterKey(name: string): boolean {
  return !/(^|\.)(running_mean|running_var|num_batches_tracked|queue|queue_ptr)$/.test(name);
}
