"""Monitor webhooks: build ``MonitorEvents`` bodies and POST them with retries in the background.

The body follows the webhook template v3.18.0: ``{monitorId, attributes, events: [{fleetId, vin,
eventDate, values, extensions, refresh}]}``. The alert that changed travels whole in
``values[0].value.body.objectValues[0]`` (type ``obj.alert``); the extensions asked for in the
monitor's ``extendedEventParam`` follow (``vehicle.alerts``: the vehicle's active alerts,
``vehicle.position``, ``vehicle.status``).

Each monitor has its own delivery thread and queue, so events of one monitor arrive in order and a
dead endpoint of one monitor does not delay another. A failed delivery (connection error or a
non-2xx answer) is retried after ``BACKOFF`` (the real API keeps retrying for three days).
"""

from __future__ import annotations

import http.client
import json
import logging
import queue
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

log = logging.getLogger(__name__)

# Waits before the 2nd, 3rd ... attempt: 10 attempts in about 13 s.
BACKOFF: tuple[float, ...] = (0.2, 0.5, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0)
TIMEOUT = 5.0
_STOP = None  # put on a queue: its thread ends


@dataclass(frozen=True)
class Delivery:
    """One POST to make: where, with which headers and body."""

    monitor_id: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def header_name(key: str) -> str:
    """Header attributes are sent as ``x-…`` extensions (keys already starting ``x-`` kept)."""
    return key if key.lower().startswith("x-") else f"x-{key}"


def expand(value: str, context: dict[str, str]) -> str:
    """Replace ``$vin``, ``$vid``, ``$monitorID`` and ``$fleetID`` in an attribute value."""
    if value.startswith("$"):
        return context.get(value[1:].lower(), value)
    return value


def webhook_of(parameter: dict[str, Any]) -> dict[str, Any]:
    """The webhook object of a monitor parameter (v3: callback.webhook; 2019: callback)."""
    callback = parameter.get("subscribeParam", {}).get("callback", {})
    webhook: dict[str, Any] = callback.get("webhook", callback)
    return webhook


def build_delivery(
    *,
    monitor_id: str,
    parameter: dict[str, Any],
    fleet_id: str,
    vehicle_id: str,
    vin: str,
    event_date: str,
    alert: dict[str, Any],
    extensions: dict[str, object],
) -> Delivery:
    """Build the MonitorEvents POST for one changed alert."""
    webhook = webhook_of(parameter)
    context = {"vin": vin, "vid": vehicle_id, "monitorid": monitor_id, "fleetid": fleet_id}
    headers = [("Content-Type", "application/json")]
    query: list[tuple[str, str]] = []
    body_attributes: list[dict[str, str]] = []
    for attribute in webhook.get("attributes") or []:
        key, value = str(attribute.get("key", "")), expand(str(attribute.get("value", "")), context)
        kind = attribute.get("type", "Header")
        if kind == "Header":
            headers.append((header_name(key), value))
        elif kind == "Query":
            query.append((key, value))
        else:
            body_attributes.append({"key": key, "value": value})
    event: dict[str, Any] = {
        "fleetId": fleet_id,
        "vin": vin,
        "eventDate": event_date,
        "values": [
            {
                "data": "vehicle.alert",
                "value": {"type": "obj.alert", "body": {"objectValues": [alert]}},
            }
        ],
        "refresh": False,
    }
    wanted = parameter.get("extendedEventParam") or []
    ext = [
        {"type": name, "body": {key: extensions[name]}}
        for name, key in (
            ("vehicle.alerts", "alerts"),
            ("vehicle.position", "position"),
            ("vehicle.status", "status"),
        )
        if name in wanted and name in extensions
    ]
    if ext:
        event["extensions"] = ext
    payload: dict[str, Any] = {"monitorId": monitor_id}
    if body_attributes:
        payload["attributes"] = body_attributes
    payload["events"] = [event]
    url = str(webhook.get("target", ""))
    if query:
        url += ("&" if urlsplit(url).query else "?") + urlencode(query)
    return Delivery(monitor_id, url, tuple(headers), json.dumps(payload).encode())


class WebhookDispatcher:
    """Delivers monitor events in background threads, retrying failures."""

    def __init__(
        self,
        *,
        backoff: tuple[float, ...] = BACKOFF,
        timeout: float = TIMEOUT,
        ssl_context: Callable[[], ssl.SSLContext] | None = None,
    ) -> None:
        self.backoff = backoff
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._queues: dict[str, queue.Queue[Delivery | None]] = {}
        self._threads: list[threading.Thread] = []
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.deliveries: list[tuple[str, int | str]] = []
        self.sent: list[Delivery] = []
        self.last: Delivery | None = None

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopping.is_set()

    def submit(self, delivery: Delivery) -> None:
        """Queue ``delivery`` on its monitor's thread."""
        with self._lock:
            if self._stopping.is_set():
                return
            self.last = delivery
            self._pending += 1
            q = self._queues.get(delivery.monitor_id)
            if q is None:
                q = self._queues[delivery.monitor_id] = queue.Queue()
                thread = threading.Thread(
                    target=self._run, args=(q,), name=f"psa-webhook-{delivery.monitor_id[:8]}"
                )
                thread.daemon = True
                self._threads.append(thread)
                thread.start()
        q.put(delivery)

    def redeliver_last(self) -> Delivery | None:
        """Queue the last event batch again, byte for byte; return it (None if none yet)."""
        last = self.last
        if last is not None:
            self.submit(last)
        return last

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery succeeded or gave up; True if so in time."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def stop(self) -> None:
        """Stop the delivery threads; queued deliveries are dropped."""
        self._stopping.set()
        with self._lock:
            queues = list(self._queues.values())
            threads = list(self._threads)
        for q in queues:
            q.put(_STOP)
        for thread in threads:
            thread.join(timeout=self.timeout + 1)

    def _run(self, q: queue.Queue[Delivery | None]) -> None:
        while True:
            item = q.get()
            if item is None:  # _STOP
                return
            try:
                self._deliver(item)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, delivery: Delivery) -> None:
        for attempt in range(len(self.backoff) + 1):
            if self._stopping.is_set():
                return
            outcome = self._post(delivery)
            with self._lock:
                self.deliveries.append((delivery.url, outcome))
                self.sent.append(delivery)
            if isinstance(outcome, int) and 200 <= outcome < 300:
                return
            if attempt < len(self.backoff) and self._stopping.wait(self.backoff[attempt]):
                return
        log.debug("webhook delivery to %s given up", urlsplit(delivery.url).netloc)

    def _post(self, delivery: Delivery) -> int | str:
        """POST once; return the HTTP status or an error description."""
        parts = urlsplit(delivery.url)
        conn: http.client.HTTPConnection
        try:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    parts.hostname or "",
                    parts.port,
                    timeout=self.timeout,
                    context=self._ssl_context(),
                )
            elif parts.scheme == "http":
                conn = http.client.HTTPConnection(
                    parts.hostname or "", parts.port, timeout=self.timeout
                )
            else:
                return f"unsupported scheme {parts.scheme!r}"
        except (ValueError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", target, body=delivery.body, headers=dict(delivery.headers))
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
