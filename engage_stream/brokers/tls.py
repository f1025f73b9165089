"""A throw-away certificate authority for brokers the tests start with TLS listeners.

Made with the `openssl` command (OpenSSL 3), so no Python cryptography package is needed:
a self-signed CA and server certificates it signs, each naming the hosts it is valid for in
subjectAltName (clients check the host they dialled against it, RFC 6125). Keys are
unencrypted PKCS#8 PEM, which Kafka reads directly (`ssl.keystore.type=PEM`, KIP-651).
Never use these for anything but a test broker.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Self

DAYS = 2
"""Validity: long enough for any test run, short enough that a stray copy is soon useless."""


class CertificateError(RuntimeError):
    """openssl is missing or refused; the message carries its output."""


def _openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        raise CertificateError(
            "the openssl command is not on PATH (Debian: apt-get install openssl)"
        )
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise CertificateError(
            f"openssl {args[0]} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-1500:]}"
        )


def subject_alt_names(hosts: tuple[str, ...]) -> str:
    """`IP:` for addresses, `DNS:` for names: Python's ssl matches an address only against
    an IP entry, never against a DNS one."""
    entries = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            entries.append(f"DNS:{host}")
        else:
            entries.append(f"IP:{host}")
    return ",".join(entries)


@dataclass(frozen=True)
class Certificate:
    """A server certificate, its key, and the CA that signed it (what clients trust)."""

    cert: Path
    key: Path
    ca: Path
    hosts: tuple[str, ...]

    @property
    def keystore(self) -> Path:
        """Key then certificate chain in one PEM file, the form Kafka's PEM keystore reads."""
        return self.cert.with_name(f"{self.cert.stem}-keystore.pem")


@dataclass(frozen=True)
class CertificateAuthority:
    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path, name: str = "engage-stream test CA") -> Self:
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / "ca.pem", directory / "ca.key"
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-days", str(DAYS), "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", str(key), "-out", str(cert),
            cwd=directory,
        )  # fmt: skip
        return cls(cert, key)

    def issue(self, directory: Path, name: str, hosts: tuple[str, ...]) -> Certificate:
        """A server certificate valid for `hosts` only (the first is also its CN)."""
        if not hosts:
            raise ValueError("a server certificate needs at least one host")
        directory.mkdir(parents=True, exist_ok=True)
        cert, key, csr = (directory / f"{name}{ext}" for ext in (".pem", ".key", ".csr"))
        extensions = directory / f"{name}.ext"
        extensions.write_text(
            f"subjectAltName={subject_alt_names(hosts)}\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n",
            encoding="utf-8",
        )
        _openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={hosts[0]}",
            "-keyout", str(key), "-out", str(csr),
            cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
            "-CAcreateserial", "-sha256", "-days", str(DAYS), "-extfile", str(extensions),
            "-out", str(cert),
            cwd=directory,
        )  # fmt: skip
        issued = Certificate(cert, key, self.cert, tuple(hosts))
        issued.keystore.write_text(
            key.read_text(encoding="ascii") + cert.read_text(encoding="ascii"), encoding="ascii"
        )
        return issued
