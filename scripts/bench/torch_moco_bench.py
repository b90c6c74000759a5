#!/usr/bin/python3
"""PyTorch's side of scripts/bench/moco.bench.ts: MoCo steps on the CPU with every core, timed.

usage: torch_moco_bench.py --arch resnet18 --batch 16 --K 24576 --sizes 64,128 --steps 5 --warmup 2
                           [--max-seconds 60] [--threads all,1]

The step is scripts/fixtures/moco_steps.py's mirror of MoCo-CXR (builder.py's MoCo with the MLP head,
main_moco.py's loss, accuracy, zero_grad, backward and Adam with coupled weight decay), on random NCHW
inputs made once, as the browser side times it. Each size runs with torch.set_num_threads(os.cpu_count())
('all') and then with each other thread count asked for: on a machine whose cores others are using, OpenMP's
threads wait for each other at every parallel region and a 2-thread step can take 20 times as long as a
1-thread one, so the caller can take PyTorch's best. Prints one JSON object:
  {torch, cpus, peakFlopsPerSecond,
   results: [{size, threads, warmupMs, stepMs, medianMs, imagesPerSecond, losses}]}
peakFlopsPerSecond is the best rate of a 2048 x 2048 torch.mm and of a 3x3 conv (16 x 256 x 32 x 32, 256 out),
so that PyTorch's MFU can be put beside ours. Both, because Debian's torch multiplies matrices with a generic
BLAS (about a quarter of what its oneDNN convs reach here), and a conv-only model should be measured against
the convs' peak.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
from moco_steps import MoCo, accuracy  # noqa: E402  (the mirror the parity tests check us against)


def bench(args, size):
    torch.manual_seed(0)
    model = MoCo(args.arch, 128, args.K, 0.999, 0.2)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-4, betas=(0.9, 0.999), weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    im_q = torch.randn(args.batch, 3, size, size)
    im_k = torch.randn(args.batch, 3, size, size)

    def step():
        t0 = time.perf_counter()
        output, target = model(im_q, im_k)
        loss = criterion(output, target)
        accuracy(output, target, topk=(1, 5))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss), (time.perf_counter() - t0) * 1000

    losses, warmup_ms, step_ms = [], [], []
    # as the browser side: warm-up steps, then timed ones, stop once max-seconds is spent (at least one of each)
    while len(warmup_ms) < max(1, args.warmup) and (not warmup_ms or sum(warmup_ms) < args.max_seconds * 1000):
        loss, ms = step()
        losses.append(loss)
        warmup_ms.append(ms)
    while len(step_ms) < max(1, args.steps) and (not step_ms or sum(step_ms) < args.max_seconds * 1000):
        loss, ms = step()
        losses.append(loss)
        step_ms.append(ms)
    med = statistics.median(step_ms)
    return {'size': size, 'warmupMs': warmup_ms, 'stepMs': step_ms, 'medianMs': med,
            'imagesPerSecond': args.batch / (med / 1000), 'losses': losses}


def best_rate(f, flops, reps=3):
    f()  # warm-up
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = max(best, flops / (time.perf_counter() - t0))
    return best


def peak():
    n = 2048
    a, b = torch.rand(n, n), torch.rand(n, n)
    x, w = torch.rand(16, 256, 32, 32), torch.rand(256, 256, 3, 3)
    with torch.no_grad():
        mm = best_rate(lambda: torch.mm(a, b), 2 * n ** 3)
        conv = best_rate(lambda: F.conv2d(x, w, padding=1), 2 * 16 * 256 * 32 * 32 * 256 * 9)
    return max(mm, conv)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--K', type=int, default=24576)
    p.add_argument('--sizes', default='64,128')
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--max-seconds', type=float, default=float('inf'))
    p.add_argument('--threads', default='all')
    args = p.parse_args()
    cpus = os.cpu_count() or 1
    counts = list(dict.fromkeys(cpus if t == 'all' else int(t) for t in args.threads.split(',')))
    results = []
    for size in (int(s) for s in args.sizes.split(',')):
        for threads in counts:
            torch.set_num_threads(threads)
            results.append({'threads': threads, **bench(args, size)})
    torch.set_num_threads(cpus)
    print(json.dumps({'torch': torch.__version__, 'cpus': cpus, 'peakFlopsPerSecond': peak(), 'results': results}))


if __name__ == '__main__':
    main()
