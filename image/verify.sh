#!/usr/bin/env bash
# Checks the image's root filesystem as the manifests run it: uid 65532, read-only root.
#   image/verify.sh ROOTFS_DIR | IMAGE.tar
# A tarball's layer is unpacked into a temporary directory first. Checks that both entry
# points answer --help; that importing them compiles nothing (every .pyc is there and
# valid); that there is no compiler, no -dev package and no pip. Needs root (chroot,
# mount). Prints what it checked on stdout; exits non-zero on the first failure.
set -euo pipefail

log() { echo "image/verify: $*"; }
fail() { echo "image/verify: FAILED: $*" >&2; exit 1; }
(($# == 1)) || { echo "usage: image/verify.sh ROOTFS_DIR | IMAGE.tar" >&2; exit 2; }
[[ $(id -u) == 0 ]] || fail "needs root (chroot, mount)"

tmp=$(mktemp -d)
ro=$tmp/ro
cleanup() {
  if mountpoint -q "$ro"; then umount "$ro"; fi
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

if [[ -d $1 ]]; then
  root=$1
else
  root=$tmp/rootfs
  mkdir "$root"
  layers=$(tar -xOf "$1" manifest.json | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)[0]["Layers"]))')
  for layer in $layers; do tar -xOf "$1" "$layer" | tar -C "$root" --numeric-owner -xpf -; done
  log "unpacked $1: $(du -s --apparent-size --block-size=1M "$root" | cut -f1) MiB"
fi

# The root, read-only, as readOnlyRootFilesystem gives it.
mkdir "$ro"
mount --bind "$root" "$ro"
mount -o remount,bind,ro "$ro"
run() {  # run CMD...: as the manifests' uid, with the image's environment
  chroot --userspec=65532:65532 "$ro" /usr/bin/env -i \
    PATH=/opt/dlws/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 "$@"
}

for entry in dlws-operator dlws-api-shim; do
  run "$entry" --help >/dev/null || fail "$entry --help"
  # -v names every module compiled from source ("code object from /x.py") rather than
  # loaded from its .pyc ("code object from '/x.pyc'").
  verbose=$(run python -v "/opt/dlws/bin/$entry" --help 2>&1 >/dev/null)
  compiled=$(sed -n "s/^# code object from \([^']\)/\1/p" <<<"$verbose")
  [[ -z $compiled ]] || fail "$entry compiles at start: $compiled"
  loaded=$(grep -c "^# code object from '" <<<"$verbose" || true)
  ((loaded > 100)) || fail "$entry: python -v names only $loaded modules loaded from .pyc"
  log "uid 65532, read-only root: $entry --help works; $loaded modules, each from its .pyc"
done

run python -c 'import pip' 2>/dev/null && fail "pip is importable"
compilers=$(find "$root" -xdev \( -path "$root/proc" -o -path "$root/sys" \) -prune -o \
  \( -type f -o -type l \) -regextype posix-extended \
  -regex '.*/s?bin/([a-z0-9_]+-linux-gnu-)?(cc|c\+\+|gcc|g\+\+|cpp|clang|clang\+\+|tcc|as|ld)(-[0-9.]+)?' -print)
[[ -z $compilers ]] || fail "compilers in the image: $compilers"
if [[ -d $root/var/lib/dpkg ]]; then
  dev=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\n' \
        | grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|tcc)(-[0-9.]+)?$|^(binutils|build-essential|make)' || true)
  [[ -z $dev ]] || fail "build packages in the image: $dev"
fi
log "no compiler, no -dev package, no pip"
