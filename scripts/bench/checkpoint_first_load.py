#!/usr/bin/python3
"""The first torch.load of a big file in a fresh process, after warming torch.load's code on a tiny
file (so imports and first-call costs are not counted). Prints seconds as JSON."""
import io, json, sys, time
import torch

torch.set_num_threads(1)
buf = io.BytesIO()
torch.save({'w': torch.zeros(4)}, buf)
torch.load(io.BytesIO(buf.getvalue()), map_location='cpu')
t0 = time.perf_counter()
obj = torch.load(sys.argv[1], map_location='cpu')
print(json.dumps(time.perf_counter() - t0))
