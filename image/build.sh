#!/usr/bin/env bash
# `make image`: the project's image, dlws.local/dlws-families:<setup.cfg version>, as one
# tarball that is both a docker-archive and an OCI image layout (oci_archive.py), built
# without a container engine:
#   .image/dlws-families.tar           `ctr -n k8s.io images import`, `crane push`,
#                                      `skopeo copy docker-archive:` or `oci-archive:`
#   .image/dlws-families.packages.txt  its Debian packages (dpkg-query -W)
#   .image/dlws-families.pip-freeze.txt its Python packages (pip freeze)
# The root filesystem: Debian bookworm minbase + python3 (image/base.sh, cached under
# ~/.cache/dlws-image/base-<key>), and /opt/dlws, a venv holding exactly the wheels of
# requirements/runtime.txt (downloaded here with --require-hashes, cp311 manylinux
# x86_64) and the project's wheel (built here with the build tools pinned in
# requirements/build.txt). pip runs from its wheel and is not in the image; nor are
# compilers. Every .pyc is compiled at build time, so a read-only root costs nothing.
# Reproducible: SOURCE_DATE_EPOCH (default: the last commit of the image's inputs) is
# the image's date and the newest mtime in its layer; same inputs, same base, same bytes.
# When the tarball exists and was built from the current inputs, nothing is rebuilt.
# Needs root (debootstrap, chroot). Progress on stderr; the tarball's path is the last
# line on stdout. Env: DLWS_IMAGE_OUT (.image), DLWS_IMAGE_CACHE (~/.cache/dlws-image),
# DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, PYTHON (python3, for the host's pip).
set -eEuo pipefail

exec 3>&1 >&2  # stdout is for the tarball's path only (fd 3); everything else to stderr
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
log() { echo "image/build: $*" >&2; }
die() { log "$*"; exit 1; }
trap 'log "failed (exit $?): $BASH_COMMAND (line $LINENO)"' ERR

version=$(sed -n 's/^version *= *//p' "$repo/setup.cfg" | head -n 1)
[[ -n $version ]] || die "no version in setup.cfg"
name=dlws-families
ref=dlws.local/$name:$version
out_dir=${DLWS_IMAGE_OUT:-$repo/.image}
tarball=$out_dir/$name.tar
cache=${DLWS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dlws-image}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
python=${PYTHON:-python3}
# What goes into the image besides the Debian base: the project (setup.cfg and README.md
# make its metadata), its lock, and the recipe.
inputs=(setup.cfg pyproject.toml README.md dlws_contract operator/dlws_operator api_shim kubectl_plugin
        requirements/runtime.txt requirements/build.txt image devcluster/images/oci_archive.py)
source "$here/base.sh"

input_files() {  # the input files, one a line, sorted; untracked ones too, ignored ones not
  if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$repo" ls-files -co --exclude-standard -- "${inputs[@]}" | LC_ALL=C sort -u \
      | (cd "$repo" && while IFS= read -r f; do if [[ -f $f ]]; then echo "$f"; fi; done)  # not deleted
  else
    (cd "$repo" && find "${inputs[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' | LC_ALL=C sort)
  fi
}

if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct -- "${inputs[@]}" 2>/dev/null || true)
  [[ -n $SOURCE_DATE_EPOCH ]] || die "no git history of $repo to date the image from: set SOURCE_DATE_EPOCH"
fi
export SOURCE_DATE_EPOCH
base_key=$(cat "$here/base.sh" <(echo "$mirror $security") | sha256sum | cut -c1-16)
base=$cache/base-$base_key
image_key() {  # the inputs' contents, the date and the base's package list
  (cd "$repo" && input_files | while IFS= read -r f; do sha256sum -- "$f"; done)
  echo "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH ref=$ref base=$base_key"
  cat "$base/packages.txt"
}

if [[ -f $tarball && -f $out_dir/$name.key && -f $base/packages.txt ]] \
   && [[ $(image_key | sha256sum) == "$(cat "$out_dir/$name.key")" ]]; then
  log "$ref is up to date: $tarball"
  echo "$tarball" >&3
  exit 0
fi

[[ $(id -u) == 0 ]] || die "building the image needs root (debootstrap, chroot): run sudo make image"
# Like devcluster/build.sh: a fresh Debian machine gets debootstrap from its own archive.
if ! command -v debootstrap >/dev/null && command -v apt-get >/dev/null; then
  log "installing Debian's debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
fi
for tool in debootstrap chroot flock "$python"; do
  command -v "$tool" >/dev/null || die "missing $tool (debootstrap: apt-get install debootstrap)"
done
"$python" -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null \
  || die "$python cannot make a venv with pip (Debian: apt-get install python3-venv)"

