"""Which vehicle a person means: VIN, API vehicle id or label, from a short cached directory.

The directory lives in the ledger (so labels and the last listing survive restarts) and is
refreshed from the API when older than ``ttl`` seconds, so a command does not list the fleet
each time. The scheduler may also call :meth:`VehicleDirectory.refresh` on its own. It is domain
logic, not Slack's: the poller refreshes it, delivery and the Slack surfaces name vehicles by it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from bot.errors import ApiError, UserInputError
from bot.messages import texts
from bot.messages.markup import echo, escape
from bot.store.ledger import from_iso, utcnow

if TYPE_CHECKING:
    from bot.psa.client import PsaClient
    from bot.store import Ledger

#: a miss refreshes the directory if its listing is older than this (a vehicle may be new)
MISS_REFRESH_AFTER = dt.timedelta(seconds=60)
MAX_SUGGESTIONS = 3


@dataclasses.dataclass(frozen=True)
class VehicleEntry:
    """One vehicle of the directory."""

    id: str
    vin: str
    label: str | None = None
    brand: str | None = None
    model: str | None = None
    energy: str | None = None

    @property
    def name(self) -> str:
        """How people know it (see :func:`display_name`)."""
        return display_name(self.vin, self.label, self.brand, self.model)

    @property
    def car(self) -> str:
        """Brand and model, when known."""
        return " ".join(p for p in (self.brand, self.model) if p)


def display_name(
    vin: str, label: str | None = None, brand: str | None = None, model: str | None = None
) -> str:
    """The admin label; else brand and model with the VIN; else the VIN.

    Alert delivery names vehicles the same way, so an acknowledged message keeps its name.
    """
    if label:
        return label
    car = " ".join(p for p in (brand, model) if p)
    return f"{car} ({vin})" if car else vin


class VehicleDirectory:
    """Resolves what people type to a vehicle; see the module docstring."""

    def __init__(
        self,
        api: PsaClient,
        ledger: Ledger,
        *,
        ttl: float = 300,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.ttl = dt.timedelta(seconds=ttl)
        self.clock = clock
        self._lock = threading.Lock()

    def refresh(self, each: Callable[[Mapping[str, Any]], object] | None = None) -> int:
        """List the fleet at the API into the ledger; returns how many vehicles it has.

        The listing streams page by page into the ledger (never the whole fleet twice in
        memory); ``each`` sees every vehicle as its page arrives, so a first poll can start
        on it before the listing ends. A failed listing leaves the directory as it was.
        """
        with self._lock:
            return self.ledger.replace_vehicles(self._listing(each))

    def _listing(
        self, each: Callable[[Mapping[str, Any]], object] | None
    ) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for vehicle in self.api.vehicles():
            vin = vehicle.vin or vehicle.id
            if not vin or vin in seen:
                continue  # the table keys on VIN; a duplicate listing adds nothing
            seen.add(vin)
            row = {
                "id": vehicle.id or vin,
                "vin": vin,
                "brand": vehicle.brand,
                "model": vehicle.model,
                "energy": ",".join(vehicle.energies) or vehicle.motorization,
                "payload": {"label": vehicle.label},
            }
            if each is not None:
                each(row)
            yield row

    def entries(self) -> list[VehicleEntry]:
        """The directory, refreshed first when stale (stale data beats none if the API fails)."""
        rows = self.ledger.vehicles()
        if self._age(rows) > self.ttl:
            try:
                self.refresh()
            except ApiError:
                if not rows:
                    raise
            else:
                rows = self.ledger.vehicles()
        return [_entry(r) for r in rows]

    def resolve(self, text: str) -> VehicleEntry:
        """The vehicle ``text`` names (case-insensitive), or UserInputError with suggestions."""
        query = text.strip()
        if not query:
            raise UserInputError(texts.NEED_VEHICLE)
        entries = self.entries()
        found = _find(entries, query)
        if found is None and self._age(self.ledger.vehicles()) > MISS_REFRESH_AFTER:
            try:
                self.refresh()
            except ApiError:
                pass  # keep answering from what we have
            else:
                entries = [_entry(r) for r in self.ledger.vehicles()]
                found = _find(entries, query)
        if found is not None:
            return found
        if not entries:
            raise UserInputError(texts.EMPTY_FLEET)
        raise UserInputError(_unknown(entries, query))

    def name_of(self, vin: str) -> str:
        """The display name of a VIN, from the directory as it is (no API call)."""
        return self.names().get(vin, vin)

    def names(self) -> dict[str, str]:
        """VIN → display name for every vehicle of the directory (no API call)."""
        return {
            r["vin"]: display_name(r["vin"], r.get("label"), r.get("brand"), r.get("model"))
            for r in self.ledger.vehicles()
        }

    def _age(self, rows: list[dict[str, Any]]) -> dt.timedelta:
        stamps = [from_iso(r["refreshed_at"]) for r in rows if r.get("refreshed_at")]
        if not stamps:
            return dt.timedelta.max
        return self.clock() - min(s for s in stamps if s is not None)


def _entry(row: dict[str, Any]) -> VehicleEntry:
    return VehicleEntry(
        id=str(row["id"]),
        vin=str(row["vin"]),
        label=row.get("label"),
        brand=row.get("brand"),
        model=row.get("model"),
        energy=row.get("energy"),
    )


def _find(entries: list[VehicleEntry], query: str) -> VehicleEntry | None:
    wanted = query.casefold()
    for attribute in ("vin", "id", "label"):
        for entry in entries:
            value = getattr(entry, attribute)
            if value and value.casefold() == wanted:
                return entry
    return None


def _unknown(entries: list[VehicleEntry], query: str) -> str:
    candidates: dict[str, str] = {}
    for entry in entries:
        for value in (entry.label, entry.vin, entry.id):
            if value:
                candidates.setdefault(value.casefold(), value)
    close = difflib.get_close_matches(
        query.casefold(), list(candidates), n=MAX_SUGGESTIONS, cutoff=0.6
    )
    message = texts.NO_SUCH_VEHICLE.format(query=echo(query))
    if close:
        options = " or ".join(f"`{escape(candidates[c])}`" for c in close)
        message += texts.DID_YOU_MEAN.format(options=options)
    return message
