"""Tests of the mTLS context builder and certificate expiry, on the sandbox's real PEM files."""

from __future__ import annotations

import ssl
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import CertificateError
from bot.psa.tls import build_ssl_context, certificate_expiry, days_until_expiry
from bot.sandbox.psa import SandboxCerts


def test_context_is_strict(certs: SandboxCerts) -> None:
    """TLS >= 1.2, hostname checking and certificate verification are on."""
    context = build_ssl_context(
        certs.client_cert_file, certs.client_key_file, certs.key_password, certs.ca_file
    )
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.check_hostname is True
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] == 1  # only the CA we were given


def test_key_inside_the_certificate_file(certs: SandboxCerts) -> None:
    """PSA_CERT_FILE may hold the (encrypted) key too; PSA_KEY_FILE is then not needed."""
    context = build_ssl_context(certs.client_combined_file, None, certs.key_password, certs.ca_file)
    assert isinstance(context, ssl.SSLContext)


def test_system_trust_store_without_ca_file(certs: SandboxCerts) -> None:
    """Without PSA_CA_FILE the system store is loaded (the sandbox CA is then not in it)."""
    context = build_ssl_context(certs.client_cert_file, certs.client_key_file, certs.key_password)
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_wrong_key_password(certs: SandboxCerts) -> None:
    """A wrong password says so and names the key file, never the password."""
    with pytest.raises(CertificateError) as caught:
        build_ssl_context(certs.client_cert_file, certs.client_key_file, "guess", certs.ca_file)
    message = str(caught.value)
    assert message.startswith("PSA_KEY_PASSWORD is wrong or missing for the encrypted key in")
    assert str(certs.client_key_file) in message and "guess" not in message


def test_missing_password_never_prompts(certs: SandboxCerts) -> None:
    """An encrypted key without a password fails at once, stdin closed, no terminal prompt."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bot.errors import CertificateError\n"
        "from bot.psa.tls import build_ssl_context\n"
        "try:\n"
        f"    build_ssl_context(Path({str(certs.client_cert_file)!r}),"
        f" Path({str(certs.client_key_file)!r}), None, None)\n"
        "except CertificateError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal OpenSSL could prompt on
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "PSA_KEY_PASSWORD is wrong or missing" in done.stdout
    assert "no password was given" in done.stdout
    assert "pass phrase" not in done.stdout + done.stderr


def test_key_of_another_certificate(certs: SandboxCerts) -> None:
    """A key that does not belong to the certificate is named as such."""
    with pytest.raises(CertificateError, match="certificate and key do not match"):
        build_ssl_context(certs.client_cert_file, certs.other_client_key_file, None, certs.ca_file)


def test_unreadable_files(certs: SandboxCerts, tmp_path: Path) -> None:
    """Missing files, a non-PEM certificate or key, and a cert file without key each say so."""
    missing = tmp_path / "missing.pem"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(CertificateError, match=r"cannot read certificate file .*missing.pem"):
        build_ssl_context(missing, certs.client_key_file, certs.key_password, certs.ca_file)
    with pytest.raises(CertificateError, match=r"PSA_CERT_FILE .* holds no PEM certificate"):
        build_ssl_context(garbage, certs.client_key_file, certs.key_password, certs.ca_file)
    with pytest.raises(CertificateError, match=r"PSA_KEY_FILE .* is not a readable PEM private"):
        build_ssl_context(certs.client_cert_file, garbage, certs.key_password, certs.ca_file)
    with pytest.raises(CertificateError, match="holds no private key: set PSA_KEY_FILE"):
        build_ssl_context(certs.client_cert_file, None, certs.key_password, certs.ca_file)


def test_bad_ca_file(certs: SandboxCerts, tmp_path: Path) -> None:
    """PSA_CA_FILE that is not a PEM bundle, or missing, is reported as such."""
    not_pem = tmp_path / "ca.txt"
    not_pem.write_text("hello")
    with pytest.raises(CertificateError, match=r"PSA_CA_FILE .* is not a PEM CA bundle"):
        build_ssl_context(
            certs.client_cert_file, certs.client_key_file, certs.key_password, not_pem
        )
    with pytest.raises(CertificateError, match="cannot read PSA_CA_FILE"):
        build_ssl_context(
            certs.client_cert_file,
            certs.client_key_file,
            certs.key_password,
            tmp_path / "nope.pem",
        )


def test_expiry(certs: SandboxCerts) -> None:
    """Expiry is aware UTC; days are positive for a valid cert and negative for an expired one."""
    expiry = certificate_expiry(certs.client_cert_file)
    assert expiry.tzinfo is not None and expiry > datetime.now(UTC)
    assert days_until_expiry(certs.client_cert_file) > 30
    assert days_until_expiry(certs.expired_client_cert_file) < 0
    at_expiry = days_until_expiry(certs.client_cert_file, now=expiry)
    assert at_expiry == 0
    assert days_until_expiry(certs.client_combined_file) == pytest.approx(
        days_until_expiry(certs.client_cert_file), abs=0.01
    )