mkdir -p "$cache" "$out_dir"
exec 9>"$cache/.lock"
flock 9  # one build at a time per cache (the base and the work directories are shared)

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
_image_child="" work=""
on_exit() {
  if [[ -n $_image_child ]]; then  # a running debootstrap (its own process group)
    kill -TERM -- "-$_image_child" 2>/dev/null || true
    local _; for _ in {1..50}; do kill -0 -- "-$_image_child" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$_image_child" 2>/dev/null || true
  fi
  [[ -z $work ]] || remove_work "$work"
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP
for stale in "$cache"/.work-*; do remove_work "$stale"; done  # left by a killed build
start=$SECONDS

# 1. The Debian base, once per key.
if [[ ! -f $base/packages.txt ]]; then
  log "building the Debian base $base (debootstrap $IMAGE_BASE_SUITE: a few minutes)"
  work=$(mktemp -d "$cache/.work-base.XXXXXX")
  image_base "$work/rootfs" "$mirror" "$security" "$work/debootstrap.log"
  dpkg-query --admindir="$work/rootfs/var/lib/dpkg" -W >"$work/packages.txt"
  rm -rf "$base" && mkdir "$base"
  mv "$work/rootfs" "$base/rootfs" && mv "$work/packages.txt" "$base/packages.txt"  # last: "built"
  remove_work "$work"; work=""
  for old in "$cache"/base-*; do  # bases of other recipes: a few hundred MB each
    [[ $old == "$base" ]] || rm -rf --one-file-system "$old"
  done
  log "Debian base ready: $(wc -l <"$base/packages.txt") packages ($((SECONDS - start))s)"
else
  log "Debian base cached: $base"
fi

# 2. On the host: the wheels, each checked against its hash.
t=$SECONDS
key=$(image_key | sha256sum)  # now: a file edited during the build makes the next one rebuild
work=$(mktemp -d "$cache/.work-image.XXXXXX")
mkdir -p "$work/src" "$work/tools" "$work/wheels"
(cd "$repo" && input_files | grep -Ev '^(image|devcluster|requirements)/' | tar -cf - -T -) | tar -C "$work/src" -xf -
"$python" -m venv "$work/tools-venv"
pip=("$work/tools-venv/bin/python" -m pip --quiet --disable-pip-version-check)
"${pip[@]}" download --require-hashes --no-deps --only-binary=:all: -d "$work/tools" -r "$repo/requirements/build.txt"
"${pip[@]}" install --require-hashes --no-index --find-links "$work/tools" -r "$repo/requirements/build.txt"
"${pip[@]}" wheel --no-deps --no-build-isolation --no-index -w "$work/wheels" "$work/src"
platforms=()
for minor in $(seq 36 -1 5); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done  # glibc 2.36
platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
"${pip[@]}" download --require-hashes --no-deps --only-binary=:all: --implementation cp \
  --python-version 3.11 --abi cp311 --abi abi3 --abi none "${platforms[@]}" \
  -d "$work/wheels" -r "$repo/requirements/runtime.txt"
pip_wheel=$(cd "$work/tools" && ls pip-*.whl)
project_wheel=$(cd "$work/wheels" && ls dlws_families-*.whl)
log "wheels ready: $(ls "$work/wheels" | wc -l) ($((SECONDS - t))s)"

# 3. The root filesystem: the base and, in it, the venv /opt/dlws.
t=$SECONDS
root=$work/rootfs
cp -a "$base/rootfs" "$root"
stage=/tmp/dlws-build  # inside the root; /tmp's contents never reach the layer
mkdir -p "$root$stage"
cp -a "$work/wheels" "$work/tools/$pip_wheel" "$repo/requirements/runtime.txt" "$root$stage/"
in_root() {  # in_root CMD...: run in the root, as root, with a clean environment
  chroot "$root" /usr/bin/env -i PATH=/opt/dlws/bin:/usr/bin:/bin HOME=/root LC_ALL=C.UTF-8 \
    PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"
}
root_pip=(/opt/dlws/bin/python "$stage/$pip_wheel/pip" --quiet --disable-pip-version-check --no-cache-dir)
# The uid the manifests run as gets a name and a home that does not exist, as in
# distroless images. runc sets HOME from /etc/passwd (else "/"); without HOME and an
# entry (as in verify.sh's chroot), Python's Path.home(), which the kubernetes client
# calls at import, fails. Written directly: useradd would stamp /etc/shadow with today.
echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin' >>"$root/etc/passwd"
echo 'nonroot:x:65532:' >>"$root/etc/group"
echo 'nonroot:*:::::::' >>"$root/etc/shadow"
echo 'nonroot:*::' >>"$root/etc/gshadow"
in_root python3 -m venv --without-pip /opt/dlws
in_root "${root_pip[@]}" install --no-index --find-links "$stage/wheels" --require-hashes --no-compile \
  -r "$stage/runtime.txt"
in_root "${root_pip[@]}" install --no-index --no-deps --no-compile "$stage/wheels/$project_wheel"
in_root /opt/dlws/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/dlws/lib \
  || die "byte-compiling /opt/dlws failed"
in_root "${root_pip[@]}" freeze >"$work/$name.pip-freeze.txt"
rm -rf "$root$stage" "$root/root/.cache"
[[ ! -e $root/opt/dlws/bin/pip ]] || die "pip is in the venv"
dpkg-query --admindir="$root/var/lib/dpkg" -W >"$work/$name.packages.txt"
log "venv /opt/dlws ready: $(wc -l <"$work/$name.pip-freeze.txt") Python packages ($((SECONDS - t))s)"

# 4. Runs as the manifests run it, before it is packed.
"$here/verify.sh" "$root" || die "the root filesystem failed its checks (above)"

# 5. The tarball.
t=$SECONDS
"$python" "$repo/devcluster/images/oci_archive.py" --rootfs "$root" --ref "$ref" --out "$work/$name.tar" \
  --cmd '["dlws-api-shim", "--host=0.0.0.0", "--port=5000"]' --user 65532:65532 \
  --env PATH=/opt/dlws/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 | sed 's|^|image/build: |'
echo "$key" >"$work/$name.key"
rm -f "$out_dir/$name.key"  # until the tarball beside it is the new one
mv "$work/$name.packages.txt" "$work/$name.pip-freeze.txt" "$out_dir/"
mv "$work/$name.tar" "$tarball"
mv "$work/$name.key" "$out_dir/$name.key"
remove_work "$work"; work=""
log "$ref: $tarball, $(du -h --apparent-size "$tarball" | cut -f1) (packed in $((SECONDS - t))s; build $((SECONDS - start))s)"
echo "$tarball" >&3
