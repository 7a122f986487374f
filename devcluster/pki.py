"""Certificates and keys for the local control plane, made with the openssl CLI.

- a CA (also given to clients as the cluster's CA),
- the API server's serving certificate, valid for every name a client may use:
  127.0.0.1 and localhost from the host, 10.0.0.1 and kubernetes.default.svc (the first IP
  of --service-cluster-ip-range) from inside the cluster,
- the RSA key that signs and verifies service-account tokens (TokenRequest),
- a static token file with the admin identity (group system:masters).
"""
from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVICE_IP = "10.0.0.1"  # the first address of --service-cluster-ip-range=10.0.0.0/24
SANS = (
    "IP:127.0.0.1",
    "DNS:localhost",
    f"IP:{SERVICE_IP}",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)
ADMIN_USER = "devcluster-admin"


@dataclass(frozen=True)
class Pki:
    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    @property
    def token_file(self) -> Path:
        return self.dir / "tokens.csv"

    @property
    def admin_token(self) -> str:
        return self.token_file.read_text().split(",", 1)[0]


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def generate(pki_dir: Path) -> Pki:
    pki = Pki(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True)
    pki_dir.chmod(0o700)
    days = "3650"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days, "-sha256",
        "-subj", "/CN=dlws-devcluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", pki.ca_key.name, "-out", pki.ca_cert.name,
        cwd=pki_dir,
    )
    (pki_dir / "apiserver.ext").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        f"subjectAltName={','.join(SANS)}\n"
    )
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver",
        "-keyout", pki.serving_key.name, "-out", "apiserver.csr",
        cwd=pki_dir,
    )
    _openssl(
        "x509", "-req", "-in", "apiserver.csr", "-days", days, "-sha256",
        "-CA", pki.ca_cert.name, "-CAkey", pki.ca_key.name, "-set_serial", str(secrets.randbits(63)),
        "-extfile", "apiserver.ext", "-out", pki.serving_cert.name,
        cwd=pki_dir,
    )
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pki.sa_key.name, cwd=pki_dir)
    _openssl("pkey", "-in", pki.sa_key.name, "-pubout", "-out", pki.sa_pub.name, cwd=pki_dir)
    # --token-auth-file: token,user,uid,"group1,group2"
    pki.token_file.write_text(f'{secrets.token_hex(32)},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    for path in pki_dir.iterdir():
        path.chmod(0o600)
    return pki
