// Parity of mnasnet1_0 with torchvision 0.14 on the cpu backend (fixtures: scripts/fixtures/torch_models.py).
import { describe, it } from 'vitest';
import { expectParity, runParity } from './parity.testutil.ts';

describe('mnasnet1_0 vs torchvision', () => {
  it('eval logits, train logits, running stats and gradients match; memory returns', async () => {
    expectParity(await runParity('mnasnet1_0'));
  }, 300_000);
});
