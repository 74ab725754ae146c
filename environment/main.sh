#!/usr/bin/env bash
# Quick start, command 1: set up, then run the main job on the embedded default data (data/small, generated on
# first use). Extra arguments go to `mmctr main` (see `npx mmctr main --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash environment/setup.sh
exec node bin/mmctr.mjs main "$@"
