"""The PSA sandbox server: HTTP/1.1 over mutual TLS, routing, HAL paging, errors, rate limits.

Choices where the vendor documentation is silent (tests and the client rely on them):

- Auth order: client certificate (TLS), then ``client_id`` then HTTP Basic (401 gateway bodies),
  then rate limits (429), then fault knobs, then the route. Unknown paths get the gateway's 404.
- Errors: xError ``{code, uuid, message, timestamp}`` with ``application/json``. Codes: 40001
  pageSize, 40002 indexRange, 40003 pageToken, 40004 timestamps, 40005 monitor body, 40006 other
  query value, 40007 missing ``fleet-id`` header; 404: 40400 no data in range (also an empty
  collection), 40410 unknown vehicle, 40420 unknown alert, 40430 unknown trip, 40440 unknown
  monitor, 40450 unknown fleet; 50000 internal error (fault knob).
- Collections are sorted oldest first (alerts by ``startedAt``, trips by ``startedAt``,
  vehicles in fleet order); ``currentPage`` counts from 1; ``pageToken`` is base64url JSON of the
  offset and a hash of the other query parameters (a token reused with other filters is a 400).
  ``_links`` hrefs are absolute and never carry ``client_id``.
- ``timestamps``: an alert matches when its life [startedAt, endAt or still active] meets any
  interval (so ``T/`` returns alerts active since T or ended after T); a trip matches when its
  ``startedAt`` falls in one. The spec does not say which; ``alerts_match_start = True`` makes
  alerts match by ``startedAt`` only, the other reading clients must also survive. A ``+`` sent
  raw (decoded as a space) is a 400, as at the gateway.
- Rate limits count accepted requests in sliding windows (1 s and 24 h, monotonic clock);
  ``stats.peak_per_second`` counts every request received in any 1 s window.
- Faults: one draw per accepted request from ``random.Random(fault_seed)`` against the
  cumulative rates (throttle, error, timeout, malformed, in that order); a "timeout" waits
  ``hang_seconds`` then answers normally.
- Hostile data knobs (per vehicle): :meth:`PsaSandbox.inject_alert` adds a raw record (any JSON
  value, ``NaN`` and ``Infinity`` included) to the vehicle's alerts whatever the filters,
  :meth:`PsaSandbox.set_alert_page` replaces its alerts answer with raw bytes, and
  :meth:`PsaSandbox.set_endless_alerts` gives every alerts page a fresh next link.
  :meth:`PsaSandbox.push_raw_alert` sends a raw record to running alert monitors.
- The fleet-wide alert collection (``/fleets/{fid}/alerts``, ``/fleet/alerts``) is served as
  specified (deprecated since 3.17); :meth:`PsaSandbox.refuse_fleet_alerts` makes the gateway
  refuse it the ways a real one may: 404 with its own body, 405, 410 or 501. So are the fleet's
  maintenances (``/fleets/{fid}/maintenances``; :meth:`PsaSandbox.refuse_maintenances`) and a
  vehicle's ``/maintenance``. Statuses follow the spec and carry no maintenance block unless
  ``status_maintenance`` is set (some gateways add one; the report falls back on it).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import math
import random
import re
import socket
import ssl
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.sandbox.psa import fleet as data
from bot.sandbox.psa.certs import SandboxCerts, SandboxCredentials
from bot.sandbox.psa.webhooks import WebhookDispatcher, build_delivery, webhook_of

log = logging.getLogger(__name__)

BASE_PATH = "/connectedcar/v3"
HAL = "application/hal+json"
GEOJSON = "application/vnd.geo+json"
JSON = "application/json"
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0
MAX_RECORDED = 10_000
MAX_PAGE_SIZE = 60
MAX_BODY = 1_000_000

# Gateway (IBM API Connect style) messages.
MSG_NO_CLIENT_ID = "Client id not registered."
MSG_BAD_CREDENTIALS = (
    "Cannot pass the security checks that are required by the target API or operation, "
    "Enable debug headers for more details."
)
MSG_RATE_LIMIT = "Rate Limit exceeded"
MSG_NO_RESOURCE = "No resources match requested URI"
MSG_NOT_ALLOWED = "The method is not allowed for the requested URL."
MSG_GONE = "The requested resource is no longer available."
MSG_NOT_IMPLEMENTED = "The requested operation is not implemented."
#: how the gateway may refuse an operation it does not serve (status → reason, detail)
REFUSALS: dict[int, tuple[str, str]] = {
    404: ("Not Found", MSG_NO_RESOURCE),
    405: ("Method Not Allowed", MSG_NOT_ALLOWED),
    410: ("Gone", MSG_GONE),
    501: ("Not Implemented", MSG_NOT_IMPLEMENTED),
}
MSG_BAD_GATEWAY = "The backend server did not answer in time."
MSG_UNAVAILABLE = "The service is temporarily unavailable, try again later."
# Application (xError) messages.
MSG_NO_DATA = "No data available for such context."
MSG_NO_VEHICLE = "no vehicle"
MSG_NO_ALERT = "no alert"
MSG_NO_TRIP = "no trip"
MSG_NO_MONITOR = "no monitor"
MSG_NO_FLEET = "no fleet"
MSG_PAGE_SIZE = "pageSize must be an integer between 1 and 60."
MSG_INDEX_RANGE = "indexRange must match ^\\d+-\\d*$ (e.g. 0- or 0-9)."
MSG_PAGE_TOKEN = "pageToken is invalid or was issued for another query."  # noqa: S105 - not a secret
MSG_TIMESTAMPS = "timestamps: {problem} (encode '+' as %2B)."
MSG_TOO_MANY_TIMESTAMPS = "timestamps accepts at most 10 intervals."
MSG_FLEET_HEADER = "the fleet-id header is required."
MSG_BAD_QUERY = "{name} is invalid: {value!r}."
MSG_INTERNAL = "Internal error, please retry later."

CODE_PAGE_SIZE, CODE_INDEX_RANGE, CODE_PAGE_TOKEN, CODE_TIMESTAMPS = 40001, 40002, 40003, 40004
CODE_MONITOR_BODY, CODE_BAD_QUERY, CODE_FLEET_HEADER = 40005, 40006, 40007
CODE_NO_DATA, CODE_NO_VEHICLE, CODE_NO_ALERT, CODE_NO_TRIP = 40400, 40410, 40420, 40430
CODE_NO_MONITOR, CODE_NO_FLEET, CODE_INTERNAL = 40440, 40450, 50000

_INDEX_RANGE = re.compile(r"^(\d+)-(\d*)$")
_FLOAT_RANGE = re.compile(r"^(\d+(?:\.\d)?)-(\d+(?:\.\d)?)?$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_TRIGGER_NAME = re.compile(r"^[a-zA-Z]+[._]?[0-9]*$")
_DATA_TRIGGERS_V3 = {
    "vehicle.alert", "vehicle.odometer", "vehicle.powertrain.status",
    "vehicle.engines.thermic.oil.temp", "vehicle.energy.electric.level",
    "vehicle.energy.electric.autonomy", "vehicle.energy.fuel.level",
    "vehicle.energy.fuel.autonomy", "vehicle.autonomy", "vehicle.energy.charging.status",
    "vehicle.energy.charging.plugged", "vehicle.energy.charging.type",
    "vehicle.doorsState.lockedState", "vehicle.doorsState.opening", "vehicle.kinetic.moving",
    "vehicle.kinetic.speed", "vehicle.trip", "vehicle.trip.start", "vehicle.trip.stop",
    "vehicle.trip.duration", "vehicle.trip.distance", "vehicle.trip.state",
    "vehicle.maintenance.daysBeforeMaintenance", "vehicle.maintenance.mileageBeforeMaintenance",
    "vehicle.safety.beltWarning", "environment.air.temp", "privacy.state",
    "vehicle.drivingBehavior.mode", "vehicle.collision.side", "vehicle.collision.severity",
    "vehicle.safety.autoECallTriggering", "vehicle.preconditioning.airConditioning",
    "vehicle.alarm.trigger.type", "vehicle.alarm.status.activation", "stolen.state",
}  # fmt: skip
_OPS = {"equalsTo", "greaterThan", "lowerThan", "includedIn", "onChange"}
_EXTENSIONS_V3 = {
    "vehicle.doorsState", "vehicle.status", "vehicle.maintenance", "vehicle.position",
    "vehicle.telemetry", "vehicle.alerts", "vehicle.collisions", "vehicle.trip", "vehicle.stolen",
}  # fmt: skip


# ------------------------------------------------------------------------------- public bits


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox received it (for spec validation of the client)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""


class SandboxStats:
    """Thread-safe counters of what the sandbox saw."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.peak_per_second = 0
        self.throttled_over_burst = 0
        self.connections = 0
        self.requests_by_path: Counter[str] = Counter()

    def on_request(self, path: str, now: float) -> None:
        """Count a request and update the 1 s sliding-window peak."""
        with self._lock:
            self.requests += 1
            self.requests_by_path[path] += 1
            self._window.append(now)
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            self.peak_per_second = max(self.peak_per_second, len(self._window))

    def on_status(self, status: int, *, over_burst: bool = False) -> None:
        """Count a response status."""
        with self._lock:
            self.by_status[status] += 1
            if over_burst:
                self.throttled_over_burst += 1

    def on_connection(self) -> None:
        """Count an accepted TLS connection."""
        with self._lock:
            self.connections += 1


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    over_burst: bool = False
    hang: bool = False


