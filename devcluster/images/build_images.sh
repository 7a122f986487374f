#!/usr/bin/env bash
# Builds the two container images a real node (kubelet + containerd) needs, as image
# tarballs for `ctr -n k8s.io images import` (container registries are unreachable here):
#   pause.tar       dlws.local/pause:$IMAGES_VERSION       the Pod sandbox: only /pause (./pause)
#   job-python.tar  dlws.local/job-python:$IMAGES_VERSION  Debian bookworm minbase + python3,
#                   python3-requests and jupyter-notebook (the document's sample child runs
#                   Jupyter) (debootstrap); its package list beside it and in the image
# into CACHE_DIR/images-$IMAGES_VERSION/, each only if missing. BIN_DIR (the bin directory
# build.sh prints) gets a link `images` to that directory.
# Usage: build_images.sh CACHE_DIR BIN_DIR, or source it and call build_images CACHE_DIR BIN_DIR.
# Prints the images directory on stdout; progress goes to stderr. job-python needs root.
# Run, the whole script is `set -euo pipefail`; sourced, only build_images is (below).
[[ ${BASH_SOURCE[0]} != "$0" ]] || set -euo pipefail

_dlws_images_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The build; run as a script it runs in the script's own shell (so that its traps see a
# Ctrl-C or a kill), sourced it runs in a subshell (build_images below).
_dlws_build_images() {
  local here=$_dlws_images_here
  log() { echo "devcluster/build: $*" >&2; }
  if (($# < 1)); then log "usage: build_images.sh CACHE_DIR BIN_DIR"; exit 2; fi
  local cache=$1 bin=${2:-}
  if [[ -z ${IMAGES_VERSION:-} && -f $here/../versions.env ]]; then
    IMAGES_VERSION=$(sed -n 's/^IMAGES_VERSION=//p' "$here/../versions.env" | tail -n 1)
  fi
  local version=${IMAGES_VERSION:-bookworm-2}
  local dir=$cache/images-$version
  local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
  local python=${PYTHON:-python3}
  mkdir -p "$dir"

  # Unmounts whatever is mounted under a work directory (debootstrap mounts proc and sys
  # in its target), then removes it without crossing into another file system.
  remove_work() {
    local w=$1 _dev mp _rest
    [[ -e $w ]] || return 0
    while read -r _dev mp _rest; do
      if [[ $mp == "$w"/* ]]; then umount -l "$mp" 2>/dev/null || true; fi
    done < <(tac /proc/self/mounts)
    rm -rf --one-file-system "$w"
  }
  # Not local: the EXIT trap may run after this function has returned (sourced: at the
  # subshell's end).
  _dlws_work="" _dlws_boot_pid=""
  # On any exit: stop a running debootstrap (its own process group: setsid) and remove
  # the unfinished image's work directory.
  on_exit() {
    if [[ -n $_dlws_boot_pid ]]; then
      kill -TERM -- "-$_dlws_boot_pid" 2>/dev/null || true
      local _; for _ in {1..50}; do kill -0 -- "-$_dlws_boot_pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL -- "-$_dlws_boot_pid" 2>/dev/null || true
    fi
    [[ -z $_dlws_work ]] || remove_work "$_dlws_work"
  }
  trap on_exit EXIT
  trap 'exit 130' INT TERM HUP
  # One build at a time per cache: a second one would take the first one's work
  # directory for a killed build's leftover, and remove it.
  local lock_fd stale
  exec {lock_fd}>"$dir/.lock"
  flock "$lock_fd"
  for stale in "$dir"/.work-*; do remove_work "$stale"; done  # left by a killed build

  archive() {  # archive ROOTFS NAME OUT [oci_archive.py options...]
    local root=$1 name=$2 out=$3; shift 3
    "$python" "$here/oci_archive.py" --rootfs "$root" --ref "dlws.local/$name:$version" \
      --out "$out" "$@" | sed 's|^|devcluster/build: |' >&2
  }

  # waited WHAT LOG COMMAND...: runs COMMAND in its own session, in the background and
  # waited for (bash runs a trap only between commands, and `wait` is one it can
  # interrupt; on_exit stops the session); on failure shows the end of LOG and exits.
  waited() {
    local what=$1 out=$2; shift 2
    setsid "$@" >"$out" 2>&1 &
    _dlws_boot_pid=$!
    if ! wait "$_dlws_boot_pid"; then
      _dlws_boot_pid=""
      tail -n 30 "$out" >&2
      log "$what failed (log above)"
      exit 1
    fi
    _dlws_boot_pid=""
  }

  build_pause() {
    [[ -f $dir/pause.tar ]] && return
    command -v go >/dev/null || { log "missing go (the Go toolchain) to build the pause image"; exit 1; }
    log "building image dlws.local/pause:$version"
    local start=$SECONDS
    _dlws_work=$(mktemp -d "$dir/.work-pause.XXXXXX")
    mkdir "$_dlws_work/rootfs"
    (cd "$here/pause" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
       go build -trimpath -ldflags "-s -w" -o "$_dlws_work/rootfs/pause" .)
    chmod 0755 "$_dlws_work/rootfs" "$_dlws_work/rootfs/pause"
    archive "$_dlws_work/rootfs" pause "$_dlws_work/pause.tar" --entrypoint /pause
    mv "$_dlws_work/pause.tar" "$dir/pause.tar"
    remove_work "$_dlws_work"; _dlws_work=""
    log "pause image ready ($((SECONDS - start))s)"
  }

  build_job_python() {
    [[ -f $dir/job-python.tar ]] && return
    if ! command -v debootstrap >/dev/null; then
      if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        log "missing Debian package: debootstrap (install it as root: apt-get install debootstrap)"
        exit 1
      fi
      log "installing Debian package: debootstrap"
      local out
      if ! out=$(export DEBIAN_FRONTEND=noninteractive; apt-get update -qq 2>&1 \
                 && apt-get install -y -qq debootstrap 2>&1); then
        echo "$out" >&2; log "apt-get install debootstrap failed (output above)"; exit 1
      fi
    fi
    if [[ $(id -u) != 0 ]]; then log "building the job-python image needs root (debootstrap, chroot)"; exit 1; fi
    log "building image dlws.local/job-python:$version (debootstrap bookworm: a few minutes)"
    local start=$SECONDS
    _dlws_work=$(mktemp -d "$dir/.work-job-python.XXXXXX")
    local root=$_dlws_work/rootfs
    waited debootstrap "$_dlws_work/debootstrap.log" \
      debootstrap --variant=minbase --include=python3,python3-requests bookworm "$root" "$mirror"
    log "debootstrap done ($((SECONDS - start))s); installing jupyter-notebook"
    # By apt in the image: debootstrap's --include resolves too few dependencies for it.
    # The build host's resolv.conf for the mirror's name, emptied again below.
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    waited "apt-get install jupyter-notebook" "$_dlws_work/apt.log" \
      chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends jupyter-notebook'
    log "jupyter-notebook installed ($((SECONDS - start))s); trimming"
    # Package lists and caches come back with apt-get update; docs, man pages and
    # translations are not needed to run jobs (copyright files stay); logs and the
    # build host's hostname/resolv.conf do not belong in an image (the runtime mounts them).
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
      "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias ! -name 'C' ! -name 'C.*' \
      -exec rm -rf {} +
    find "$root" -xdev -type d -name __pycache__ -prune -exec rm -rf {} +
    : >"$root/etc/resolv.conf"
    echo localhost >"$root/etc/hostname"
    chmod 0644 "$root/etc/resolv.conf" "$root/etc/hostname"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    # Every non-root uid must be able to run python3: nothing outside the secrets may be
    # unreadable by others.
    local unreadable secrets='^/etc/(g?shadow-?|passwd-|\.pwd\.lock|security/opasswd|ssl/private)$'
    secrets+='|^/var/cache/(ldconfig|debconf/passwords\.dat)$|^/var/cache/ldconfig/|^/var/lib/dpkg/(lock.*|triggers/Lock)$'
    unreadable=$(find "$root" -xdev \( -path "$root/root" -o -path "$root/proc" -o -path "$root/sys" \
        -o -path "$root/dev" \) -prune -o ! -type l ! -perm -o+r -printf '/%P\n' | grep -Ev "$secrets" || true)
    if [[ -n $unreadable ]]; then log "not world-readable in the image:"; echo "$unreadable" >&2; fi
    local uid
    for uid in 1000 4242; do
      # shellcheck disable=SC2016  # expanded by the sh in the chroot
      chroot --userspec="$uid:$uid" "$root" /usr/bin/env -i PATH=/usr/bin:/bin sh -c \
        'test "$(id -u)" = "$1" && python3 -c "import requests, ssl, json, sqlite3, notebook"' sh "$uid" >&2 \
        || { log "uid $uid cannot run python3 in the job-python root filesystem"; exit 1; }
    done
    dpkg-query --admindir="$root/var/lib/dpkg" -W >"$_dlws_work/job-python.packages.txt"
    install -m 0644 "$_dlws_work/job-python.packages.txt" "$root/etc/dlws-image-packages.txt"
    log "$(wc -l <"$_dlws_work/job-python.packages.txt") packages; $(du -sh --apparent-size "$root" | cut -f1) unpacked"
    archive "$root" job-python "$_dlws_work/job-python.tar" --cmd python3 \
      --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    mv "$_dlws_work/job-python.packages.txt" "$dir/job-python.packages.txt"
    mv "$_dlws_work/job-python.tar" "$dir/job-python.tar"  # last: its presence means "built"
    remove_work "$_dlws_work"; _dlws_work=""
    log "job-python image ready ($((SECONDS - start))s)"
  }

  build_pause
  build_job_python
  if [[ -n $bin ]]; then mkdir -p "$bin"; ln -sfn "$dir" "$bin/images"; fi
  log "images ready in $dir"
  echo "$dir"
}

# Sourced: a subshell leaves the caller's shell options, traps and variables alone, and an
# `exit 1` in the build fails only the call.
build_images() (
  set -euo pipefail
  _dlws_build_images "$@"
)

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  _dlws_build_images "$@"
fi
