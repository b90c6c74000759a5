// Idempotent replacement of tfjs kernels, keeping the stock kernel each one replaces so that ours can
// hand it what it does not cover, and so that tests and diagnostics can compare the two.
//
// tf.registerKernel only warns and overwrites when a kernel exists, and a backend package imported after
// our registration (its register_all_kernels runs at import) silently puts its stock kernel back. So
// "is ours registered" is always answered from the live registry, never from a flag of our own.
import * as tf from '@tensorflow/tfjs';

/** backend -> kernel name -> the stock kernel we replaced (null: the backend had none). */
const stock = new Map<string, Map<string, tf.KernelConfig | null>>();

/** Registers `kernelFunc` as `kernelName` on `backendName` unless it already is; returns true if it did now. */
export function replaceKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): boolean {
  const current = tf.getKernel(kernelName, backendName);
  if (current?.kernelFunc === kernelFunc) return false;
  let saved = stock.get(backendName);
  if (!saved) stock.set(backendName, (saved = new Map()));
  saved.set(kernelName, current ?? null);
  if (current) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
  return true;
}

/** Whether the live registry holds `kernelFunc` as `kernelName` on `backendName`. */
export function isRegistered(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): boolean {
  return tf.getKernel(kernelName, backendName)?.kernelFunc === kernelFunc;
}

/**
 * The kernel tfjs itself registered as `kernelName` on `backendName`: the one we replaced, or the live one
 * if we have not replaced it (null if the backend has none). `ours` tells the two apart.
 */
export function stockKernel(kernelName: string, backendName: string, ours: tf.KernelFunc): tf.KernelConfig | null {
  const live = tf.getKernel(kernelName, backendName);
  if (live && live.kernelFunc !== ours) return live;
  return stock.get(backendName)?.get(kernelName) ?? null;
}

/**
 * A Tensor view of a kernel input, for kernels built from tf ops. Inputs reached through tf ops are Tensors
 * already; a bare TensorInfo (a backend calling a kernel directly) gets its own reference, so that
 * disposing the view never frees the caller's data. Call `release` when done.
 */
export function asTensor(info: tf.TensorInfo, backend: tf.KernelBackend): { t: tf.Tensor; release: () => void } {
  if (info instanceof tf.Tensor) return { t: info, release: () => undefined };
  backend.incRef(info.dataId);
  const t = tf.engine().makeTensorFromTensorInfo(info, backend);
  return { t, release: () => t.dispose() };
}

/**
 * Hands a tensor computed from tf ops inside a kernel to the engine as the kernel's output: the engine
 * wraps the returned TensorInfo in a new Tensor without taking a reference of its own, so the data gets
 * one more backend reference before the temporary Tensor is disposed.
 */
export function handOff(t: tf.Tensor, backend: tf.KernelBackend): tf.TensorInfo {
  backend.incRef(t.dataId);
  const info: tf.TensorInfo = { dataId: t.dataId, shape: t.shape.slice(), dtype: t.dtype };
  t.dispose();
  return info;
}
