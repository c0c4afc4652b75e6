"""Certificates for the PSA sandbox: a fake "Stellantis CA", server and client certificates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

SERVER_IDENTITIES = ("127.0.0.1", "localhost")
CLIENT_IDENTITY = "sandbox-partner.fleetbot.invalid"
# The sandbox reuses files younger than this, so a restarted demo starts fast.
REUSE_MARGIN = timedelta(days=30)
# Server and client certificates live a year, like real ones, so `fleetbot check` shows an expiry
# an operator recognises (trustme's default is the year 3000). The CAs keep trustme's validity.
LEAF_VALIDITY = timedelta(days=365)
LEAF_BACKDATE = timedelta(days=1)  # tolerate a clock slightly behind ours
MANIFEST_NAME = "sandbox-certs.json"
FILE_NAMES = {
    "ca_file": "stellantis-ca.pem",
    "server_cert_file": "server.pem",
    "server_key_file": "server-key.pem",
    "client_cert_file": "client.pem",
    "client_key_file": "client-key.pem",
    "client_combined_file": "client-combined.pem",
    "other_client_cert_file": "other-client.pem",
    "other_client_key_file": "other-client-key.pem",
    "expired_client_cert_file": "expired-client.pem",
    "expired_client_key_file": "expired-client-key.pem",
    "untrusted_ca_file": "untrusted-ca.pem",
}


@dataclass(frozen=True)
class SandboxCredentials:
    """The partner credentials the sandbox accepts (never real secrets)."""

    client_id: str = "sandbox-client-id"
    username: str = "sandbox-partner"
    password: str = "sandbox-password"  # noqa: S105 - a throwaway sandbox value
    key_password: str = "sandbox-key-password"  # noqa: S105 - a throwaway sandbox value


@dataclass(frozen=True)
class SandboxCerts:
    """Paths of every PEM file the sandbox and its clients need."""

    directory: Path
    ca_file: Path
    server_cert_file: Path
    server_key_file: Path
    client_cert_file: Path
    client_key_file: Path
    client_combined_file: Path
    other_client_cert_file: Path
    other_client_key_file: Path
    expired_client_cert_file: Path
    expired_client_key_file: Path
    untrusted_ca_file: Path
    key_password: str

    @classmethod
    def create(
        cls, directory: Path, key_password: str = SandboxCredentials.key_password
    ) -> SandboxCerts:
        """Generate all files in ``directory``, or reuse them if still valid for this password."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        certs = cls(
            directory=directory,
            key_password=key_password,
            **{field: directory / name for field, name in FILE_NAMES.items()},
        )
        if not certs._reusable():
            certs._generate()
        return certs

    def _reusable(self) -> bool:
        """Tell whether files from an earlier run exist, match the password and stay valid."""
        manifest = self.directory / MANIFEST_NAME
        try:
            recorded = json.loads(manifest.read_text())
            if recorded.get("files") != FILE_NAMES:
                return False
            for name in FILE_NAMES.values():
                if not (self.directory / name).is_file():
                    return False
            serialization.load_pem_private_key(
                self.client_key_file.read_bytes(), password=self.key_password.encode()
            )
            for path in (self.server_cert_file, self.client_cert_file, self.ca_file):
                cert = x509.load_pem_x509_certificate(path.read_bytes())
                left = cert.not_valid_after_utc - datetime.now(UTC)
                if left < REUSE_MARGIN:
                    return False
                if path != self.ca_file and left > LEAF_VALIDITY:
                    return False  # made before leaf certificates had a realistic lifetime
        except (OSError, ValueError, TypeError):
            return False
        return True

    def _generate(self) -> None:
        """Create both CAs, the server certificate and the three client certificates."""
        password = self.key_password.encode()
        now = datetime.now(UTC)
        stellantis = trustme.CA(organization_name="Sandbox Stellantis CA")
        stranger = trustme.CA(organization_name="Sandbox Unknown CA")
        stellantis.cert_pem.write_to_path(str(self.ca_file))
        stranger.cert_pem.write_to_path(str(self.untrusted_ca_file))

        start, end = now - LEAF_BACKDATE, now + LEAF_VALIDITY
        server = stellantis.issue_cert(
            *SERVER_IDENTITIES, common_name="psa-sandbox", not_before=start, not_after=end
        )
        server.cert_chain_pems[0].write_to_path(str(self.server_cert_file))
        server.private_key_pem.write_to_path(str(self.server_key_file))

        client = stellantis.issue_cert(
            CLIENT_IDENTITY, common_name="sandbox-partner", not_before=start, not_after=end
        )
        client_cert = client.cert_chain_pems[0].bytes()
        client_key = _encrypt_key(client.private_key_pem.bytes(), password)
        self.client_cert_file.write_bytes(client_cert)
        self.client_key_file.write_bytes(client_key)
        self.client_combined_file.write_bytes(client_cert + client_key)

        other = stranger.issue_cert(
            CLIENT_IDENTITY, common_name="sandbox-partner", not_before=start, not_after=end
        )
        other.cert_chain_pems[0].write_to_path(str(self.other_client_cert_file))
        other.private_key_pem.write_to_path(str(self.other_client_key_file))

        expired = stellantis.issue_cert(
            CLIENT_IDENTITY,
            common_name="sandbox-partner-expired",
            not_before=now - timedelta(days=60),
            not_after=now - timedelta(days=1),
        )
        expired.cert_chain_pems[0].write_to_path(str(self.expired_client_cert_file))
        self.expired_client_key_file.write_bytes(
            _encrypt_key(expired.private_key_pem.bytes(), password)
        )
        for name in ("server-key.pem", "client-key.pem", "client-combined.pem"):
            (self.directory / name).chmod(0o600)
        (self.directory / MANIFEST_NAME).write_text(json.dumps({"files": FILE_NAMES}))


def _encrypt_key(pem: bytes, password: bytes) -> bytes:
    """Re-serialise a PEM private key encrypted with ``password``."""
    key = serialization.load_pem_private_key(pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
