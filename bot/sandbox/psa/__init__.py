"""A local imitation of the Stellantis Connected Car B2B Web API over mutual TLS.

Used by the client's tests, ``fleetbot demo``/``sandbox`` and the benchmarks. It imports nothing
from the real client (a double sharing the client's models would share its mistakes)::

    certs = SandboxCerts.create(tmp_dir)
    with PsaSandbox(certs, vehicles=25) as sandbox:
        env = sandbox.env("fleets")   # PSA_* variables pointing at it
"""

from __future__ import annotations

from bot.sandbox.psa.certs import SandboxCerts, SandboxCredentials
from bot.sandbox.psa.server import PsaSandbox, RecordedRequest, SandboxStats

__all__ = ["PsaSandbox", "RecordedRequest", "SandboxCerts", "SandboxCredentials", "SandboxStats"]
