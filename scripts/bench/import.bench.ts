// Import throughput in headless Chromium (decode, grey, resize to 320, thumbnail, store in IndexedDB)
// against Pillow doing the decode and resize of the same files in one Python process.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { PYTHON, REPO_ROOT, SHARED_DATA } from '../fixtures/ensure.ts';
import type { BenchResult } from './main.ts';

const COPIES = 16;
const PORT = 4179;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The shared NIH and Shenzhen images (masks excluded), each COPIES times under Shenzhen-style names. */
function benchFolder(): { dir: string; files: string[]; sources: number } {
  const sources = [...walk(join(SHARED_DATA, 'nih')), ...walk(join(SHARED_DATA, 'shenzhen'))].filter(
    (p) => p.endsWith('.png') && !/mask/i.test(p),
  );
  const dir = join(REPO_ROOT, 'fixtures-generated', 'bench-import', 'bench-import');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'CXR_png'), { recursive: true });
  const files: string[] = [];
  let id = 1;
  for (let c = 0; c < COPIES; c++)
    for (const src of sources) {
      const dst = join(dir, 'CXR_png', `CHNCXR_${String(id++).padStart(4, '0')}_0.png`);
      copyFileSync(src, dst);
      files.push(dst);
    }
  return { dir, files, sources: sources.length };
}

async function chromiumImport(dir: string): Promise<{ images: number; seconds: number }> {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], { cwd: REPO_ROOT, stdio: 'ignore', detached: true });
  try {
    await new Promise((r) => setTimeout(r, 2500));
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--enable-unsafe-webgpu', '--disable-background-networking'] });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.getByLabel('Choose folder').setInputFiles(dir);
    const result = page.getByTestId('import-result');
    await result.waitFor({ timeout: 600_000 });
    const text = (await result.textContent()) ?? '';
    await browser.close();
    const stored = Number(/(\d+) stored/.exec(text)?.[1]);
    const seconds = Number(/· ([\d.]+) s \(/.exec(text)?.[1]);
    console.error(`import: ${text}`);
    if (!(stored > 0 && seconds > 0)) throw new Error(`could not read the import result: ${text}`);
    return { images: stored, seconds };
  } finally {
    if (server.pid) process.kill(-server.pid);
  }
}

export async function run(): Promise<BenchResult[]> {
  const { dir, files, sources } = benchFolder();
  const ours = await chromiumImport(dir);
  const pillow = JSON.parse(execFileSync(PYTHON, [join(REPO_ROOT, 'scripts/bench/pillow_import.py'), '320', '96', ...files], { encoding: 'utf8' })) as {
    imagesPerSecond: number;
  };
  const value = ours.images / ours.seconds;
  return [
    {
      name: `import ${files.length} PNGs (${sources} shared NIH + Shenzhen files x${COPIES}) in headless Chromium: decode, grey, resize 320, thumbnail, IndexedDB`,
      unit: 'images/s',
      value,
      reference: { name: 'Pillow 9.4 decode + convert(L) + resize, one process', value: pillow.imagesPerSecond },
      ratio: value / pillow.imagesPerSecond,
      goal: 1,
    },
  ];
}
