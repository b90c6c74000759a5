// What a cluster bundle's scripts run: MoCo-CXR's own code at the commit the reference was written from,
// and the Python packages to run it with.

export const MOCO_CXR_REPOSITORY = 'https://github.com/stanfordmlgroup/MoCo-CXR';
/** REFERENCE-moco-cxr.md's snapshot (2022-01-09), the repository's last commit. */
export const MOCO_CXR_COMMIT = 'd433acabe6518b332a1345a6a1fed49f0c23c253';

/** Paths inside the checkout. */
export const MAIN_MOCO_PATH = 'moco_pretraining/moco/main_moco.py';
export const STORAGE_UTIL_PATH = 'moco_pretraining/moco/aihc_utils/storage_util.py';
export const PIPELINE_PATH = 'chexpert_supervised/chexpert-model';

/**
 * A setting of ours the original has no flag for, or takes differently: the bundle's README lists them and
 * the scripts repeat them in comments, rather than pretending the run is the same.
 */
export interface HandoffNote {
  /** the setting, as the app names it */
  setting: string;
  /** what the app did */
  app: string;
  /** what the original does with the generated scripts */
  original: string;
}

/**
 * Package versions to install. The original pins torch 1.4 / torchvision 0.5 / Python 3.7
 * (chexpert_supervised/environment.yml), but torch 1.4 cannot read the zip checkpoints torch >= 1.6 (and
 * this app) write, and torchrun needs torch >= 1.10. torch 1.13.1 / torchvision 0.14.1 are the versions the
 * app's interop tests load its checkpoints with (Debian 12's python3-torch); the rest are releases of the
 * same period that the pipeline's imports need (pandas, scikit-learn, scipy, cv2, matplotlib, tensorboardX,
 * pretrainedmodels for the Cadene ResNets).
 */
export const PACKAGES: readonly { name: string; version: string; why: string }[] = [
  { name: 'python', version: '3.10', why: 'torch 1.13 wheels exist for Python 3.7 to 3.10' },
  { name: 'torch', version: '1.13.1', why: 'reads zip checkpoints; torchrun; what the app is tested against' },
  { name: 'torchvision', version: '0.14.1', why: 'matches torch 1.13.1; ImageFolder, transforms, model definitions' },
  { name: 'numpy', version: '1.24.4', why: 'torch 1.13 is built against numpy 1.x' },
  { name: 'pandas', version: '1.5.3', why: 'the pipeline reads and writes its CSVs with pandas' },
  { name: 'scikit-learn', version: '1.2.2', why: 'roc_auc_score in the pipeline and select_ensemble.py' },
  { name: 'scipy', version: '1.10.1', why: 'imported by util/image_util.py' },
  { name: 'pillow', version: '9.4.0', why: 'image loading; the app matches Pillow 9.4 bit for bit' },
  { name: 'opencv-python-headless', version: '4.7.0.72', why: 'cv2 is imported by the pipeline' },
  { name: 'matplotlib', version: '3.6.3', why: 'imported by util/image_util.py' },
  { name: 'tensorboardX', version: '2.6', why: 'the pipeline logger writes TensorBoard summaries' },
  { name: 'pretrainedmodels', version: '0.7.4', why: 'the pipeline builds ResNet-18/50 from Cadene pretrainedmodels' },
  { name: 'tqdm', version: '4.64.1', why: 'progress bars' },
];

export function pipInstallLine(): string {
  return `pip install ${PACKAGES.filter((p) => p.name !== 'python')
    .map((p) => `${p.name}==${p.version}`)
    .join(' ')}`;
}
