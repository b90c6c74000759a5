// Where a profiled MoCo step's time went (for scripts/bench/moco.bench.ts): the slowest kernels by name
// with their share and the GFLOP/s they reached, then the slowest single calls with their shapes.
import type { MocoBenchOutput, MocoBenchProfile } from '../../workers/train/bench-diagnostics.ts';

const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
const giga = (x: number) => (x / 1e9).toFixed(2);

/** One line: step times, images/s, FLOP/s, the peak and MFU, tensors and memory. */
export function describeRun(backend: string, o: MocoBenchOutput): string {
  const p = o.peakFlops.best;
  const bySize = new Map<number, number>();
  for (const t of o.peakFlops.trials) bySize.set(t.n, Math.max(bySize.get(t.n) ?? 0, t.flopsPerSecond));
  const sizes = [...bySize].map(([n, f]) => `${n}: ${giga(f)}`).join(', ');
  return (
    `${backend} ${o.input.size} px: steps ${ms(o.stepMs)} ms (warm-up ${ms(o.warmupMs)}), ${o.imagesPerSecond.toFixed(2)} images/s, ` +
    `${giga(o.flops.total)} GFLOP/step, ${giga(o.achievedFlopsPerSecond)} GFLOP/s; matmul peak ${giga(o.peakFlops.flopsPerSecond)} GFLOP/s ` +
    `(${p.n}x${p.n}, ${p.matmuls} per rep; best per size ${sizes}); MFU ${(o.mfu * 100).toFixed(1)} %; tensors ${o.numTensorsBefore} -> ${o.numTensorsAfter}; ` +
    `${(o.bytesInUse / 2 ** 20).toFixed(0)} MiB in use`
  );
}

const TOP_KERNELS = 12;
const TOP_CALLS = 8;

export function printProfile(label: string, p: MocoBenchProfile): void {
  const log = (s: string) => console.error(`  ${s}`);
  log(`profile ${label}: one step ${p.wallMs.toFixed(0)} ms wall under tf.profile, kernels ${p.kernelMs.toFixed(0)} ms, ${(p.kernelFlops / 1e9).toFixed(2)} GFLOP done by conv/matmul kernels`);
  if (p.kernelMs === 0) {
    log('  (the backend gave no kernel times: on webgpu that needs the timestamp-query feature)');
    return;
  }
  log(`  ${'kernel'.padEnd(36)} ${'calls'.padStart(6)} ${'ms'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP/s'.padStart(8)}`);
  for (const k of p.kernels.slice(0, TOP_KERNELS)) {
    const rate = k.flops > 0 && k.ms > 0 ? (k.flops / (k.ms / 1000) / 1e9).toFixed(2) : '';
    log(`  ${k.name.padEnd(36)} ${String(k.calls).padStart(6)} ${k.ms.toFixed(1).padStart(9)} ${((k.ms / p.kernelMs) * 100).toFixed(1).padStart(5)}% ${rate.padStart(8)}`);
  }
  log('  slowest calls:');
  for (const c of p.slowest.slice(0, TOP_CALLS)) {
    const shapes = c.inputShapes.map((s) => (s ? `[${s.join(',')}]` : '-')).join(' ');
    const rate = c.flops > 0 && c.ms > 0 ? `, ${(c.flops / (c.ms / 1000) / 1e9).toFixed(2)} GFLOP/s` : '';
    log(`    ${c.name} ${shapes} -> [${c.outputShapes[0]?.join(',') ?? ''}]: ${c.ms.toFixed(1)} ms${rate}`);
  }
}
