// Backend names without tfjs, so the page can list them without bundling TensorFlow.js.
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendPreference = BackendName | 'auto';
