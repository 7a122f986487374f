#!/usr/bin/env python3
"""Pack a root filesystem directory into a single-layer container image tarball.

    python3 oci_archive.py --rootfs DIR --ref NAME:TAG --out FILE.tar
        [--entrypoint ARG ...] [--cmd ARG ...] [--env K=V ...] [--user UID[:GID]]

The tarball holds the image twice over the same blobs, as `docker save` of Docker 25+
writes it: a docker-archive (manifest.json with Config, RepoTags, Layers), which
`ctr images import` and `docker load` read, and an OCI image layout (oci-layout,
index.json, blobs/sha256/...), which skopeo and crane read. --no-oci-layout leaves the
OCI part out. An argument that begins with '-' is passed as --cmd=-c.
--entrypoint/--cmd also take one JSON list: --cmd '["python3", "-c", "print(1)"]'.

The layer is reproducible: entries sorted, mtimes clamped to SOURCE_DATE_EPOCH
(default 2024-01-01: zipfile refuses timestamps before 1980, so not 0), numeric
uid/gid as in the rootfs with empty user/group names, hard links kept as links.
Device nodes, sockets and the contents of /dev, /proc, /sys, /run and /tmp are left
out (the directories stay). Files are streamed, never read whole.

Standard library only: it runs with the system python3 before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

DEFAULT_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EMPTIED_DIRS = frozenset({"dev", "proc", "sys", "run", "tmp"})  # kept, but not their contents
COPY_BUFSIZE = 1 << 20

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


class HashingWriter(io.RawIOBase):
    """A write-only file that hashes and counts what passes through to the file below."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


@dataclass(frozen=True)
class Blob:
    digest: str  # "sha256:<hex>"
    size: int

    @property
    def path(self) -> str:
        return "blobs/sha256/" + self.digest.removeprefix("sha256:")


def walk_sorted(root: Path, rel: str = "") -> Iterator[tuple[str, str, os.stat_result]]:
    """Yield (relative path, absolute path, lstat) depth-first, names sorted bytewise."""
    with os.scandir(root / rel if rel else root) as it:
        entries = sorted(it, key=lambda e: os.fsencode(e.name))
    for e in entries:
        r = f"{rel}/{e.name}" if rel else e.name
        st = e.stat(follow_symlinks=False)
        yield r, e.path, st
        if stat.S_ISDIR(st.st_mode) and not (rel == "" and e.name in EMPTIED_DIRS):
            yield from walk_sorted(root, r)


def write_layer(rootfs: Path, out: BinaryIO, epoch: int) -> Blob:
    """Write the rootfs as one uncompressed tar layer to `out`; return its digest/size."""
    hw = HashingWriter(out)
    links: dict[tuple[int, int], str] = {}  # (dev, ino) -> first name written
    with tarfile.open(fileobj=hw, mode="w", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                      copybufsize=COPY_BUFSIZE) as tar:
        for rel, abspath, st in walk_sorted(rootfs):
            mode = st.st_mode
            ti = tarfile.TarInfo(rel)
            ti.mode = stat.S_IMODE(mode)
            ti.uid, ti.gid = st.st_uid, st.st_gid
            ti.uname = ti.gname = ""
            ti.mtime = min(int(st.st_mtime), epoch)
            try:  # file capabilities (e.g. ping's cap_net_raw) live in an xattr
                ti.pax_headers = {"SCHILY.xattr.security.capability":
                                  os.getxattr(abspath, "security.capability",
                                              follow_symlinks=False).decode("utf-8", "surrogateescape")}
            except OSError:
                pass
            if stat.S_ISDIR(mode):
                ti.type = tarfile.DIRTYPE
                tar.addfile(ti)
            elif stat.S_ISLNK(mode):
                ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(abspath)
                tar.addfile(ti)
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in links:
                    ti.type, ti.linkname = tarfile.LNKTYPE, links[key]
                    tar.addfile(ti)
                    continue
                if st.st_nlink > 1:
                    links[key] = rel
                ti.size = st.st_size
                with open(abspath, "rb") as f:
                    tar.addfile(ti, f)
            elif stat.S_ISFIFO(mode):
                ti.type = tarfile.FIFOTYPE
                tar.addfile(ti)
            # character/block devices and sockets: skipped (the runtime makes /dev)
    return Blob("sha256:" + hw.sha.hexdigest(), hw.size)


def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def blob_of(data: bytes) -> Blob:
    return Blob("sha256:" + hashlib.sha256(data).hexdigest(), len(data))


