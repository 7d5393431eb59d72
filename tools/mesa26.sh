#!/usr/bin/env bash
# Runs a command against Mesa >= 26 lavapipe, which implements VK_KHR_cooperative_matrix: dawn.node then offers
# `chromium-experimental-subgroup-matrix` (with allow_unsafe_apis), so the subgroup-matrix kernels can be
# tested without a GPU. Debian 12 ships Mesa 25 at most, so this builds, once, a Debian 13 (trixie) root with
# Mesa from trixie-backports and trixie's Node, and runs COMMAND inside it with the project bind-mounted at
# the same path (node_modules and dist built outside work inside: dawn.node is a self-contained binary).
#
#   tools/mesa26.sh [--root DIR] [--check] -- COMMAND...
#
# --check only says whether the root exists and has Mesa >= 26 (exit 0) or not (exit 1), building nothing.
# Needs root (debootstrap, chroot, bind mounts) and the Debian mirror this machine's apt already uses.
set -euo pipefail
root=${MESA26_ROOT:-/var/cache/msvsr-mesa26/trixie}
check=
while [[ $# -gt 0 ]]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --check) check=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done

have_root() {
  [[ -x $root/usr/bin/node ]] && ls "$root"/usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 &&
    grep -qE '^Version: (2[6-9]|[3-9][0-9])\.' <(chroot "$root" dpkg -s mesa-vulkan-drivers 2>/dev/null)
}

if [[ -n $check ]]; then have_root; exit; fi
(( $# )) || { echo "usage: tools/mesa26.sh [--root DIR] [--check] -- COMMAND..." >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "tools/mesa26.sh: needs root (debootstrap, chroot, mount)" >&2; exit 2; }

# The machine's own Debian mirror: the first URIs: of a deb822 source, else the first deb line.
mirror=$(awk 'tolower($1) == "uris:" { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[[ -n $mirror ]] || mirror=$(awk '$1 == "deb" { sub(/^deb[ \t]+(\[[^]]*\][ \t]+)?/, ""); print $1; exit }' /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

if ! have_root; then
  export DEBIAN_FRONTEND=noninteractive
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  log=$(mktemp)
  rm -rf "$root.new"
  mkdir -p "$(dirname "$root")"
  echo "tools/mesa26.sh: building a Debian 13 root with Mesa 26 lavapipe in $root (a few minutes, once)" >&2
  debootstrap --variant=minbase --include=ca-certificates trixie "$root.new" "$mirror" >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
  printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$mirror" "$mirror" >"$root.new/etc/apt/sources.list"
  chroot "$root.new" bash -c 'apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends -t trixie-backports mesa-vulkan-drivers &&
    apt-get install -y -qq --no-install-recommends nodejs libvulkan1' >"$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
  rm -rf "$root"
  mv "$root.new" "$root"
  have_root || { echo "tools/mesa26.sh: the root was built but has no Mesa >= 26 lavapipe" >&2; exit 1; }
fi

# Test runners (vitest's workers) resolve localhost; a debootstrap root has no /etc/hosts entry for it.
grep -qs '^127\.0\.0\.1[[:space:]].*localhost' "$root/etc/hosts" || printf '127.0.0.1 localhost\n::1 localhost\n' >>"$root/etc/hosts"

here=$PWD
mounted=()
undo() { for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done; }
trap undo EXIT
bind() {
  mountpoint -q "$root$2" && return
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounted+=("$root$2")
}
mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc"; mounted+=("$root/proc"); }
bind /dev /dev
bind "$here" "$here"
chroot "$root" env XDG_RUNTIME_DIR=/tmp HOME=/root PATH=/usr/local/bin:/usr/bin:/bin MSVSR_MESA26=1 bash -c "cd $(printf %q "$here") && $(printf '%q ' "$@")"
