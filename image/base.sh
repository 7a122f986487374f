# The Debian part of the image, sourced by image/build.sh: bookworm minbase with python3
# (3.11, the minor the lock is compiled for) and bookworm's updates and security fixes.
# build.sh caches what this makes under a key that is the hash of this file and the
# mirror, so any change here makes a new base; delete ~/.cache/dlws-image/base-* to take
# Debian's newer updates under an unchanged recipe.
# Usage (root): image_base ROOTFS MIRROR SECURITY_MIRROR LOG

IMAGE_BASE_SUITE=bookworm
IMAGE_BASE_PACKAGES=python3

image_base() {
  local root=$1 mirror=$2 security=$3 log=$4
  # In the background and waited for: bash runs a trap only between commands, and `wait`
  # is one it can interrupt. Its own process group, so that the caller's trap can stop it.
  setsid debootstrap --variant=minbase --include="$IMAGE_BASE_PACKAGES" "$IMAGE_BASE_SUITE" \
    "$root" "$mirror" >"$log" 2>&1 &
  _image_child=$!
  if ! wait "$_image_child"; then _image_child=""; tail -n 30 "$log" >&2; return 1; fi
  _image_child=""

  # bookworm as debootstrap installs it is the last point release; add its updates and
  # security fixes (the sources stay, so that `apt-get update` works in a debug shell).
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $IMAGE_BASE_SUITE main
deb $mirror $IMAGE_BASE_SUITE-updates main
deb $security $IMAGE_BASE_SUITE-security main
EOF
  mount -t proc proc "$root/proc"
  local rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get -y -qq -o Dpkg::Use-Pty=0 upgrade && apt-get clean' >>"$log" 2>&1 || rc=$?
  umount "$root/proc"
  if ((rc)); then tail -n 30 "$log" >&2; return 1; fi

  # What varies from one run of the above to the next, and what an image does not need:
  # package lists and caches (apt-get update brings them back), logs, the ld.so and
  # debconf backups, docs and man pages (copyright files stay), translations, the build
  # host's hostname and resolver (the runtime mounts its own), the day the accounts were
  # made (/etc/shadow's "last changed" field: empty, as for an account without aging).
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/var/log/* "$root"/var/cache/ldconfig/aux-cache \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/etc/machine-id
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias ! -name 'C' ! -name 'C.*' \
    -exec rm -rf {} +
  local f
  for f in "$root"/etc/shadow "$root"/etc/shadow-; do
    if [[ -f $f ]]; then sed -i -E 's/^([^:]*:[^:]*):[0-9]*:/\1::/' "$f"; fi
  done
  : >"$root/etc/resolv.conf"
  echo localhost >"$root/etc/hostname"
  chmod 0644 "$root/etc/resolv.conf" "$root/etc/hostname"

  # Debian byte-compiles the standard library when python3 is installed: each .pyc is
  # stamped with its source's mtime, and its bytes depend on the hash seed. The same
  # files again, compiled with a fixed seed as unchecked-hash .pyc: valid whatever mtime
  # the layer gives their sources, never compared with them (the image is read-only).
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
    python3 - /usr/lib/python3.11 /usr/lib/python3/dist-packages /usr/share/python3 <<'EOF'
import py_compile
import sys
from pathlib import Path

for top in sys.argv[1:]:
    for pyc in sorted(Path(top).rglob("__pycache__/*.pyc")):
        source = pyc.parent.parent / (pyc.name.split(".", 1)[0] + ".py")
        if not source.is_file():
            pyc.unlink()
            continue
        py_compile.compile(str(source), cfile=str(pyc), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
EOF
}
