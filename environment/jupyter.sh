#!/usr/bin/env bash
# The project's Jupyter kernel "mmctr (TypeScript)": tslab started from the repository root, so that notebooks in
# notebooks/ can import ../src/*.ts (tslab compiles relative .ts imports only inside its working folder).
#
# Written under the project, never globally: <root>/.jupyter/kernels/mmctr-ts/kernel.json. Every command the project
# runs (npm run notebooks, the UI test) sets JUPYTER_PATH=<root>/.jupyter. By hand:
#   JUPYTER_PATH=$PWD/.jupyter /usr/bin/python3 -m jupyter kernelspec list
# Idempotent: the file is rewritten only when its content would change. Called by environment/setup.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.jupyter/kernels/mmctr-ts"
log() { printf '[jupyter] %s\n' "$*" >&2; }

# Debian's Jupyter lives on /usr/bin/python3 (a python3 earlier on PATH, e.g. pyenv's, may have none).
if ! /usr/bin/python3 -c 'import jupyter_client, nbclient' 2>/dev/null; then
  log "warning: /usr/bin/python3 has no jupyter_client/nbclient (Debian: jupyter-client python3-nbclient); the kernelspec is written anyway"
fi
if [ ! -x "$root/node_modules/.bin/tslab" ]; then
  log "warning: node_modules/.bin/tslab is missing (npm install); the kernel will not start until it is there"
fi

# argv: cd to the root (argv[0] of `sh -c` is the connection file, passed as "$0"), then exec tslab's kernel under
# node with src/notebooks/tslabPreload.cjs (it lets tslab load directory imports such as './layers').
want=$(ROOT="$root" node -e '
  const root = process.env.ROOT;
  const spec = {
    argv: ["/bin/sh", "-c", `cd "${root}" && exec node --require ./src/notebooks/tslabPreload.cjs node_modules/tslab/bin/tslab kernel --config-path "$0"`, "{connection_file}"],
    display_name: "mmctr (TypeScript)",
    language: "typescript",
    env: { MMCTR_PROGRESS: "0" },
    metadata: { mmctr: { root: "repository root; written by environment/jupyter.sh" } },
  };
  process.stdout.write(JSON.stringify(spec, null, 2) + "\n");
')
mkdir -p "$dir"
if [ -f "$dir/kernel.json" ] && [ "$(cat "$dir/kernel.json")" = "$want" ]; then
  exit 0
fi
printf '%s\n' "$want" > "$dir/kernel.json"
log "kernelspec mmctr-ts written: $dir/kernel.json"
