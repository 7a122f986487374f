"""Certificates and keys for the local control plane, made with the openssl CLI.

- a CA (also given to clients as the cluster's CA),
- the API server's serving certificate, valid for every name a client may use:
  127.0.0.1 and localhost from the host, 10.0.0.1 and kubernetes.default.svc (the first IP
  of --service-cluster-ip-range) from inside the cluster,
- the RSA key that signs and verifies service-account tokens (TokenRequest),
- a static token file with the admin identity (group system:masters) and the real node's
  kubelet identity (system:node:<name>, group system:nodes, for the Node authorizer),
- the API server's client certificate for kubelets (exec, logs), and, once the real
  node's address is known, that kubelet's serving certificate (`sign_kubelet_serving`).
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
DAYS = "3650"
# The one real node's name (NODE=real); its kubelet authenticates with a token as this node.
REAL_NODE_NAME = "real-node"


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
    def kubelet_client_cert(self) -> Path:
        """The API server's identity towards kubelets."""
        return self.dir / "apiserver-kubelet-client.crt"

    @property
    def kubelet_client_key(self) -> Path:
        return self.dir / "apiserver-kubelet-client.key"

    @property
    def kubelet_serving_cert(self) -> Path:
        return self.dir / "kubelet.crt"

    @property
    def kubelet_serving_key(self) -> Path:
        return self.dir / "kubelet.key"

    def _token(self, line: int) -> str:
        return self.token_file.read_text().splitlines()[line].split(",", 1)[0]

    @property
    def admin_token(self) -> str:
        return self._token(0)

    @property
    def node_token(self) -> str:
        return self._token(1)


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def generate(pki_dir: Path, extra_ips: tuple[str, ...] = ()) -> Pki:
    """extra_ips: more addresses the API server's certificate is valid for (where it
    listens besides loopback)."""
    pki = Pki(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True)
    pki_dir.chmod(0o700)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", DAYS, "-sha256",
        "-subj", "/CN=dlws-devcluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", pki.ca_key.name, "-out", pki.ca_cert.name,
        cwd=pki_dir,
    )
    _sign(pki, "apiserver", "/CN=kube-apiserver",
          "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
          f"subjectAltName={','.join(SANS + tuple(f'IP:{ip}' for ip in extra_ips))}\n")
    _sign(pki, "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client",
          "extendedKeyUsage=clientAuth\n")
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pki.sa_key.name, cwd=pki_dir)
    _openssl("pkey", "-in", pki.sa_key.name, "-pubout", "-out", pki.sa_pub.name, cwd=pki_dir)
    # --token-auth-file: token,user,uid,"group1,group2"
    node_user = f"system:node:{REAL_NODE_NAME}"
    pki.token_file.write_text(
        f'{secrets.token_hex(32)},{ADMIN_USER},{ADMIN_USER},"system:masters"\n'
        f'{secrets.token_hex(32)},{node_user},{node_user},"system:nodes"\n'
    )
    for path in pki_dir.iterdir():
        path.chmod(0o600)
    return pki


def _sign(pki: Pki, name: str, subject: str, extensions: str) -> None:
    """<name>.key and <name>.crt, signed by the CA."""
    ext = pki.dir / f"{name}.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n" + extensions)
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=pki.dir)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-days", DAYS, "-sha256",
             "-CA", pki.ca_cert.name, "-CAkey", pki.ca_key.name, "-set_serial", str(secrets.randbits(63)),
             "-extfile", ext.name, "-out", f"{name}.crt", cwd=pki.dir)
    for path in (pki.dir / f"{name}.key", pki.dir / f"{name}.crt"):
        path.chmod(0o600)


def sign_kubelet_serving(pki: Pki, node_ip: str) -> None:
    """The real node's kubelet serves TLS for the API server's exec and logs calls; the API
    server checks it against the CA (--kubelet-certificate-authority)."""
    _sign(pki, "kubelet", f"/O=system:nodes/CN=system:node:{REAL_NODE_NAME}",
          f"extendedKeyUsage=serverAuth\nsubjectAltName=IP:{node_ip},DNS:{REAL_NODE_NAME}\n")
