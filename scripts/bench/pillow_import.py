"""Reference for the import benchmark: Pillow decodes, converts to grey and resizes (shorter side to
SIDE, as torchvision's Resize(SIDE) does on PIL images) the same files in one process, plus the
thumbnail the app also makes. Prints images per second as JSON."""
import json, sys, time
from PIL import Image

side, thumb, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]

def resize_shorter(im, s):
    w, h = im.size
    if w <= h:
        return im.resize((s, int(s * h / w)), Image.BILINEAR)
    return im.resize((int(s * w / h), s), Image.BILINEAR)

def one(p):
    im = Image.open(p).convert('L')
    small = resize_shorter(im, side)
    t = small.copy()
    t.thumbnail((thumb, thumb), Image.BILINEAR)
    return small.tobytes(), t.tobytes()

for p in files[:3]:
    one(p)  # warm-up: imports and caches, as the browser has loaded its code before
t0 = time.perf_counter()
for p in files:
    one(p)
secs = time.perf_counter() - t0
print(json.dumps({"images": len(files), "seconds": secs, "imagesPerSecond": len(files) / secs}))
