// User settings kept in localStorage (small, synchronous, per origin).
import type { BackendPreference } from '../../core/backend/names.ts';

const KEY = 'moco-cxr:backend';

export function loadBackendPreference(): BackendPreference {
  const v = localStorage.getItem(KEY);
  return v === 'webgpu' || v === 'webgl' || v === 'wasm' || v === 'cpu' ? v : 'auto';
}

export function saveBackendPreference(p: BackendPreference): void {
  localStorage.setItem(KEY, p);
}
