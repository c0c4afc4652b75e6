"""The mutual-TLS context for the Connected Car API, and certificate expiry for ``check``.

Every failure becomes a :class:`~bot.errors.CertificateError` whose message says which setting
to fix. OpenSSL is never allowed to prompt on the terminal for a key password.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from bot.errors import CertificateError

CANNOT_READ = "cannot read certificate file {path} ({var}): {reason}"
NOT_A_CERTIFICATE = "{var} {path} holds no PEM certificate"
NO_PRIVATE_KEY = (
    "PSA_CERT_FILE {path} holds no private key: set PSA_KEY_FILE to the key of this certificate"
)
ENCRYPTED_KEY_NO_PHRASE = (
    "PSA_KEY_PASSWORD is wrong or missing for the encrypted key in {path}: "
    "the key is encrypted and no password was given (set PSA_KEY_PASSWORD or "
    "PSA_KEY_PASSWORD_FILE)"
)
ENCRYPTED_KEY_BAD_PHRASE = (
    "PSA_KEY_PASSWORD is wrong or missing for the encrypted key in {path}: "
    "the password does not decrypt it"
)
KEY_UNREADABLE = "PSA_KEY_FILE {path} is not a readable PEM private key"
KEY_MISMATCH = (
    "certificate and key do not match: the key in {key} does not belong to the "
    "certificate in {cert} (check PSA_CERT_FILE and PSA_KEY_FILE)"
)
CA_NOT_PEM = "PSA_CA_FILE {path} is not a PEM CA bundle (no certificate found in it)"
CA_UNREADABLE = "cannot read PSA_CA_FILE {path}: {reason}"
CHAIN_FAILED = "cannot load the client certificate {cert}: {reason}"


class _NoPassword(Exception):
    """Raised by our password callback when OpenSSL needs a password we do not have."""


def build_ssl_context(
    cert_file: Path,
    key_file: Path | None = None,
    key_password: str | None = None,
    ca_file: Path | None = None,
) -> ssl.SSLContext:
    """A TLS >= 1.2 client context that presents our certificate and verifies the server."""
    cert_file = Path(cert_file)
    key_path = Path(key_file) if key_file is not None else cert_file
    _check_certificate_file(cert_file, "PSA_CERT_FILE")
    _check_key_present(key_path, separate=key_file is not None)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    _load_trust(context, ca_file)

    asked = False

    def password() -> bytes:
        # Called by OpenSSL only for an encrypted key; never fall back to a terminal prompt.
        nonlocal asked
        asked = True
        if key_password is None:
            raise _NoPassword
        return key_password.encode()

    try:
        context.load_cert_chain(str(cert_file), str(key_path), password=password)
    except _NoPassword:
        raise CertificateError(ENCRYPTED_KEY_NO_PHRASE.format(path=key_path)) from None
    except OSError as exc:
        if isinstance(exc, ssl.SSLError):
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise CertificateError(KEY_MISMATCH.format(key=key_path, cert=cert_file)) from exc
            if asked:
                raise CertificateError(ENCRYPTED_KEY_BAD_PHRASE.format(path=key_path)) from exc
            if key_file is not None:
                raise CertificateError(KEY_UNREADABLE.format(path=key_path)) from exc
            raise CertificateError(CHAIN_FAILED.format(cert=cert_file, reason=exc.reason)) from exc
        var = "PSA_KEY_FILE" if key_file is not None else "PSA_CERT_FILE"
        raise CertificateError(
            CANNOT_READ.format(path=key_path, var=var, reason=exc.strerror or exc)
        ) from exc
    return context


def certificate_expiry(cert_file: Path) -> datetime:
    """When the first certificate in ``cert_file`` expires (aware, UTC)."""
    return _first_certificate(Path(cert_file), "PSA_CERT_FILE").not_valid_after_utc


def days_until_expiry(cert_file: Path, now: datetime | None = None) -> float:
    """Days (fractional, negative once expired) until the certificate in ``cert_file`` expires."""
    now = now or datetime.now(UTC)
    return (certificate_expiry(cert_file) - now).total_seconds() / 86400


def _load_trust(context: ssl.SSLContext, ca_file: Path | None) -> None:
    if ca_file is None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except ssl.SSLError as exc:
        raise CertificateError(CA_NOT_PEM.format(path=ca_file)) from exc
    except OSError as exc:
        raise CertificateError(
            CA_UNREADABLE.format(path=ca_file, reason=exc.strerror or exc)
        ) from exc


def _read(path: Path, var: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(
            CANNOT_READ.format(path=path, var=var, reason=exc.strerror or exc)
        ) from exc


def _first_certificate(path: Path, var: str) -> x509.Certificate:
    data = _read(path, var)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise CertificateError(NOT_A_CERTIFICATE.format(var=var, path=path))
    return certificates[0]


def _check_certificate_file(path: Path, var: str) -> None:
    _first_certificate(path, var)


def _check_key_present(path: Path, *, separate: bool) -> None:
    data = _read(path, "PSA_KEY_FILE" if separate else "PSA_CERT_FILE")
    if b"PRIVATE KEY-----" in data:
        return
    if separate:
        raise CertificateError(KEY_UNREADABLE.format(path=path))
    raise CertificateError(NO_PRIVATE_KEY.format(path=path))
