// Will an import fit? Checked before any pixel is written, against the browser's own estimate.

export interface StorageEstimateLike {
  estimate(): Promise<{ quota?: number; usage?: number }>;
}

export interface SpaceCheck {
  needBytes: number;
  availableBytes: number | null;
  fits: boolean;
  message: string;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(n < 10 * 2 ** 20 ? 1 : 0)} MB`;

export async function checkSpace(storage: StorageEstimateLike | undefined, needBytes: number): Promise<SpaceCheck> {
  if (!storage) return { needBytes, availableBytes: null, fits: true, message: `about ${mb(needBytes)} needed; this browser does not report free space` };
  const { quota, usage } = await storage.estimate();
  if (quota === undefined) return { needBytes, availableBytes: null, fits: true, message: `about ${mb(needBytes)} needed; free space unknown` };
  const available = Math.max(0, quota - (usage ?? 0));
  const fits = needBytes <= available;
  return {
    needBytes,
    availableBytes: available,
    fits,
    message: fits
      ? `about ${mb(needBytes)} needed, ${mb(available)} available`
      : `not enough browser storage: the import needs about ${mb(needBytes)} but only ${mb(available)} is available. Delete a dataset, import at a smaller size, or free disk space.`,
  };
}