def containerd_name(ref: str) -> str:
    """The fully qualified name containerd gives a docker-style reference."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if sep else f"docker.io/library/{ref}"


def parse_args_list(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    if len(values) == 1 and values[0].lstrip().startswith("["):
        parsed = json.loads(values[0])
        if not (isinstance(parsed, list) and all(isinstance(v, str) for v in parsed)):
            raise SystemExit(f"oci_archive: not a JSON list of strings: {values[0]}")
        return parsed
    return values


def image_config(layer: Blob, epoch: int, args: argparse.Namespace) -> dict[str, Any]:
    env: list[str] = list(args.env or [])
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH)
    cfg: dict[str, Any] = {"Env": env}
    if (ep := parse_args_list(args.entrypoint)) is not None:
        cfg["Entrypoint"] = ep
    if (cmd := parse_args_list(args.cmd)) is not None:
        cfg["Cmd"] = cmd
    if args.user:
        cfg["User"] = args.user
    created = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [{"created": created, "created_by": "oci_archive.py (one layer from a root filesystem)"}],
    }


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes, epoch: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, epoch
    tar.addfile(ti, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, name: str, epoch: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, epoch
    tar.addfile(ti)


def build(args: argparse.Namespace) -> str:
    rootfs: Path = args.rootfs
    if not rootfs.is_dir():
        raise SystemExit(f"oci_archive: --rootfs {rootfs} is not a directory")
    if ":" not in args.ref.rsplit("/", 1)[-1]:
        raise SystemExit(f"oci_archive: --ref {args.ref} needs a tag (NAME:TAG)")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH)
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)

    # The layer goes to a temporary file first: the outer tar needs its size and digest.
    with tempfile.TemporaryFile(dir=out.parent) as layer_file:
        layer = write_layer(rootfs, layer_file, epoch)
        config_bytes = canonical_json(image_config(layer, epoch, args))
        config = blob_of(config_bytes)
        manifest_bytes = canonical_json({
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": MT_OCI_CONFIG, "digest": config.digest, "size": config.size},
            "layers": [{"mediaType": MT_OCI_LAYER, "digest": layer.digest, "size": layer.size}],
        })
        manifest = blob_of(manifest_bytes)
        docker_manifest = canonical_json([
            {"Config": config.path, "RepoTags": [args.ref], "Layers": [layer.path]}])
        index = canonical_json({
            "schemaVersion": 2,
            "mediaType": MT_OCI_INDEX,
            "manifests": [{
                "mediaType": MT_OCI_MANIFEST, "digest": manifest.digest, "size": manifest.size,
                "annotations": {"io.containerd.image.name": containerd_name(args.ref),
                                "org.opencontainers.image.ref.name": args.ref}}],
        })

        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            add_dir(tar, "blobs", epoch)
            add_dir(tar, "blobs/sha256", epoch)
            blobs = [(config.path, config_bytes)]
            if not args.no_oci_layout:
                blobs.append((manifest.path, manifest_bytes))
            for path, data in sorted(blobs):
                add_bytes(tar, path, data, epoch)
            layer_file.seek(0)
            ti = tarfile.TarInfo(layer.path)
            ti.size, ti.mode, ti.mtime = layer.size, 0o644, epoch
            tar.addfile(ti, layer_file)
            if not args.no_oci_layout:
                add_bytes(tar, "index.json", index, epoch)
            add_bytes(tar, "manifest.json", docker_manifest, epoch)
            if not args.no_oci_layout:
                add_bytes(tar, "oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}), epoch)
        os.replace(partial, out)

    return (f"{args.ref} manifest={manifest.digest} config={config.digest} "
            f"layer={layer.digest} layer_bytes={layer.size} tar_bytes={out.stat().st_size}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rootfs", type=Path, required=True, help="root filesystem directory")
    p.add_argument("--ref", required=True, help="image name, NAME:TAG")
    p.add_argument("--out", type=Path, required=True, help="tarball to write")
    p.add_argument("--entrypoint", nargs="+", action="extend", metavar="ARG")
    p.add_argument("--cmd", nargs="+", action="extend", metavar="ARG")
    p.add_argument("--env", nargs="+", action="extend", metavar="K=V")
    p.add_argument("--user", help="UID or UID:GID the container runs as")
    p.add_argument("--no-oci-layout", action="store_true",
                   help="write the docker-archive part only")
    args = p.parse_args(argv)
    for e in args.env or []:
        if "=" not in e:
            p.error(f"--env {e}: expected K=V")
    print(build(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
