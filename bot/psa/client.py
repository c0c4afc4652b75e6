"""The Connected Car B2B Web API client: one pooled, thread-safe ``httpx.Client`` over mTLS.

Every call goes through :meth:`PsaClient._send`: the client-side rate limiter, a stamina retry
policy (GETs only, plus anything that never reached the server), and the translation of httpx,
ssl and API errors into :mod:`bot.errors`. Collections are iterated lazily across pages; a
collection the API calls "no data" (404 with code 40400/40410) simply yields nothing, while a
single resource raises :class:`~bot.errors.NoData`.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlencode

import httpx
import stamina

from bot.config import API_REQUIRED, Settings
from bot.errors import (
    ApiAuthError,
    ApiError,
    ApiResponseError,
    ApiUnavailable,
    CertificateError,
    ConfigError,
    NoData,
    NotFound,
    RateLimited,
)
from bot.psa import routes
from bot.psa.dates import interval
from bot.psa.limiter import DEFAULT_MARGIN, RateLimiter
from bot.psa.models import (
    Alert,
    Fleet,
    Json,
    Maintenance,
    Monitor,
    MonitorRef,
    Page,
    Position,
    Trip,
    Vehicle,
    VehicleStatus,
)
from bot.psa.tls import build_ssl_context

log = logging.getLogger(__name__)
T = TypeVar("T")

ACCEPT = "application/hal+json"
# lastPosition answers GeoJSON (spec: application/vnd.geo+json)
ACCEPT_GEO = "application/vnd.geo+json, application/hal+json;q=0.9, application/json;q=0.8"
DEFAULT_BURST_LIMIT = 100
MAX_PAGE_SIZE = 60
NO_DATA_CODES = frozenset({40400, 40410})
#: statuses by which a gateway says it does not serve an operation at all (not "no data")
REFUSAL_STATUSES = frozenset({405, 410, 501})
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=10.0, pool=10.0)
DEFAULT_MAX_CONNECTIONS = 32
ALERT_MONITOR_LABEL = "fleetbot-alerts"
WEBHOOK_NAME = "fleetbot"

# Messages: written for an operator; never a secret in them.
AUTH_REFUSED = "the API refused our credentials: check PSA_USERNAME, PSA_PASSWORD and PSA_CLIENT_ID"
NO_DATA = "the API has no data for this"
NOT_FOUND = "the API does not know this resource"
RATE_LIMITED = "the API kept answering 429 (rate limit): slow down or wait"
SERVER_FAILED = "the API kept failing with a server error"
UNREACHABLE = "cannot reach the API at {host}: {what}"
MALFORMED = "the API sent a body that is not JSON"
UNEXPECTED_BODY = "the API sent JSON of an unexpected shape"
UNEXPECTED_STATUS = "the API refused the request"
PAGE_LOOP = "the API sent the same next-page link twice; stopped paging to avoid a loop"
FOREIGN_NEXT = "the API's next-page link points to another server; not following it"
BAD_NEXT = "the API's next-page link is not a URL we can follow"
SKIPPED_RECORD = "skipped an unreadable %s record of vehicle %s (VIN %s): %s"
NO_MONITOR_ID = "the API accepted the monitor but did not say its id"
BAD_PAGE_SIZE = "page_size must be between 1 and {max}"
SERVER_UNTRUSTED = (
    "the API server's certificate is not trusted by PSA_CA_FILE ({ca}): {detail}. "
    "Check PSA_CA_FILE is the Stellantis CA bundle and PSA_API_URL the right host"
)
CLIENT_CERT_MISSING = (
    "the API asked for our client certificate and got none: set PSA_CERT_FILE (and PSA_KEY_FILE)"
)
CLIENT_CERT_EXPIRED = (
    "the API did not accept our client certificate (PSA_CERT_FILE): it has expired; "
    "ask Stellantis to sign a new CSR"
)
CLIENT_CERT_REJECTED = (
    "the API did not accept our client certificate (PSA_CERT_FILE): expired, or not signed "
    "by Stellantis ({detail})"
)
TLS_FAILED = "the TLS handshake with the API failed ({detail}): check PSA_API_URL and PSA_CA_FILE"

_SERVER_ALERTS = {
    "CERTIFICATE_REQUIRED": CLIENT_CERT_MISSING,
    "HANDSHAKE_FAILURE": CLIENT_CERT_REJECTED,
    "CERTIFICATE_EXPIRED": CLIENT_CERT_EXPIRED,
    "UNKNOWN_CA": CLIENT_CERT_REJECTED,
    "BAD_CERTIFICATE": CLIENT_CERT_REJECTED,
    "CERTIFICATE_UNKNOWN": CLIENT_CERT_REJECTED,
    "UNSUPPORTED_CERTIFICATE": CLIENT_CERT_REJECTED,
    "CERTIFICATE_REVOKED": CLIENT_CERT_REJECTED,
    "ACCESS_DENIED": CLIENT_CERT_REJECTED,
    "DECRYPT_ERROR": CLIENT_CERT_REJECTED,
}


def quiet_http_logs() -> None:
    """Silence httpx's and httpcore's INFO request lines: they print full URLs with client_id."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        # an explicit level, so a DEBUG root logger does not switch them back on
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