class _ApiError(Exception):
    """Raised inside handlers to answer with an error body."""

    def __init__(self, response: _Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class _Ctx:
    """What a route handler needs about one request."""

    method: str
    style: str  # "fleets" | "quickguide"
    fid: str
    params: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes
    path: str

    def first(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


# --------------------------------------------------------------------------- HTTP plumbing


class _Handler(BaseHTTPRequestHandler):
    """Parses each request and hands it to the sandbox; keeps connections alive."""

    protocol_version = "HTTP/1.1"
    server_version = "PsaSandboxGateway/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: _TLSServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("psa sandbox: " + format, *args)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = sandbox._handle(self.command, split.path, split.query, headers, body)
        if response.hang and sandbox._stopping.wait(sandbox.hang_seconds):
            self.close_connection = True
            return
        delay = sandbox.latency
        if delay > 0 and sandbox._stopping.wait(delay):
            self.close_connection = True
            return
        # Counted before sending, so a client that has its answer also sees it counted.
        sandbox.stats.on_status(response.status, over_burst=response.over_burst)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class _TLSServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that does the TLS handshake in the worker thread, quietly."""

    daemon_threads = True
    block_on_close = False
    sandbox: PsaSandbox

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, sandbox: PsaSandbox):
        self.ssl_context = context
        self.sandbox = sandbox
        self.conn_lock = threading.Lock()
        self.open_sockets: set[socket.socket] = set()
        self.workers: set[threading.Thread] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._worker, args=(request, client_address), name="psa-sandbox-conn"
        )
        thread.daemon = True
        with self.conn_lock:
            self.workers.add(thread)
            self.open_sockets.add(request)
        thread.start()

    def _worker(self, request: socket.socket, client_address: Any) -> None:
        conn: socket.socket = request
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            # Headers and body go out in two writes: without NODELAY, Nagle + delayed ACK
            # would add ~40 ms to every keep-alive response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = self.ssl_context.wrap_socket(
                request, server_side=True, do_handshake_on_connect=False
            )
            with self.conn_lock:
                self.open_sockets.discard(request)
                self.open_sockets.add(conn)
            if self.sandbox._stopping.is_set():
                return
            conn.do_handshake()
            self.sandbox.stats.on_connection()
            conn.settimeout(IDLE_TIMEOUT)
            self.finish_request(conn, client_address)
        except (ssl.SSLError, OSError, ValueError) as exc:
            log.debug("psa sandbox: connection from %s dropped: %s", client_address, exc)
        except Exception:
            log.debug("psa sandbox: handler failed", exc_info=True)
        finally:
            with self.conn_lock:
                self.open_sockets.discard(conn)
                self.open_sockets.discard(request)
                self.workers.discard(threading.current_thread())
            self.shutdown_request(conn)
            if conn is not request:
                request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("psa sandbox: error on %s", client_address, exc_info=True)

    def close_all(self, timeout: float) -> None:
        """Wake every connection thread (shut its socket) and wait for them to finish."""
        with self.conn_lock:
            sockets = list(self.open_sockets)
            workers = list(self.workers)
        for sock in sockets:
            # Plain socket shutdown: wakes a blocked read without touching the SSL object.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in workers:
            thread.join(max(0.0, deadline - time.monotonic()))


class _RateLimits:
    """Sliding-window counters of accepted requests (1 s burst and 24 h quota)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.second: deque[float] = deque()
        self.day: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.second and self.second[0] <= now - 1.0:
            self.second.popleft()
        while self.day and self.day[0] <= now - 86_400.0:
            self.day.popleft()

    def admit(self, now: float, burst: int, daily: int) -> tuple[str | None, float]:
        """Count the request if allowed; return (None | "burst" | "daily", retry_after)."""
        with self._lock:
            self._trim(now)
            if len(self.day) >= daily:
                return "daily", max(1.0, math.ceil(self.day[0] + 86_400.0 - now))
            if len(self.second) >= burst:
                return "burst", 1.0
            self.second.append(now)
            self.day.append(now)
            return None, 0.0

    def remaining(self, now: float, burst: int, daily: int) -> tuple[int, int]:
        """Return (daily remaining, burst remaining)."""
        with self._lock:
            self._trim(now)
            return max(0, daily - len(self.day)), max(0, burst - len(self.second))


# ------------------------------------------------------------------------------ the sandbox


Route = tuple[str, str, re.Pattern[str], str]


def _routes() -> list[Route]:
    seg = r"(?P<{}>[^/]+)"
    f, v, a, t, m = (seg.format(n) for n in ("fid", "vid", "aid", "tid", "mid"))
    table = [
        ("GET", "fleets", "/fleets", "fleets"),
        ("GET", "fleets", f"/fleets/{f}", "fleet"),
        ("GET", "fleets", f"/fleets/{f}/vehicles", "vehicles"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}", "vehicle"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/status", "status"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/lastPosition", "last_position"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/alerts", "alerts"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/alerts/{a}", "alert"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/trips", "trips"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/trips/{t}", "trip"),
        ("GET", "fleets", f"/fleets/{f}/alerts", "fleet_alerts"),
        ("GET", "fleets", f"/fleets/{f}/maintenances", "maintenances"),
        ("GET", "fleets", f"/fleets/{f}/vehicles/{v}/maintenance", "maintenance"),
        ("GET", "fleets", f"/fleets/{f}/alerts/{a}", "fleet_alert"),
        ("GET", "fleets", f"/fleets/{f}/monitors", "monitors"),
        ("POST", "fleets", f"/fleets/{f}/monitors", "create_monitor"),
        ("GET", "fleets", f"/fleets/{f}/monitors/{m}", "monitor"),
        ("PUT", "fleets", f"/fleets/{f}/monitors/{m}", "update_monitor"),
        ("DELETE", "fleets", f"/fleets/{f}/monitors/{m}", "delete_monitor"),
        ("PUT", "fleets", f"/fleets/{f}/monitors/{m}/status", "monitor_status"),
        ("GET", "quickguide", "/fleet", "fleet"),
        ("GET", "quickguide", "/fleet/vehicles", "vehicles"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}", "vehicle"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/status", "status"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/lastPosition", "last_position"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/alerts", "alerts"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/alerts/{a}", "alert"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/trips", "trips"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/trips/{t}", "trip"),
        ("GET", "quickguide", "/fleet/alerts", "fleet_alerts"),
        ("GET", "quickguide", "/fleet/maintenances", "maintenances"),
        ("GET", "quickguide", f"/fleet/vehicles/{v}/maintenance", "maintenance"),
        ("GET", "quickguide", "/fleet/monitors", "monitors"),
        ("POST", "quickguide", "/fleet/monitors", "create_monitor"),
        ("GET", "quickguide", f"/fleet/monitors/{m}", "monitor"),
        ("DELETE", "quickguide", f"/fleet/monitors/{m}", "delete_monitor"),
        ("PUT", "quickguide", f"/fleet/monitors/{m}/status", "monitor_status"),
    ]
    return [(meth, style, re.compile(f"^{pattern}$"), name) for meth, style, pattern, name in table]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PsaSandbox:
    """A local imitation of the Connected Car B2B Web API v3 over mutual TLS on 127.0.0.1."""

    ROUTES: ClassVar[list[Route]] = _routes()

    def __init__(
        self,
        certs: SandboxCerts,
        *,
        credentials: SandboxCredentials = SandboxCredentials(),  # noqa: B008 - frozen value
        vehicles: int = 25,
        seed: int = 7,
        fleet_id: str = "fleet-demo-1",
        burst_limit: int = 100,
        daily_limit: int = 100_000,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.certs = certs
        self.credentials = credentials
        self.fleet_id = fleet_id
        self.burst_limit = burst_limit
        self.daily_limit = daily_limit
        self.latency = latency
        self.error_rate = 0.0
        self.timeout_rate = 0.0
        self.malformed_rate = 0.0
        self.throttle_rate = 0.0
        self.hang_seconds = 30.0
        self.alerts_match_start = False  # timestamps match an alert's start, not its life
        #: add a ``maintenance`` block to statuses, as some gateways do (neither spec has it)
        self.status_maintenance = False
        self.host = host
        self.port = port
        self.clock = clock or _utc_now
        self._lock = threading.RLock()
        self._fleet = data.Fleet(seed=seed, fleet_id=fleet_id, now=self.clock(), vehicles=vehicles)
        self._fault_seed = 0
        self._fault_rng = random.Random(0)
        self._limits = _RateLimits()
        self._stats = SandboxStats()
        self._recorded: deque[RecordedRequest] = deque(maxlen=MAX_RECORDED)
        self._monitors: dict[str, dict[str, Any]] = {}
        self._monitor_rng = random.Random(f"{seed}:monitors")
        self._away: set[str] = set()  # ids of vehicles taken out of the fleet for now
        self._stopping = threading.Event()
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._webhooks = WebhookDispatcher()
        self._injected: dict[str, list[object]] = {}  # vehicle id → raw alert records
        self._alert_pages: dict[str, bytes] = {}  # vehicle id → raw alerts answer
        self._endless: set[str] = set()  # vehicle ids whose alerts never stop paging
        self._fleet_alerts_refusal: int | None = None  # gateway status refusing fleet alerts
        self._maintenances_refusal: int | None = None  # the same for fleet maintenances
        self._basic = "Basic " + base64.b64encode(
            f"{credentials.username}:{credentials.password}".encode()
        ).decode("ascii")

    # --- lifecycle

    def start(self) -> PsaSandbox:
        """Bind, start serving in a background thread, and return self."""
        if self._server is not None:
            return self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certs.server_cert_file, self.certs.server_key_file)
        context.load_verify_locations(cafile=self.certs.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
        self._stopping.clear()
        if self._webhooks.stopped:  # restarted after stop(): deliver again
            self._webhooks = WebhookDispatcher(backoff=self._webhooks.backoff)
        self._server = _TLSServer((self.host, self.port), context, self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="psa-sandbox"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the webhook threads."""
        self._stopping.set()
        server, thread = self._server, self._thread
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_all(timeout=5.0)
        if thread is not None:
            thread.join(timeout=5.0)
        self._webhooks.stop()
        self._server = self._thread = None

    def __enter__(self) -> PsaSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>/connectedcar/v3`` (both styles are served under it)."""
        if self._server is None:
            raise RuntimeError("PsaSandbox.base_url is known once start() has bound the port")
        return f"https://{self.host}:{self.port}{BASE_PATH}"

    def env(self, style: str = "fleets") -> dict[str, str]:
        """Environment variables that point Fleetbot at this sandbox."""
        if style not in ("fleets", "quickguide"):
            raise ValueError(f"style must be 'fleets' or 'quickguide', not {style!r}")
        return {
            "PSA_API_URL": self.base_url,
            "PSA_API_STYLE": style,
            "PSA_FLEET_ID": self.fleet_id,
            "PSA_CLIENT_ID": self.credentials.client_id,
            "PSA_USERNAME": self.credentials.username,
            "PSA_PASSWORD": self.credentials.password,
            "PSA_CERT_FILE": str(self.certs.client_cert_file),
            "PSA_KEY_FILE": str(self.certs.client_key_file),
            "PSA_KEY_PASSWORD": self.certs.key_password,
            "PSA_CA_FILE": str(self.certs.ca_file),
        }

    # --- knobs and observations

    @property
    def fault_seed(self) -> int:
        """Seed of the fault draws; setting it restarts the sequence."""
        return self._fault_seed

    @fault_seed.setter
    def fault_seed(self, value: int) -> None:
        with self._lock:
            self._fault_seed = value
            self._fault_rng = random.Random(value)

    @property
    def stats(self) -> SandboxStats:
        """Counters since start or the last :meth:`reset_stats`."""
        return self._stats

    def reset_stats(self) -> None:
        """Start counting afresh (the rate-limit windows are kept)."""
        self._stats = SandboxStats()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last 10,000 requests received, oldest first."""
        with self._lock:
            return list(self._recorded)

    @property
    def monitors(self) -> list[dict[str, Any]]:
        """Copies of the monitors (v3 ``Monitor`` objects)."""
        with self._lock:
            return [self._monitor_v3(m, self._link_fn("fleets")) for m in self._monitors.values()]

    @property
    def webhook_deliveries(self) -> list[tuple[str, int | str]]:
        """Every webhook attempt: (url, HTTP status or error text)."""
        with self._webhooks._lock:
            return list(self._webhooks.deliveries)

    @property
    def webhook_bodies(self) -> list[dict[str, Any]]:
        """The MonitorEvents bodies of every attempt, decoded, in attempt order."""
        with self._webhooks._lock:
            return [json.loads(d.body) for d in self._webhooks.sent]

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until queued webhook deliveries are done (succeeded or gave up)."""
        return self._webhooks.wait_idle(timeout)

    def redeliver_last_event(self) -> None:
        """POST the last MonitorEvents batch again, unchanged (receivers must be idempotent)."""
        self._webhooks.redeliver_last()

    @property
    def webhook_backoff(self) -> tuple[float, ...]:
        """Waits between webhook attempts (its length + 1 is the number of attempts)."""
        return self._webhooks.backoff

    @webhook_backoff.setter
    def webhook_backoff(self, value: tuple[float, ...]) -> None:
        self._webhooks.backoff = tuple(value)

    # --- data access and changes

    def vehicles(self) -> list[dict[str, Any]]:
        """Copies of the fleet's vehicles as v3 objects (``id``, ``vin``, ...; plus label)."""
        link = self._link_fn("fleets")
        with self._lock:
            out = []
            for v in self._fleet.vehicles:
                if v.id in self._away:
                    continue
                item = data.vehicle_v3(v, link, branding="full")
                item["label"] = v.label
                out.append(item)
            return out

    def alerts(self, vin: str | None = None) -> list[dict[str, Any]]:
        """Copies of all alerts (v3 objects), optionally of one vehicle (VIN or id)."""
        link = self._link_fn("fleets")
        with self._lock:
            if vin is None:
                records = self._fleet.fleet_alerts()
            else:
                vehicle = self._fleet.find_vehicle(vin)
                records = self._fleet.vehicle_alerts(vehicle) if vehicle else []
            return [data.alert_v3(a, link) for a in records]

    def trips(self, vin: str) -> list[dict[str, Any]]:
        """Copies of one vehicle's trips (v3 objects)."""
        link = self._link_fn("fleets")
        with self._lock:
            vehicle = self._fleet.find_vehicle(vin)
            return [data.trip_v3(t, link) for t in self._fleet.trips(vehicle)] if vehicle else []

    def add_alert(
        self,
        vin: str,
        type: str = "AddWasherFluid",
        severity: str = "Warning",
        started_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Raise a new active alert on a vehicle (VIN or id) and notify alert monitors."""
        with self._lock:
            vehicle = self._fleet.find_vehicle(vin)
            if vehicle is None:
                raise KeyError(f"no vehicle {vin!r} in the sandbox fleet")
            now = self.clock()
            record = self._fleet.add_alert(vehicle, type, severity, started_at or now, now)
            self._notify(record, now)
            return data.alert_v3(record, self._link_fn("fleets"))

    def end_alert(self, alert_id: str, at: datetime | None = None) -> dict[str, Any]:
        """End an alert (active=False, endAt, updatedAt) and notify alert monitors."""
        with self._lock:
            record = self._fleet.alerts.get(alert_id)
            if record is None:
                raise KeyError(f"no alert {alert_id!r} in the sandbox fleet")
            now = self.clock()
            self._fleet.end_alert(record, at or now, now)
            self._notify(record, now)
            return data.alert_v3(record, self._link_fn("fleets"))

    def add_vehicles(self, n: int) -> None:
        """Grow the fleet by ``n`` vehicles (deterministic: same as creating it that large)."""
        with self._lock:
            self._fleet.add_vehicles(n)

    def remove_vehicle(self, vin: str) -> None:
        """Take a vehicle (VIN or id) out of the fleet: unlisted, and its endpoints answer 404."""
        with self._lock:
            self._away.add(self._vehicle_of(vin).id)

    def restore_vehicle(self, vin: str) -> None:
        """Put a vehicle taken out by :meth:`remove_vehicle` back into the fleet."""
        with self._lock:
            self._away.discard(self._vehicle_of(vin).id)

    def inject_alert(self, vin: str, record: object) -> None:
        """Serve ``record`` as given (any JSON value) among a vehicle's alerts, whatever filters."""
        with self._lock:
            self._injected.setdefault(self._vehicle_of(vin).id, []).append(record)

    def set_alert_page(self, vin: str, body: bytes | None) -> None:
        """Answer a vehicle's alerts with these raw bytes (HTTP 200, HAL); None restores it."""
        with self._lock:
            vid = self._vehicle_of(vin).id
            if body is None:
                self._alert_pages.pop(vid, None)
            else:
                self._alert_pages[vid] = body

    def set_endless_alerts(self, vin: str, endless: bool = True) -> None:
        """Give every page of a vehicle's alerts a next link with a fresh token (a runaway API)."""
        with self._lock:
            vid = self._vehicle_of(vin).id
            if endless:
                self._endless.add(vid)
            else:
                self._endless.discard(vid)

    def refuse_fleet_alerts(self, status: int | None = 404) -> None:
        """Make the gateway refuse the fleet-wide alert collection with ``status``; None serves it.

        404 answers the gateway's own body ("No resources match requested URI"), as for a path
        it does not know; 405, 410 and 501 answer a gateway body with that status.
        """
        if status is not None and status not in REFUSALS:
            raise ValueError(f"refusal status must be one of {sorted(REFUSALS)}, not {status}")
        with self._lock:
            self._fleet_alerts_refusal = status

    def refuse_maintenances(self, status: int | None = 404) -> None:
        """Make the gateway refuse the fleet-wide maintenances, like :meth:`refuse_fleet_alerts`."""
        if status is not None and status not in REFUSALS:
            raise ValueError(f"refusal status must be one of {sorted(REFUSALS)}, not {status}")
        with self._lock:
            self._maintenances_refusal = status

    def maintenances(self) -> list[dict[str, Any]]:
        """Copies of every present vehicle's next maintenance (v3 objects)."""
        link = self._link_fn("fleets")
        with self._lock:
            return [
                data.maintenance_v3(v, link) for v in self._fleet.vehicles if v.id not in self._away
            ]

    def push_raw_alert(self, vin: str, record: object) -> None:
        """Send ``record`` as the changed alert of a vehicle to every running alert monitor."""
        with self._lock:
            vehicle = self._vehicle_of(vin)
            now = self.clock()
            link = self._link_fn("fleets")
            extensions: dict[str, object] = {
                "vehicle.alerts": [
                    data.alert_v3(a, link, links=False)
                    for a in self._fleet.vehicle_alerts(vehicle)
                    if a.active
                ],
                "vehicle.position": data.position_v3(vehicle.place, vehicle.status_at),
            }
            for monitor in self._monitors.values():
                if monitor["status"] != "Running" or not _watches_alerts(monitor["parameter"]):
                    continue
                self._webhooks.submit(
                    build_delivery(
                        monitor_id=monitor["id"],
                        parameter=monitor["parameter"],
                        fleet_id=self.fleet_id,
                        vehicle_id=vehicle.id,
                        vin=vehicle.vin,
                        event_date=data.rfc3339(now),
                        alert=record,  # type: ignore[arg-type]  # hostile on purpose
                        extensions=extensions,
                    )
                )

    def _vehicle_of(self, vin: str) -> data.VehicleRecord:
        vehicle = self._fleet.find_vehicle(vin)
        if vehicle is None:
            raise KeyError(f"no vehicle {vin!r} in the sandbox fleet")
        return vehicle

    # --- request handling

    def _link_fn(self, style: str) -> data.Links:
        base = f"https://{self.host}:{self.port}{BASE_PATH}"
        fid = self.fleet_id

        def link(path: str) -> dict[str, str]:
            return {"href": base + path.replace("{fid}", fid)}

        return link

    def _handle(
        self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> _Response:
        now_mono = time.monotonic()
        query = parse_qsl(raw_query, keep_blank_values=True)
        with self._lock:
            self._recorded.append(RecordedRequest(method, path, query, headers, body, raw_query))
        self._stats.on_request(path, now_mono)
        response = self._respond(method, path, query, headers, body, now_mono)
        daily_left, burst_left = self._limits.remaining(
            now_mono, self.burst_limit, self.daily_limit
        )
        response.headers.update(
            {
                "X-RateLimit-Limit-1": str(self.daily_limit),
                "X-RateLimit-Remaining-1": str(daily_left),
                "X-RateLimit-Limit-2": str(self.burst_limit),
                "X-RateLimit-Remaining-2": str(burst_left),
            }
        )
        return response

    def _respond(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        now_mono: float,
    ) -> _Response:
        if not path.startswith(BASE_PATH + "/") and path != BASE_PATH:
            return _gateway(404, "Not Found", MSG_NO_RESOURCE)
        client_ids = [v for k, v in query if k == "client_id"]
        if client_ids != [self.credentials.client_id]:
            return _gateway(401, "Unauthorized", MSG_NO_CLIENT_ID)
        if headers.get("authorization", "") != self._basic:
            response = _gateway(401, "Unauthorized", MSG_BAD_CREDENTIALS)
            response.headers["WWW-Authenticate"] = 'Basic realm="connectedcar"'
            return response
        refused, retry_after = self._limits.admit(now_mono, self.burst_limit, self.daily_limit)
        if refused:
            response = _gateway(429, "Too Many Requests", MSG_RATE_LIMIT)
            response.headers["Retry-After"] = str(int(retry_after))
            response.over_burst = refused == "burst"
            return response
        fault = self._draw_fault()
        if fault == "throttle":
            response = _gateway(429, "Too Many Requests", MSG_RATE_LIMIT)
            response.headers["Retry-After"] = "1"
            return response
        if fault == "error":
            return self._server_error()
        response = self._route(method, path[len(BASE_PATH) :] or "/", query, headers, body)
        if fault == "timeout":
            response.hang = True
        elif fault == "malformed":
            response = _Response(200, response.body[: max(1, len(response.body) // 2)] or b"{", HAL)
        return response

    def _draw_fault(self) -> str | None:
        rates = (
            ("throttle", self.throttle_rate),
            ("error", self.error_rate),
            ("timeout", self.timeout_rate),
            ("malformed", self.malformed_rate),
        )
        if not any(rate > 0 for _, rate in rates):
            return None
        with self._lock:
            draw = self._fault_rng.random()
        edge = 0.0
        for name, rate in rates:
            edge += max(rate, 0.0)
            if draw < edge:
                return name
        return None

    def _server_error(self) -> _Response:
        with self._lock:
            kind = self._fault_rng.randrange(3)
        if kind == 0:
            return _xerror(500, CODE_INTERNAL, MSG_INTERNAL)
        if kind == 1:
            return _gateway(502, "Bad Gateway", MSG_BAD_GATEWAY)
        return _gateway(503, "Service Unavailable", MSG_UNAVAILABLE)

    def _route(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> _Response:
        for route_method, style, pattern, name in self.ROUTES:
            match = pattern.match(path)
            if match is None or route_method != method:
                continue
            params = match.groupdict()
            try:
                if style == "quickguide":
                    fid = headers.get("fleet-id", "")
                    if not fid:
                        raise _ApiError(_xerror(400, CODE_FLEET_HEADER, MSG_FLEET_HEADER))
                else:
                    fid = params.pop("fid", self.fleet_id)
                if fid != self.fleet_id:
                    raise _ApiError(_xerror(404, CODE_NO_FLEET, MSG_NO_FLEET))
                ctx = _Ctx(method, style, fid, params, query, body, path)
                operation: Callable[[_Ctx], _Response] = getattr(self, f"_op_{name}")
                with self._lock:
                    return operation(ctx)
            except _ApiError as exc:
                return exc.response
        return _gateway(404, "Not Found", MSG_NO_RESOURCE)

    # --- helpers for operations

    def _vehicle(self, ctx: _Ctx) -> data.VehicleRecord:
        vehicle = self._fleet.by_id.get(ctx.params["vid"])
        if vehicle is None or vehicle.id in self._away:
            raise _ApiError(_xerror(404, CODE_NO_VEHICLE, MSG_NO_VEHICLE))
        return vehicle

    def _windows(self, ctx: _Ctx) -> list[tuple[datetime | None, datetime | None]] | None:
        items = ctx.all("timestamps")
        if not items:
            return None
        if len(items) > 10:
            raise _ApiError(_xerror(400, CODE_TIMESTAMPS, MSG_TOO_MANY_TIMESTAMPS))
        try:
            return data.parse_timestamps(items, self.clock())
        except data.IntervalError as exc:
            raise _ApiError(
                _xerror(400, CODE_TIMESTAMPS, MSG_TIMESTAMPS.format(problem=exc))
            ) from exc

    def _page(
        self, ctx: _Ctx, items: list[Any], render: Callable[[Any], Any], plural: str
    ) -> _Response:
        """Answer a HAL collection page, or 404 40400 when there is nothing."""
        size_text = ctx.first("pageSize")
        try:
            size = int(size_text) if size_text is not None else MAX_PAGE_SIZE
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _ApiError(_xerror(400, CODE_PAGE_SIZE, MSG_PAGE_SIZE))
        index_match = _INDEX_RANGE.match(ctx.first("indexRange") or "0-")
        if index_match is None:
            raise _ApiError(_xerror(400, CODE_INDEX_RANGE, MSG_INDEX_RANGE))
        lo = int(index_match.group(1))
        hi = int(index_match.group(2)) + 1 if index_match.group(2) else None
        selection = items[lo:hi]
        kept = [(k, v) for k, v in ctx.query if k not in ("pageToken", "client_id")]
        digest = hashlib.sha256(_json(sorted(kept))).hexdigest()[:16]
        offset = 0
        token = ctx.first("pageToken")
        if token is not None:
            offset = _read_token(token, digest)
        if not selection or offset >= len(selection):
            raise _ApiError(_xerror(404, CODE_NO_DATA, MSG_NO_DATA))
        total_pages = math.ceil(len(selection) / size)
        base = f"https://{self.host}:{self.port}{BASE_PATH}{ctx.path}"

        def href(at: int | None) -> dict[str, str]:
            pairs = list(kept) + ([("pageToken", _make_token(at, digest))] if at else [])
            return {"href": base + (f"?{urlencode(pairs)}" if pairs else "")}

        links = {"self": href(offset), "first": href(None)}
        if offset + size < len(selection):
            links["next"] = href(offset + size)
        if offset > 0:
            links["prev"] = href(max(offset - size, 0))
        links["last"] = href((total_pages - 1) * size)
        body = {
            "_links": links,
            "total": len(selection),
            "totalPage": total_pages,
            "currentPage": offset // size + 1,
            "_embedded": {plural: [render(x) for x in selection[offset : offset + size]]},
        }
        return _Response(200, _json(body), HAL)

    # --- operations (called with the lock held)

    def _op_fleets(self, ctx: _Ctx) -> _Response:
        link = self._link_fn("fleets")
        return self._page(
            ctx, [self._fleet], lambda f: data.fleet_v3(f, link, self.clock()), "fleets"
        )

    def _op_fleet(self, ctx: _Ctx) -> _Response:
        link, now = self._link_fn(ctx.style), self.clock()
        if ctx.style == "quickguide":
            return _ok(data.fleet_2019(self._fleet, link, now))
        return _ok(data.fleet_v3(self._fleet, link, now))

    def _op_vehicles(self, ctx: _Ctx) -> _Response:
        link = self._link_fn(ctx.style)
        prefix = ctx.first("vinPrefix") or ""
        items = [
            v for v in self._fleet.vehicles if v.vin.startswith(prefix) and v.id not in self._away
        ]
        if ctx.style == "quickguide":
            return self._page(ctx, items, lambda v: data.vehicle_2019(v, link), "vehicles")
        branding = "single" if "branding" in ",".join(ctx.all("extension")) else None
        return self._page(
            ctx, items, lambda v: data.vehicle_v3(v, link, branding=branding), "vehicles"
        )

    def _op_vehicle(self, ctx: _Ctx) -> _Response:
        vehicle, link = self._vehicle(ctx), self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            return _ok(data.vehicle_2019(vehicle, link))
        branding = "full" if "branding" in ",".join(ctx.all("extension")) else None
        return _ok(data.vehicle_v3(vehicle, link, branding=branding))

    def _op_status(self, ctx: _Ctx) -> _Response:
        vehicle, link = self._vehicle(ctx), self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            status = data.status_2019(vehicle, link)
        else:
            status = data.status_v3(vehicle, link)
        if self.status_maintenance:
            status["maintenance"] = data.maintenance_block(vehicle)
        return _ok(status)

    def _render_maintenance(self, ctx: _Ctx) -> Callable[[data.VehicleRecord], dict[str, Any]]:
        link = self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            return lambda v: data.maintenance_2019(v, link)
        return lambda v: data.maintenance_v3(v, link)

    def _op_maintenances(self, ctx: _Ctx) -> _Response:
        refusal = self._maintenances_refusal
        if refusal is not None:
            return _gateway(refusal, *REFUSALS[refusal])
        present = [v for v in self._fleet.vehicles if v.id not in self._away]
        return self._page(ctx, present, self._render_maintenance(ctx), "maintenances")

    def _op_maintenance(self, ctx: _Ctx) -> _Response:
        return _ok(self._render_maintenance(ctx)(self._vehicle(ctx)))

    def _op_last_position(self, ctx: _Ctx) -> _Response:
        vehicle = self._vehicle(ctx)
        if ctx.style == "quickguide":
            return _ok(data.position_2019(vehicle.place, vehicle.status_at), GEOJSON)
        return _ok(data.position_v3(vehicle.place, vehicle.status_at), GEOJSON)

    def _render_alert(self, ctx: _Ctx) -> Callable[[data.AlertRecord], dict[str, Any]]:
        link = self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            locale = ctx.first("locale")
            return lambda a: data.alert_2019(a, link, locale)
        return lambda a: data.alert_v3(a, link)

    def _filter_alerts(self, ctx: _Ctx, records: list[data.AlertRecord]) -> list[data.AlertRecord]:
        windows = self._windows(ctx)
        if windows is None:
            return records
        if self.alerts_match_start:
            return [a for a in records if data.within(windows, a.started_at)]
        return [a for a in records if data.overlaps(windows, a.started_at, a.end_at)]

    def _op_alerts(self, ctx: _Ctx) -> _Response:
        vehicle = self._vehicle(ctx)
        if vehicle.id in self._alert_pages:
            return _Response(200, self._alert_pages[vehicle.id], HAL)
        records: list[Any] = self._filter_alerts(ctx, self._fleet.vehicle_alerts(vehicle))
        render: Callable[[Any], Any] = self._render_alert(ctx)
        injected = self._injected.get(vehicle.id, [])
        if injected:
            records = [*records, *(_Raw(r) for r in injected)]
            plain = render
            render = lambda x: x.record if isinstance(x, _Raw) else plain(x)  # noqa: E731
        if vehicle.id in self._endless:
            return self._endless_page(ctx, records, render)
        return self._page(ctx, records, render, "alerts")

    def _endless_page(self, ctx: _Ctx, items: list[Any], render: Callable[[Any], Any]) -> _Response:
        """Page n of a collection that never ends: items on page 1, then empty pages."""
        kept = [(k, v) for k, v in ctx.query if k not in ("pageToken", "client_id")]
        digest = hashlib.sha256(_json(sorted(kept))).hexdigest()[:16]
        token = ctx.first("pageToken")
        page = _read_token(token, digest) if token is not None else 0
        base = f"https://{self.host}:{self.port}{BASE_PATH}{ctx.path}"
        following = urlencode([*kept, ("pageToken", _make_token(page + 1, digest))])
        body = {
            "_links": {"next": {"href": f"{base}?{following}"}},
            "currentPage": page + 1,
            "_embedded": {"alerts": [render(x) for x in items] if page == 0 else []},
        }
        return _Response(200, _json(body), HAL)

    def _op_fleet_alerts(self, ctx: _Ctx) -> _Response:
        refusal = self._fleet_alerts_refusal
        if refusal is not None:
            return _gateway(refusal, *REFUSALS[refusal])
        present = [a for a in self._fleet.fleet_alerts() if a.vehicle_id not in self._away]
        records = self._filter_alerts(ctx, present)
        return self._page(ctx, records, self._render_alert(ctx), "alerts")

    def _op_alert(self, ctx: _Ctx) -> _Response:
        vehicle = self._vehicle(ctx)
        record = self._fleet.alerts.get(ctx.params["aid"])
        if record is None or record.vehicle_id != vehicle.id:
            raise _ApiError(_xerror(404, CODE_NO_ALERT, MSG_NO_ALERT))
        return _ok(self._render_alert(ctx)(record))

    def _op_fleet_alert(self, ctx: _Ctx) -> _Response:
        record = self._fleet.alerts.get(ctx.params["aid"])
        if record is None:
            raise _ApiError(_xerror(404, CODE_NO_ALERT, MSG_NO_ALERT))
        return _ok(self._render_alert(ctx)(record))

    def _op_trips(self, ctx: _Ctx) -> _Response:
        records = list(self._fleet.trips(self._vehicle(ctx)))
        windows = self._windows(ctx)
        if windows is not None:
            records = [t for t in records if data.within(windows, t.started_at)]
        for name, attr in (("distance", "distance"), ("duration", "duration")):
            text = ctx.first(name)
            if text is None:
                continue
            match = _FLOAT_RANGE.match(text)
            if match is None:
                raise _ApiError(
                    _xerror(400, CODE_BAD_QUERY, MSG_BAD_QUERY.format(name=name, value=text))
                )
            lo, hi = float(match.group(1)), float(match.group(2) or "inf")
            records = [t for t in records if lo <= getattr(t, attr) <= hi]
        link = self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            return self._page(ctx, records, lambda t: data.trip_2019(t, link), "trips")
        return self._page(ctx, records, lambda t: data.trip_v3(t, link), "trips")

    def _op_trip(self, ctx: _Ctx) -> _Response:
        vehicle, link = self._vehicle(ctx), self._link_fn(ctx.style)
        for record in self._fleet.trips(vehicle):
            if record.id == ctx.params["tid"]:
                if ctx.style == "quickguide":
                    return _ok(data.trip_2019(record, link))
                return _ok(data.trip_v3(record, link))
        raise _ApiError(_xerror(404, CODE_NO_TRIP, MSG_NO_TRIP))

    # --- monitors

    def _monitor_path(self, style: str, mid: str) -> str:
        return (
            f"/fleet/monitors/{mid}" if style == "quickguide" else f"/fleets/{{fid}}/monitors/{mid}"
        )

    def _monitor_v3(self, m: dict[str, Any], link: data.Links) -> dict[str, Any]:
        return {
            "_links": {
                "self": link(self._monitor_path("fleets", m["id"])),
                "fleet": link("/fleets/{fid}"),
            },
            "monitorId": m["id"],
            "monitor": json.loads(json.dumps(m["parameter"])),
            "status": m["status"],
            "createdAt": data.rfc3339(m["created_at"]),
            "updatedAt": data.rfc3339(m["updated_at"]),
        }

    def _monitor_2019(self, m: dict[str, Any], link: data.Links) -> dict[str, Any]:
        return {
            "_links": {
                "self": link(self._monitor_path("quickguide", m["id"])),
                "fleet": link("/fleet"),
            },
            "id": m["id"],
            "status": m["status"],
        }

    def _monitor_ref(self, ctx: _Ctx, m: dict[str, Any]) -> _Response:
        link = self._link_fn(ctx.style)
        path = self._monitor_path(ctx.style, m["id"])
        if ctx.style == "quickguide":
            body = {
                "_links": {"fleet": link("/fleet"), "monitor": link(path), "delete": link(path)},
                "monitorId": m["id"],
            }
            return _Response(201 if ctx.method == "POST" else 200, _json(body), HAL)
        body = {
            "_links": {"fleet": link("/fleets/{fid}"), "monitor": link(path)},
            "monitorId": m["id"],
            "status": m["status"],
            "createdAt": data.rfc3339(m["created_at"]),
            "updatedAt": data.rfc3339(m["updated_at"]),
        }
        return _Response(202, _json(body), HAL, {"Location": link(path)["href"]})

    def _find_monitor(self, ctx: _Ctx) -> dict[str, Any]:
        monitor = self._monitors.get(ctx.params["mid"])
        if monitor is None or monitor["style"] != ctx.style:
            raise _ApiError(_xerror(404, CODE_NO_MONITOR, MSG_NO_MONITOR))
        return monitor

    def _op_monitors(self, ctx: _Ctx) -> _Response:
        link = self._link_fn(ctx.style)
        items = [m for m in self._monitors.values() if m["style"] == ctx.style]
        render = self._monitor_2019 if ctx.style == "quickguide" else self._monitor_v3
        return self._page(ctx, items, lambda m: render(m, link), "monitors")

    def _op_monitor(self, ctx: _Ctx) -> _Response:
        monitor, link = self._find_monitor(ctx), self._link_fn(ctx.style)
        if ctx.style == "quickguide":
            return _ok(self._monitor_2019(monitor, link))
        return _ok(self._monitor_v3(monitor, link))

    def _op_create_monitor(self, ctx: _Ctx) -> _Response:
        parameter = _check_monitor(ctx.body, ctx.style)
        now = self.clock()
        monitor: dict[str, Any] = {
            "id": f"{self._monitor_rng.getrandbits(96):024x}",
            "style": ctx.style,
            "parameter": parameter,
            "status": "Running",
            "created_at": now,
            "updated_at": now,
        }
        self._monitors[monitor["id"]] = monitor
        return self._monitor_ref(ctx, monitor)

    def _op_update_monitor(self, ctx: _Ctx) -> _Response:
        monitor = self._find_monitor(ctx)
        monitor["parameter"] = _check_monitor(ctx.body, ctx.style)
        monitor["updated_at"] = self.clock()
        return self._monitor_ref(ctx, monitor)

    def _op_delete_monitor(self, ctx: _Ctx) -> _Response:
        monitor = self._find_monitor(ctx)
        del self._monitors[monitor["id"]]
        return _Response(200 if ctx.style == "quickguide" else 204, b"", JSON)

    def _op_monitor_status(self, ctx: _Ctx) -> _Response:
        monitor = self._find_monitor(ctx)
        try:
            payload = json.loads(ctx.body or b"null")
        except ValueError:
            payload = None
        # v3 sends {"status": "Paused"}; the 2019 spec's body is the bare string.
        status = payload.get("status") if isinstance(payload, dict) else payload
        if status not in ("Running", "Paused"):
            raise _ApiError(_xerror(400, CODE_MONITOR_BODY, "status must be Running or Paused."))
        monitor["status"] = status
        monitor["updated_at"] = self.clock()
        return self._monitor_ref(ctx, monitor)

    def _notify(self, alert: data.AlertRecord, now: datetime) -> None:
        """Queue a MonitorEvents POST for every running monitor watching vehicle.alert."""
        vehicle = self._fleet.by_id[alert.vehicle_id]
        link = self._link_fn("fleets")
        alert_body = data.alert_v3(alert, link, links=False)
        extensions: dict[str, object] = {
            "vehicle.alerts": [
                data.alert_v3(a, link, links=False)
                for a in self._fleet.vehicle_alerts(vehicle)
                if a.active
            ],
            "vehicle.position": data.position_v3(vehicle.place, vehicle.status_at),
        }
        for monitor in self._monitors.values():
            if monitor["status"] != "Running" or not _watches_alerts(monitor["parameter"]):
                continue
            if "vehicle.status" in (monitor["parameter"].get("extendedEventParam") or []):
                status = data.status_v3(vehicle, link)
                status.pop("_links", None)
                extensions["vehicle.status"] = status
            self._webhooks.submit(
                build_delivery(
                    monitor_id=monitor["id"],
                    parameter=monitor["parameter"],
                    fleet_id=self.fleet_id,
                    vehicle_id=vehicle.id,
                    vin=vehicle.vin,
                    event_date=data.rfc3339(now),
                    alert=alert_body,
                    extensions=extensions,
                )
            )


# ------------------------------------------------------------------------ module helpers


@dataclass(frozen=True)
class _Raw:
    """A record served exactly as given (hostile data knobs)."""

    record: object


def _ok(body: dict[str, Any], content_type: str = HAL) -> _Response:
    return _Response(200, _json(body), content_type)


def _gateway(status: int, message: str, more: str) -> _Response:
    """An API-gateway error body: ``{httpCode, httpMessage, moreInformation}``."""
    body = {"httpCode": str(status), "httpMessage": message, "moreInformation": more}
    return _Response(status, _json(body), JSON)


def _xerror(status: int, code: int, message: str) -> _Response:
    """An application error body: ``{code, uuid, message, timestamp}``."""
    body = {
        "code": code,
        "uuid": str(uuid.uuid4()),
        "message": message,
        "timestamp": data.rfc3339(datetime.now(UTC)),
    }
    return _Response(status, _json(body), JSON)


def _make_token(offset: int, digest: str) -> str:
    raw = _json({"o": offset, "q": digest})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _read_token(token: str, digest: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
        offset = decoded["o"]
        if decoded["q"] != digest or not isinstance(offset, int) or offset < 0:
            raise ValueError("token for another query")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _ApiError(_xerror(400, CODE_PAGE_TOKEN, MSG_PAGE_TOKEN)) from exc
    return offset


def _watches_alerts(parameter: dict[str, Any]) -> bool:
    trigger = parameter.get("triggerParam") or {}
    triggers = trigger.get("triggers") or []
    data_triggers = [t.get("data") or {} for t in triggers] + list(
        trigger.get("dataTriggers") or []
    )
    return any(isinstance(d, dict) and d.get("data") == "vehicle.alert" for d in data_triggers)


def _monitor_error(problem: str) -> _ApiError:
    return _ApiError(_xerror(400, CODE_MONITOR_BODY, f"invalid MonitorParameter: {problem}."))


def _check_monitor(body: bytes, style: str) -> dict[str, Any]:
    """Validate a MonitorParameter (v3.19.2 or 2019 shape) and return it."""
    try:
        parameter = json.loads(body or b"null")
    except ValueError as exc:
        raise _monitor_error("body is not JSON") from exc
    if not isinstance(parameter, dict):
        raise _monitor_error("body must be a JSON object")
    subscribe = parameter.get("subscribeParam")
    if not isinstance(subscribe, dict) or not isinstance(subscribe.get("callback"), dict):
        raise _monitor_error("subscribeParam.callback is required")
    if style == "fleets" and not isinstance(subscribe["callback"].get("webhook"), dict):
        raise _monitor_error("subscribeParam.callback.webhook is required")
    webhook = webhook_of(parameter)
    target = webhook.get("target")
    if not isinstance(target, str) or urlsplit(target).scheme not in ("http", "https"):
        raise _monitor_error("webhook.target must be an http(s) URL")
    if not isinstance(webhook.get("name"), str):
        raise _monitor_error("webhook.name is required")
    for attribute in webhook.get("attributes") or []:
        if not isinstance(attribute, dict) or attribute.get("type") not in (
            "Header",
            "Body",
            "Query",
        ):
            raise _monitor_error("each webhook attribute needs type Header, Body or Query")
        if not isinstance(attribute.get("key"), str) or not isinstance(attribute.get("value"), str):
            raise _monitor_error("each webhook attribute needs a string key and value")
        if attribute["type"] == "Header" and not _HEADER_NAME.match(attribute["key"]):
            # echoes what it refuses, as real validators do (the client must scrub secrets)
            raise _monitor_error(
                f"header attribute {attribute['key']!r}: {attribute['value']!r} is not a header"
            )
    trigger = parameter.get("triggerParam")
    if not isinstance(trigger, dict):
        raise _monitor_error("triggerParam is required")
    if style == "quickguide":
        triggers = trigger.get("dataTriggers") or []
        if not isinstance(triggers, list) or not triggers:
            raise _monitor_error("triggerParam.dataTriggers needs at least one trigger")
        for item in triggers:
            if not isinstance(item, dict) or "data" not in item or item.get("op") not in _OPS:
                raise _monitor_error("each data trigger needs data and a valid op")
        return parameter
    if not isinstance(parameter.get("label"), str):
        raise _monitor_error("label is required")
    triggers = trigger.get("triggers")
    if not isinstance(triggers, list) or not 1 <= len(triggers) <= 5:
        raise _monitor_error("triggerParam.triggers needs 1 to 5 triggers")
    if not isinstance(trigger.get("boolExp"), str) or not trigger["boolExp"].strip():
        raise _monitor_error("triggerParam.boolExp is required")
    names = set()
    for item in triggers:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _TRIGGER_NAME.match(name) or name in names:
            raise _monitor_error("each trigger needs a unique name matching [a-zA-Z]+[._]?[0-9]*")
        names.add(name)
        kinds = [k for k in ("zone", "time", "data") if k in item]
        if len(kinds) != 1:
            raise _monitor_error(f"trigger {name!r} needs exactly one of zone, time or data")
        if "data" in item:
            spec = item["data"]
            if not isinstance(spec, dict) or spec.get("data") not in _DATA_TRIGGERS_V3:
                raise _monitor_error(f"trigger {name!r} has an unknown data operand")
            if spec.get("op") not in _OPS:
                raise _monitor_error(f"trigger {name!r} has an unknown op")
    if not set(re.findall(r"[A-Za-z][A-Za-z0-9._]*", trigger["boolExp"])) <= names:
        raise _monitor_error("boolExp may only name defined triggers")
    for extension in parameter.get("extendedEventParam") or []:
        if extension not in _EXTENSIONS_V3 and not str(extension).startswith("vehicle.telemetry"):
            raise _monitor_error(f"unknown extendedEventParam {extension!r}")
    return parameter
