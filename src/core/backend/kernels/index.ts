// The app's own tfjs kernels: the Conv2DBackpropFilter replacement and the fused Adam update, for every
// backend the app runs on. Registration is idempotent and cheap (a registry lookup when done), so callers
// may repeat it: initBackend does after choosing a backend, and the models and the optimizer do before use,
// which also covers a backend package imported after the last registration (its import puts its stock
// kernels back).
import { ADAM_BACKENDS, adamRegistered, registerAdam } from './adam.ts';
import { CONV_BACKENDS, conv2dBackpropFilterRegistered, registerConv2dBackpropFilter } from './conv2d-backprop-filter.ts';

export { adamUpdate, ADAM_UPDATE } from './adam.ts';
export { CONV2D_BACKPROP_FILTER, stockConv2dBackpropFilter } from './conv2d-backprop-filter.ts';

const ALL = new Set<string>([...CONV_BACKENDS, ...ADAM_BACKENDS]);

/** Registers our kernels for `backendName`, or for every backend we have kernels for. Unknown names: nothing. */
export function registerAppKernels(backendName?: string): void {
  for (const name of backendName === undefined ? ALL : [backendName]) {
    if ((CONV_BACKENDS as readonly string[]).includes(name)) registerConv2dBackpropFilter(name);
    if ((ADAM_BACKENDS as readonly string[]).includes(name)) registerAdam(name);
  }
}

/** Which of our kernels the live registry holds for `backendName`. */
export function appKernelStatus(backendName: string): { Conv2DBackpropFilter: boolean; MocoCxrAdamUpdate: boolean } {
  return { Conv2DBackpropFilter: conv2dBackpropFilterRegistered(backendName), MocoCxrAdamUpdate: adamRegistered(backendName) };
}

/** True when every kernel of ours is what tfjs will run on `backendName`. */
export function appKernelsRegistered(backendName: string): boolean {
  return Object.values(appKernelStatus(backendName)).every(Boolean);
}