@dataclasses.dataclass(frozen=True)
class Quota:
    """The API's rate-limit headers as last seen (None until observed)."""

    daily_limit: int | None = None
    daily_remaining: int | None = None
    burst_limit: int | None = None
    burst_remaining: int | None = None
    observed_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard we retry: exponential backoff with jitter, bounded in attempts and total time."""

    attempts: int = 4
    timeout: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 8.0
    wait_jitter: float = 0.5
    #: a longer Retry-After (e.g. the daily quota is spent) is not waited for: RateLimited at once
    max_retry_after: float = 30.0


class _Retry(Exception):
    """Internal: this attempt failed in a way worth retrying; ``error`` is raised if none left."""

    def __init__(self, error: ApiError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


def build_alert_monitor(
    callback_url: str,
    token_header: str,
    token: str,
    *,
    style: str = "fleets",
    label: str = ALERT_MONITOR_LABEL,
) -> dict[str, Any]:
    """The MonitorParameter of a push monitor that POSTs every alert change to ``callback_url``.

    The API signs nothing, so our shared secret travels as an extra header attribute.
    """
    attributes = [{"type": "Header", "key": token_header, "value": token}]
    webhook = {"name": WEBHOOK_NAME, "target": callback_url, "attributes": attributes}
    if style == "quickguide":
        # 2019 spec: dataTriggers, callback is the webhook itself, extension "alerts"
        return {
            "subscribeParam": {"callback": webhook, "retryPolicy": {"retryPolicy": "Always"}},
            "triggerParam": {"dataTriggers": [{"data": "vehicle.alert", "op": "onChange"}]},
            "extendedEventParam": ["alerts", "vehicle.position"],
        }
    return {
        "label": label,
        "subscribeParam": {
            "callback": {"webhook": webhook},
            # deliveries are deduplicated on our side, so never give up on one
            "retryPolicy": {"policy": "Always"},
        },
        "triggerParam": {
            "triggers": [{"name": "alerts", "data": {"data": "vehicle.alert", "op": "onChange"}}],
            "boolExp": "alerts",
        },
        "extendedEventParam": ["vehicle.alerts", "vehicle.position"],
    }


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: every API request carries its own credentials."""

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore ``Set-Cookie`` (reading it costs ~8 % of a poll request's CPU)."""


class _ApiHttp(httpx.Client):
    """The pooled ``httpx.Client`` of the API, without cookie handling (see :class:`_NoCookies`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        """Always empty."""
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: httpx._types.CookieTypes) -> None:
        raise TypeError("the API client keeps no cookies")


class PsaClient:
    """Typed operations of the Connected Car API; share one instance between threads."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        http: httpx.Client | None = None,
        fleet_id: str | None = None,
        style: str = "fleets",
        locale: str | None = "en-GB",
        max_attempts: int | None = None,
        retry: RetryPolicy | None = None,
        burst_limit: float = DEFAULT_BURST_LIMIT,
        burst_margin: float = DEFAULT_MARGIN,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ca_file_label: str | None = None,
        webhook_token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if style not in routes.STYLES:
            raise ConfigError("PSA_API_STYLE", routes.UNKNOWN_STYLE.format(style=style))
        self.style = style
        self.fleet_id = fleet_id
        self.locale = locale
        self._client_id = client_id
        basic = base64.b64encode(f"{username}:{password}".encode()).decode() if password else None
        # the webhook token travels in monitor bodies, so an API error may echo it back
        self._secrets: tuple[str, ...] = ()
        self._add_secrets(client_id, password, basic, webhook_token)
        self._skipped = 0
        policy = retry or RetryPolicy()
        if max_attempts is not None:
            policy = dataclasses.replace(policy, attempts=max_attempts)
        self.retry = policy
        self.limiter = RateLimiter(burst_limit, margin=burst_margin, clock=clock, sleep=sleep)
        self._ca_label = ca_file_label or "the system trust store"
        self._lock = threading.Lock()
        self._calls = 0
        self._quota = Quota()
        if http is not None:
            self._http = http
            self._owns_http = False
        else:
            if base_url is None or ssl_context is None or username is None or password is None:
                raise ValueError("base_url, username, password and ssl_context are required")
            self._http = _ApiHttp(
                base_url=base_url.rstrip("/"),
                verify=ssl_context,
                auth=httpx.BasicAuth(username, password),
                headers={"Accept": ACCEPT},
                timeout=timeout,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                ),
                follow_redirects=False,
            )
            self._owns_http = True
        self._base = self._http.base_url
        # Relative paths are made absolute here by string: httpx merging them into base_url
        # parses the URL twice per request (a tenth of a poll request's CPU).
        self._prefix = str(self._base).rstrip("/") + "/" if self._base.is_absolute_url else ""

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> PsaClient:
        """Build the client from settings: loads the certificate, fails fast on a bad one."""
        settings.require(*API_REQUIRED)
        assert settings.psa_cert_file is not None  # checked by require()
        context = build_ssl_context(
            settings.psa_cert_file,
            settings.psa_key_file,
            settings.psa_key_password,
            settings.psa_ca_file,
        )
        return cls(
            settings.psa_api_url,
            client_id=settings.psa_client_id,
            username=settings.psa_username,
            password=settings.psa_password,
            ssl_context=context,
            fleet_id=settings.psa_fleet_id,
            style=settings.psa_api_style,
            locale=settings.psa_locale,
            ca_file_label=str(settings.psa_ca_file) if settings.psa_ca_file else None,
            webhook_token=settings.webhook_token,
            **kwargs,
        )

    # -- lifecycle and counters ---------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def quota(self) -> Quota:
        """A snapshot of the API's rate-limit headers as last observed."""
        with self._lock:
            return self._quota

    @property
    def calls(self) -> int:
        """How many HTTP requests this client has sent (retries included)."""
        with self._lock:
            return self._calls

    @property
    def skipped(self) -> int:
        """How many unreadable records collections have skipped (each one logged)."""
        with self._lock:
            return self._skipped

    # -- typed operations ---------------------------------------------------------------------

    def fleets(self) -> Iterator[Fleet]:
        """Every fleet of the partner account (``fleets`` style only)."""
        return self._collection("fleets", "fleets", Fleet.from_api)

    def fleet(self) -> Fleet:
        """The configured fleet."""
        return self._one("fleet", Fleet.from_api)

    def vehicles(
        self, vin_prefix: str | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[Vehicle]:
        """The fleet's vehicles, optionally only those whose VIN starts with ``vin_prefix``."""
        params = self._page_params("vehicles", page_size) + self._branding()
        if vin_prefix:
            params.append(("vinPrefix", vin_prefix))
        return self._collection("vehicles", "vehicles", Vehicle.from_api, params=params)

    def vehicle(self, vid: str) -> Vehicle:
        """One vehicle by API vehicle id."""
        return self._one("vehicle", Vehicle.from_api, params=self._branding(), vid=vid)

    def status(self, vid: str) -> VehicleStatus:
        """The vehicle's last known status."""
        return self._one("status", VehicleStatus.from_api, vid=vid)

    def last_position(self, vid: str) -> Position:
        """The vehicle's last known position."""
        return self._one("last_position", Position.from_api, vid=vid, accept=ACCEPT_GEO)

    def alerts(
        self,
        vid: str,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        *,
        more_pages: Callable[[int], bool] | None = None,
    ) -> Iterator[Alert]:
        """The vehicle's alerts, optionally within ``since`` to ``until`` (open ends allowed).

        ``more_pages(n)`` is asked before page ``n + 1`` is requested; False ends the iteration
        there (the poller's stop event, deadline and page cap).
        """
        params = self._page_params("alerts", page_size)
        if since is not None or until is not None:
            params.append(("timestamps", interval(since, until)))
        return self._collection(
            "alerts",
            "alerts",
            lambda d: Alert.from_api(d, vehicle_id=vid),
            params=params,
            more_pages=more_pages,
            vid=vid,
        )

    def fleet_alerts(
        self,
        windows: Sequence[tuple[datetime | None, datetime | None]] = (),
        page_size: int = MAX_PAGE_SIZE,
        *,
        more_pages: Callable[[int], bool] | None = None,
    ) -> Iterator[Alert]:
        """Every vehicle's alerts in one collection, matching any of ``windows`` (all if none).

        Deprecated since 3.17 but still in the 3.19.2 spec; each alert names its vehicle in
        ``_links.vehicle``. A refusal raises (see :func:`refuses_route`); "no data" is empty.
        """
        params = self._page_params("fleet_alerts", page_size)
        params += [("timestamps", interval(since, until)) for since, until in windows]
        return self._collection(
            "fleet_alerts", "alerts", Alert.from_api, params=params, more_pages=more_pages
        )

    def maintenances(
        self,
        page_size: int = MAX_PAGE_SIZE,
        *,
        more_pages: Callable[[int], bool] | None = None,
    ) -> Iterator[Maintenance]:
        """Every vehicle's next maintenance in one collection (each names its VIN or vehicle).

        Deprecated in 3.19.2 but specified; a refusal raises (see :func:`refuses_route`).
        """
        params = self._page_params("maintenances", page_size)
        return self._collection(
            "maintenances",
            "maintenances",
            Maintenance.from_api,
            params=params,
            more_pages=more_pages,
        )

    def maintenance(self, vid: str) -> Maintenance:
        """One vehicle's next maintenance."""
        return self._one("maintenance", lambda d: Maintenance.from_api(d, vehicle_id=vid), vid=vid)

    def alert(self, vid: str, aid: str) -> Alert:
        """One alert of a vehicle."""
        params = self._locale_params("alert")
        return self._one(
            "alert", lambda d: Alert.from_api(d, vehicle_id=vid), params=params, vid=vid, aid=aid
        )

    def trips(
        self,
        vid: str,
        start: datetime | None = None,
        end: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Trip]:
        """The vehicle's trips between ``start`` and ``end`` (open ends allowed)."""
        params = self._page_params("trips", page_size)
        if start is not None or end is not None:
            params.append(("timestamps", interval(start, end)))
        return self._collection("trips", "trips", Trip.from_api, params=params, vid=vid)

    def trip(self, vid: str, tid: str) -> Trip:
        """One trip of a vehicle."""
        return self._one("trip", Trip.from_api, vid=vid, tid=tid)

    def monitors(self) -> Iterator[Monitor]:
        """The fleet's push monitors."""
        params = self._page_params("monitors", MAX_PAGE_SIZE)
        return self._collection("monitors", "monitors", Monitor.from_api, params=params)

    def monitor(self, mid: str) -> Monitor:
        """One push monitor."""
        return self._one("monitor", Monitor.from_api, mid=mid)

    def create_monitor(self, parameter: Mapping[str, Any]) -> MonitorRef:
        """Create a push monitor from a MonitorParameter (see :func:`build_alert_monitor`)."""
        path, headers = self._resolve("create_monitor")
        data = self._send("create_monitor", "POST", path, headers=headers, body=parameter)
        ref = self._parse("create_monitor", data, MonitorRef.from_api) if data else None
        if ref is None or not ref.id:
            raise ApiResponseError(NO_MONITOR_ID, operation="create_monitor")
        return ref

    def delete_monitor(self, mid: str) -> None:
        """Delete a push monitor."""
        path, headers = self._resolve("delete_monitor", mid=mid)
        self._send("delete_monitor", "DELETE", path, headers=headers)

    def pause_monitor(self, mid: str) -> MonitorRef:
        """Pause a push monitor (status ``Paused``)."""
        return self._set_monitor_status(mid, "Paused")

    def resume_monitor(self, mid: str) -> MonitorRef:
        """Resume a paused push monitor (status ``Running``)."""
        return self._set_monitor_status(mid, "Running")

    def build_alert_monitor(
        self, callback_url: str, token_header: str, token: str
    ) -> dict[str, Any]:
        """The alert MonitorParameter in this client's API style."""
        self._add_secrets(token)
        return build_alert_monitor(callback_url, token_header, token, style=self.style)

    # -- plumbing -----------------------------------------------------------------------------

    def _set_monitor_status(self, mid: str, status: str) -> MonitorRef:
        path, headers = self._resolve("monitor_status", mid=mid)
        # v3.19.2 takes a MonitorStatusSetter object, the 2019 spec a bare JSON string
        body: object = {"status": status} if self.style == "fleets" else status
        data = self._send("monitor_status", "PUT", path, headers=headers, body=body)
        if data:
            ref = self._parse("monitor_status", data, MonitorRef.from_api)
            return ref if ref.id else dataclasses.replace(ref, id=mid)
        return MonitorRef(id=mid, status=status)

    def _resolve(self, operation: str, **path_params: str) -> tuple[str, dict[str, str]]:
        return routes.resolve(self.style, operation, self.fleet_id, **path_params)

    def _branding(self) -> list[tuple[str, str]]:
        # v3 only: the branding extension carries the brand (and, for one vehicle, its label)
        return [("extension", "branding")] if self.style == "fleets" else []

    def _locale_params(self, operation: str) -> list[tuple[str, str]]:
        if self.locale and self.style in routes.route(operation).locale_in:
            return [("locale", self.locale)]
        return []

    def _page_params(self, operation: str, page_size: int) -> list[tuple[str, str]]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(BAD_PAGE_SIZE.format(max=MAX_PAGE_SIZE))
        return [("pageSize", str(page_size)), *self._locale_params(operation)]

    def _one(
        self,
        operation: str,
        factory: Callable[[Json], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        accept: str | None = None,
        **path_params: str,
    ) -> T:
        path, headers = self._resolve(operation, **path_params)
        if accept:
            headers["Accept"] = accept
        data = self._send(operation, "GET", path, params=params, headers=headers)
        return self._parse(operation, data, factory)

    def _parse(self, operation: str, data: object, factory: Callable[[Json], T]) -> T:
        try:
            return factory(data)  # type: ignore[arg-type]  # from_api checks the shape
        except (ValueError, TypeError, AttributeError, ArithmeticError, RecursionError) as exc:
            # models raise only ValueError; the rest is a model bug that odd data found, and
            # it must stay this one call's failure, not the caller's crash
            why = self._scrub(str(exc))[:200]
            raise ApiResponseError(f"{UNEXPECTED_BODY}: {why}", operation=operation) from exc

    def _collection(
        self,
        operation: str,
        key: str,
        factory: Callable[[Json], T],
        *,
        params: Sequence[tuple[str, str]] = (),
        more_pages: Callable[[int], bool] | None = None,
        **path_params: str,
    ) -> Iterator[T]:
        # Resolve now so a bad style or missing fleet id fails at the call, not at iteration.
        path, headers = self._resolve(operation, **path_params)
        return self._pages(
            operation,
            key,
            factory,
            path,
            headers,
            list(params),
            more_pages=more_pages,
            owner=path_params.get("vid"),
        )

    def _pages(
        self,
        operation: str,
        key: str,
        factory: Callable[[Json], T],
        path: str,
        headers: dict[str, str],
        params: list[tuple[str, str]],
        *,
        more_pages: Callable[[int], bool] | None = None,
        owner: str | None = None,
    ) -> Iterator[T]:
        url: str = path
        query: Sequence[tuple[str, str]] = params
        seen: set[str] = set()
        pages = 0
        while True:
            try:
                data = self._send(operation, "GET", url, params=query, headers=headers)
            except NoData:
                return  # "no data" on a collection is an empty collection
            pages += 1
            # an unreadable envelope fails the whole collection (ApiResponseError) ...
            page = self._parse(operation, data, lambda d: Page.from_api(d, key))
            for item in page.items:
                try:
                    parsed = self._parse(operation, item, factory)
                except ApiResponseError as exc:
                    # ... but one unreadable record is skipped, and the rest goes on
                    self._skip(operation, owner, item, exc)
                    continue
                yield parsed
            if not page.next_href:
                return
            if more_pages is not None and not more_pages(pages):
                return
            url, marker = self._next_url(operation, page.next_href)
            if marker in seen:
                raise ApiResponseError(PAGE_LOOP, operation=operation)
            seen.add(marker)
            query = ()

    def _skip(self, operation: str, owner: str | None, item: object, exc: ApiError) -> None:
        with self._lock:
            self._skipped += 1
        vin = item.get("vin") if isinstance(item, Mapping) else None
        vin_text = self._scrub(str(vin))[:40] if isinstance(vin, str | int) else "unknown"
        log.warning(SKIPPED_RECORD, operation, owner or "-", vin_text, exc.message)

    def _next_url(self, operation: str, href: str) -> tuple[str, str]:
        """The absolute URL of a next-page link (its query kept as sent, minus client_id)."""
        try:
            return self._join_next(operation, href)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            # non-ASCII, a bad port, a malformed IPv6 host...: the link, not the call, is broken
            raise ApiResponseError(BAD_NEXT, operation=operation) from exc

    def _join_next(self, operation: str, href: str) -> tuple[str, str]:
        base = self._base
        target = base.join(href)
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise ApiResponseError(FOREIGN_NEXT, operation=operation)
        raw_path, _, raw_query = target.raw_path.decode("ascii").partition("?")
        prefix = base.raw_path.decode("ascii").rstrip("/")
        if not raw_path.startswith(prefix + "/"):
            raw_path = prefix + raw_path  # a link relative to the API root, not the host
        kept = [p for p in raw_query.split("&") if p and not p.startswith("client_id=")]
        token = next((p.split("=", 1)[1] for p in kept if p.startswith("pageToken=")), None)
        query = "&".join(kept)
        full = raw_path + ("?" + query if query else "")
        absolute = str(target.copy_with(raw_path=full.encode("ascii")))
        return absolute, token if token is not None else absolute

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: object = None,
    ) -> Any:
        """Send one API request with limiter, retries and error mapping; return its JSON."""
        policy = self.retry
        try:
            for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=policy.attempts,
                timeout=policy.timeout,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            ):
                with attempt:
                    return self._attempt(operation, method, url, params, headers, body)
        except _Retry as exc:
            raise exc.error from exc.error.__cause__
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    @staticmethod
    def _backoff(exc: BaseException) -> bool | float:
        if not isinstance(exc, _Retry):
            return False
        return exc.wait if exc.wait is not None else True

    def _attempt(
        self,
        operation: str,
        method: str,
        url: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str] | None,
        body: object,
    ) -> Any:
        idempotent = method == "GET"
        query = list(params)
        if self._client_id is not None:
            query.append(("client_id", self._client_id))
        if query:
            # Encode the query ourselves (a `+` becomes %2B): one URL parse per request
            # instead of httpx merging params into the URL, which costs CPU on every poll.
            # Next-page links keep their raw query; ours is added without re-encoding theirs.
            url += ("&" if "?" in url else "?") + urlencode(query, quote_via=quote)
        if self._prefix and url.startswith("/"):
            url = self._prefix + url.lstrip("/")  # as httpx merges a path into base_url
        content = None
        request_headers = dict(headers or {})
        if body is not None:
            content = json.dumps(body).encode()
            request_headers["Content-Type"] = "application/json"
        with self.limiter.slot():
            with self._lock:
                self._calls += 1
            try:
                response = self._http.request(method, url, headers=request_headers, content=content)
            except httpx.HTTPError as exc:
                raise self._transport_error(operation, exc, idempotent) from exc
        if log.isEnabledFor(logging.DEBUG):  # building the log URL costs a parse per request
            log.debug(
                "%s %s -> HTTP %s", method, _path_only(response.request.url), response.status_code
            )
        self._observe(response.headers)
        return self._result(operation, response, idempotent)

    def _result(self, operation: str, response: httpx.Response, idempotent: bool) -> Any:
        status = response.status_code
        if status < 400:
            if status == 204 or not response.content.strip():
                return None
            try:
                return json.loads(response.content)
            except (ValueError, RecursionError) as exc:  # nested past the parser's depth
                error = ApiResponseError(MALFORMED, status=status, operation=operation)
                error.__cause__ = exc
                if idempotent:
                    raise _Retry(error) from exc
                raise error from exc
        code, uuid, detail = self._error_body(response)
        kwargs: dict[str, Any] = {
            "status": status,
            "code": code,
            "uuid": uuid,
            "operation": operation,
        }

        def message(base: str) -> str:
            return f"{base}: {detail}" if detail else base

        if status in (401, 403):
            raise ApiAuthError(message(AUTH_REFUSED), **kwargs)
        if status == 404:
            if code in NO_DATA_CODES:
                raise NoData(message(NO_DATA), **kwargs)
            raise NotFound(message(NOT_FOUND), **kwargs)
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            limited = RateLimited(message(RATE_LIMITED), retry_after=retry_after, **kwargs)
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                raise limited
            # a 429 was refused before any processing, so even a POST may be sent again
            raise _Retry(limited, retry_after)
        if status >= 500:
            unavailable = ApiUnavailable(message(SERVER_FAILED), **kwargs)
            if not idempotent or status == 501:  # "not implemented" will not change on retry
                raise unavailable
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                raise unavailable
            raise _Retry(unavailable, retry_after if status == 503 else None)
        raise ApiResponseError(message(UNEXPECTED_STATUS), **kwargs)

    def _error_body(self, response: httpx.Response) -> tuple[int | None, str | None, str | None]:
        """Code, uuid and text of an xError or gateway error body (secrets scrubbed)."""
        try:
            data = json.loads(response.content)
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, Mapping):
            return None, None, None
        code = _as_int(data.get("code"))
        uuid = data.get("uuid") or data.get("debug")
        parts = [
            str(data[k])
            for k in ("message", "httpMessage", "moreInformation")
            if data.get(k) not in (None, "")
        ]
        text = self._scrub(" - ".join(parts))[:300] or None
        return code, self._scrub(str(uuid)) if uuid else None, text

    def _transport_error(self, operation: str, exc: httpx.HTTPError, idempotent: bool) -> Exception:
        problem = self._tls_problem(exc)
        if problem is not None:
            return CertificateError(problem, operation=operation)
        host = self._base.host
        what = _describe(exc)
        error = ApiUnavailable(UNREACHABLE.format(host=host, what=what), operation=operation)
        error.__cause__ = exc
        # Nothing reached the server: safe to send again whatever the method.
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if idempotent or unsent:
            return _Retry(error)
        return error

    def _tls_problem(self, exc: BaseException) -> str | None:
        """A sentence about a certificate problem hidden in ``exc``'s chain, or None."""
        chain: list[BaseException] = []
        current: BaseException | None = exc
        while current is not None and current not in chain:
            chain.append(current)
            current = current.__cause__ or current.__context__
        for item in chain:
            if isinstance(item, ssl.SSLCertVerificationError):
                detail = item.verify_message or "verification failed"
                return SERVER_UNTRUSTED.format(ca=self._ca_label, detail=detail)
        text = " ".join(str(item) for item in chain).upper()
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return SERVER_UNTRUSTED.format(ca=self._ca_label, detail="verification failed")
        for marker, sentence in _SERVER_ALERTS.items():
            if f"ALERT_{marker}" in text or f"ALERT {marker.replace('_', ' ')}" in text:
                return sentence.format(detail=marker.lower().replace("_", " "))
        if any(isinstance(item, ssl.SSLError) for item in chain) or "[SSL" in text:
            reason = next(
                (getattr(i, "reason", None) for i in chain if isinstance(i, ssl.SSLError)), None
            )
            return TLS_FAILED.format(detail=str(reason or "SSL error").lower().replace("_", " "))
        return None

    def _observe(self, headers: httpx.Headers) -> None:
        values = [
            _as_int(headers.get(name))
            for name in (
                "X-RateLimit-Limit-1",
                "X-RateLimit-Remaining-1",
                "X-RateLimit-Limit-2",
                "X-RateLimit-Remaining-2",
            )
        ]
        if all(v is None for v in values):
            return
        daily_limit, daily_remaining, burst_limit, burst_remaining = values
        now = datetime.now(UTC)
        with self._lock:
            old = self._quota
            # Concurrent answers arrive out of order: within a second, the lowest count is
            # the newest (the 24 h window cannot refill meaningfully in that time).
            recent = old.observed_at is not None and (now - old.observed_at).total_seconds() < 1
            if recent and daily_remaining is not None and old.daily_remaining is not None:
                daily_remaining = min(daily_remaining, old.daily_remaining)
            self._quota = Quota(
                daily_limit=daily_limit if daily_limit is not None else old.daily_limit,
                daily_remaining=daily_remaining
                if daily_remaining is not None
                else old.daily_remaining,
                burst_limit=burst_limit if burst_limit is not None else old.burst_limit,
                burst_remaining=burst_remaining
                if burst_remaining is not None
                else old.burst_remaining,
                observed_at=now,
            )
        if burst_limit is not None and burst_limit != self.limiter.burst_limit:
            self.limiter.set_burst_limit(burst_limit)

    def _add_secrets(self, *secrets: str | None) -> None:
        """Remember values never to show in an error text (also as URL- and JSON-escaped)."""
        known = set(self._secrets)
        for secret in secrets:
            if secret:
                known |= {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
        # longest first, so a secret containing another is scrubbed whole
        self._secrets = tuple(sorted(known, key=len, reverse=True))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def refuses_route(exc: ApiError) -> bool:
    """True when the gateway does not serve the operation: 405, 410, 501, or a 404 without xError.

    The gateway's own 404 ("No resources match requested URI") carries no xError code; a 404
    with 40400/40410 is "no data" and any other xError code names a missing resource.
    """
    if exc.status in REFUSAL_STATUSES:
        return True
    return exc.status == 404 and exc.code is None


def _as_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _path_only(url: httpx.URL) -> str:
    """A URL for logs: scheme, host and path, never the query (it holds client_id)."""
    return str(url.copy_with(query=None))


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection"
    return type(exc).__name__
