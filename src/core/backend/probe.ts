// What GPU the browser offers, as plain data the UI can show and a worker can post.

/** Limits that decide what fits (batch size, image size) and how kernels are tiled. */
export const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export interface GpuAdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software implementation (SwiftShader, WARP, lavapipe): correct but slow. */
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<(typeof KEY_LIMITS)[number], number>;
  /** The adapter info as plain fields, for tfjs. */
  info: { vendor: string; architecture: string; device: string; description: string };
}

export interface GlRendererReport {
  vendor: string;
  renderer: string;
  /** True when the renderer is a CPU rasteriser (SwiftShader, llvmpipe). */
  software: boolean;
}

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|lavapipe|software|microsoft basic render/i;

export async function probeWebGpu(): Promise<{ adapter: GPUAdapter | null; report: GpuAdapterReport | null; error?: string }> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { adapter: null, report: null, error: 'navigator.gpu is not available in this browser or context' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { adapter: null, report: null, error: `requestAdapter failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!adapter) return { adapter: null, report: null, error: 'no WebGPU adapter (requestAdapter returned null)' };
  // Chrome moved isFallbackAdapter from the adapter to adapter.info; read both.
  const a = adapter as GPUAdapter & { isFallbackAdapter?: boolean; info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } };
  const info = a.info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const isFallbackAdapter =
    Boolean(info?.isFallbackAdapter ?? a.isFallbackAdapter) || SOFTWARE_RENDERER.test(`${vendor} ${architecture} ${description}`);
  const limits = {} as GpuAdapterReport['limits'];
  for (const k of KEY_LIMITS) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k] ?? 0);
  return {
    adapter,
    report: {
      vendor,
      architecture,
      device,
      description,
      isFallbackAdapter,
      features: [...adapter.features].map(String).sort(),
      limits,
      info: { vendor, architecture, device, description },
    },
  };
}

export function probeWebGl(): GlRendererReport | null {
  try {
    if (typeof OffscreenCanvas === 'undefined') return null;
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2') as WebGL2RenderingContext | null;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const vendor = String(ext ? gl.getParameter(ext.UNMASKED_VENDOR_WEBGL) : gl.getParameter(gl.VENDOR));
    const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return { vendor, renderer, software: SOFTWARE_RENDERER.test(renderer) };
  } catch {
    return null;
  }
}
