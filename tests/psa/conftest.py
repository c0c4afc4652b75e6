"""Fixtures for the API client tests: a running sandbox, our mTLS context, clients."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.psa.client import PsaClient
from bot.psa.tls import build_ssl_context
from bot.sandbox.psa import PsaSandbox, SandboxCerts, SandboxCredentials
from tests.conftest import FAST_RETRY

CREDENTIALS = SandboxCredentials()

ClientFactory = Callable[..., PsaClient]


@pytest.fixture(scope="session")
def client_context(certs: SandboxCerts) -> ssl.SSLContext:
    """Our real mTLS context for the sandbox (encrypted key, sandbox CA)."""
    return build_ssl_context(
        certs.client_cert_file, certs.client_key_file, certs.key_password, certs.ca_file
    )


@pytest.fixture
def sandbox(certs: SandboxCerts) -> Iterator[PsaSandbox]:
    """A fresh sandbox with 25 vehicles on 127.0.0.1."""
    with PsaSandbox(certs, vehicles=25) as running:
        yield running


@pytest.fixture
def make_client(sandbox: PsaSandbox, client_context: ssl.SSLContext) -> Iterator[ClientFactory]:
    """Build clients on the sandbox (closed at teardown); keyword arguments override defaults."""
    made: list[PsaClient] = []

    def make(style: str = "fleets", **overrides: Any) -> PsaClient:
        options: dict[str, Any] = {
            "client_id": CREDENTIALS.client_id,
            "username": CREDENTIALS.username,
            "password": CREDENTIALS.password,
            "ssl_context": client_context,
            "fleet_id": sandbox.fleet_id,
            "style": style,
            "retry": FAST_RETRY,
            "ca_file_label": "sandbox CA",
        }
        options.update(overrides)
        client = PsaClient(sandbox.base_url, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def context_with(
    cert: Path | None, key: Path | None, ca: Path, password: str | None = None
) -> ssl.SSLContext:
    """A client context with an arbitrary (possibly absent) certificate, for failure tests."""
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None, password=password)
    return context


def mock_http(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    """An httpx client on a MockTransport, for the one case a real server cannot produce."""
    return httpx.Client(
        base_url="https://api.example/connectedcar/v3", transport=httpx.MockTransport(handler)
    )
