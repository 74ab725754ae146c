#!/usr/bin/env bash
# Mesa's software Vulkan driver (lavapipe) for the `webgpu` backend on machines without a GPU (CI, this machine):
# Dawn (npm `webgpu`) then finds an adapter named `llvmpipe` and the webgpu tests run the real WGSL kernels.
#
# Debian 12's own Mesa (22.3) is too old for Dawn (requestAdapter() returns null); bookworm-backports has Mesa 25.
# Nothing of the system changes: the backports index goes to a private apt state (.gpu/apt), the packages apt would
# install or upgrade (mesa-vulkan-drivers, libdrm2, libdrm-amdgpu1, the Vulkan loader libvulkan1, and whatever
# else this machine lacks, e.g. libLLVM-15) are downloaded and unpacked with `dpkg -x` into .gpu/mesa/root, and
# .gpu/mesa/lvp_icd.json names the driver by absolute path. src/engine/webgpu.ts finds that folder and loads the
# libraries itself; .gpu/mesa/env.sh exports VK_DRIVER_FILES + LD_LIBRARY_PATH for other programs.
#
# Idempotent: a second run only checks the stamp. `--force` reinstalls. Environment: MMCTR_MESA_DIR (default
# .gpu/mesa), MMCTR_DEBIAN_MIRROR (default: the machine's Debian mirror, else http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

log() { printf '[mesa] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

force=0
[ "${1:-}" = "--force" ] && force=1

mesa_dir=${MMCTR_MESA_DIR:-$root_dir/.gpu/mesa}
apt_dir=$(dirname "$mesa_dir")/apt
stamp=$mesa_dir/stamp
icd=$mesa_dir/lvp_icd.json

if [ "$force" = 0 ] && [ -f "$stamp" ] && [ -f "$icd" ]; then
  log "lavapipe present: $(cat "$stamp") ($mesa_dir)"
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (Debian); the webgpu backend stays unavailable without a Vulkan driver"
. /etc/os-release
codename=${VERSION_CODENAME:-}
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"

# The mirror the machine already uses for Debian itself (deb822 `URIs:` or one-line `deb` entries).
mirror=${MMCTR_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

t0=$(date +%s)
rm -rf "$mesa_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$mesa_dir/root"
printf 'deb %s %s main\ndeb %s %s-backports main\n' "$mirror" "$codename" "$mirror" "$codename" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Debug::NoLocking=1"
  -q
)
# As root, apt drops to the `_apt` user for downloads, which cannot write into this folder.
[ "$(id -u)" = 0 ] && apt_opts+=(-o "APT::Sandbox::User=root")

log "indexing $codename + $codename-backports from $mirror (private apt state: $apt_dir)"
apt-get "${apt_opts[@]}" update >/dev/null || die "apt-get update of $mirror failed"

# What apt would install or upgrade on this machine for Mesa from backports + the Vulkan loader: exactly what the
# system lacks (or has too old). Lines look like `Inst libdrm2 [2.4.114-1+b1] (2.4.123-1~bpo12+1 Debian ...)`.
plan=$(apt-get "${apt_opts[@]}" -s install --no-install-recommends \
  "mesa-vulkan-drivers/$codename-backports" libvulkan1 2>&1) || die "apt cannot resolve mesa-vulkan-drivers from $codename-backports: $(printf '%s' "$plan" | grep '^E:' | head -3)"
mapfile -t pkgs < <(printf '%s\n' "$plan" | awk '/^Inst /{v=$3; if (v ~ /^\[/) v=$4; gsub(/[()]/, "", v); print $2 "=" v}')
((${#pkgs[@]})) || die "apt plans no packages (is mesa-vulkan-drivers already installed from backports?)"
log "downloading ${#pkgs[@]} packages: ${pkgs[*]}"
(cd "$apt_dir/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "${pkgs[@]}" >/dev/null) || die "apt-get download failed"
for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$mesa_dir/root"; done

# Only lavapipe is wanted: the hardware drivers and layers of the same package go (≈ 40 MB).
find "$mesa_dir/root" \( -name 'libvulkan_*.so' ! -name 'libvulkan_lvp.so' \) -delete
find "$mesa_dir/root" -name 'libVkLayer_*' -delete
lvp=$(find "$mesa_dir/root" -name 'libvulkan_lvp.so' | head -1)
[ -n "$lvp" ] || die "mesa-vulkan-drivers unpacked without libvulkan_lvp.so"
libdir=$(dirname "$lvp")
# The package's ICD file names the driver by bare file name (found through the system's library path): point at ours.
api=$(grep -o '"api_version": *"[^"]*"' "$mesa_dir/root/usr/share/vulkan/icd.d/lvp_icd.json" | head -1)
cat >"$icd" <<EOF
{
    "file_format_version": "1.0.0",
    "ICD": {
        ${api:-\"api_version\": \"1.3.0\"},
        "library_path": "$lvp"
    }
}
EOF
cat >"$mesa_dir/env.sh" <<EOF
# Source this to let any Vulkan program (vulkaninfo, a Dawn build) use the project's lavapipe. mmctr itself does not
# need it: src/engine/webgpu.ts loads these libraries in-process.
export VK_DRIVER_FILES="$icd"
export LD_LIBRARY_PATH="$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
EOF
# The libraries the engine preloads (soname links in the unpacked lib folder): this file's presence marks the folder.
(cd "$libdir" && ls | grep -E '\.so\.[0-9]+$' | grep -v -E '^libVkLayer' >"$mesa_dir/preload.txt") || true
printf '%s\n' "$libdir" >"$mesa_dir/libdir"
mesa_version=$(printf '%s\n' "${pkgs[@]}" | grep '^mesa-vulkan-drivers=' | cut -d= -f2)
printf 'mesa-vulkan-drivers %s, %d packages, %s\n' "$mesa_version" "${#pkgs[@]}" "$(date -u +%F)" >"$stamp"
rm -rf "$apt_dir"
log "installed lavapipe (Mesa $mesa_version) into $mesa_dir in $(($(date +%s) - t0)) s"

# Check that Dawn finds the adapter (when the npm packages are there).
if [ -d node_modules/webgpu ] && [ -d node_modules/tsx ]; then
  node --import tsx -e '
    import("./src/engine/webgpu.ts").then(async (m) => {
      const p = await m.probeWebGpu();
      console.error(`[mesa] Dawn adapter: ${p.adapter ? m.describeAdapter(p.adapter) : "none (" + p.reason + ")"}`);
      process.exit(p.adapter ? 0 : 1);
    });' || die "Dawn found no adapter through $icd"
fi
