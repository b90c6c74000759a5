#!/usr/bin/env bash
# Makes sure the Debian packages the tests need are present.
# As root it installs what is missing with apt-get; otherwise it names what is missing and stops.
set -euo pipefail

PY=/usr/bin/python3
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
py_has() { [ -x "$PY" ] && "$PY" -c "import $1" >/dev/null 2>&1; }
py_has torch || missing+=(python3-torch)
py_has torchvision || missing+=(python3-torchvision)
py_has sklearn || missing+=(python3-sklearn)
py_has PIL || missing+=(python3-pil)
py_has numpy || missing+=(python3-numpy)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing Debian packages: ${missing[*]}" >&2
  echo "setup-system: install them as root with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "setup-system: installing ${missing[*]} with apt-get (needed by the tests)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: done" >&2
