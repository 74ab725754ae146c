#!/usr/bin/env bash
# Everything a fresh machine (Debian 12, Node 20, root) needs beyond the repository itself. Idempotent: a second
# run only checks. Called by environment/main.sh, environment/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages named in environment/apt-packages.txt (one per line, '#' comments).
mapfile -t want < <(sed -e 's/#.*//' -e '/^\s*$/d' environment/apt-packages.txt)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages, as locked. Re-installed only when package-lock.json changed since the last install.
# `npm install --no-save` rather than `npm ci`: nodejs-polars 0.26.1 names optional per-platform binaries that were
# never published (android/arm64/win32), which npm leaves out of the lock file and `npm ci` then refuses as
# "out of sync". `npm install` installs the locked versions and skips them.
stamp=node_modules/.mmctr-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "installing npm packages (npm install, locked versions)"
  npm install --no-save --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# 3. The native kernels (native/: C++ against OpenBLAS, the `native` backend). Fast no-op when up to date; when the
# toolchain or OpenBLAS is missing it says so and the project runs on plain wasm.
node native/build.mjs

# 4. Mesa's software Vulkan (lavapipe, Mesa 25 from bookworm-backports) unpacked into .gpu/mesa, so the `webgpu`
# backend has an adapter on machines without a GPU and its tests run (CI included). Nothing of the system changes.
bash environment/mesa.sh

# 5. The project's Jupyter kernel "mmctr (TypeScript)" (tslab, started in the repository root) in .jupyter/, found
# through JUPYTER_PATH by `mmctr notebooks` and the notebook UI test; nothing global.
bash environment/jupyter.sh
