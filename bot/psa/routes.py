"""One route table for both API styles (``PSA_API_STYLE``).

``fleets`` is the v3 spec (3.19.2): ``/fleets/{fid}/...``. ``quickguide`` is the 2019 spec of the
Web B2B quick guide: ``/fleet/...`` with the fleet id in a ``fleet-id`` header.
"""

from __future__ import annotations

import dataclasses
from typing import Literal
from urllib.parse import quote

from bot.errors import ConfigError

Style = Literal["fleets", "quickguide"]
STYLES: tuple[Style, ...] = ("fleets", "quickguide")

NOT_IN_STYLE = "the {style!r} API style has no {name!r} operation; use PSA_API_STYLE=fleets"
UNKNOWN_STYLE = "must be 'fleets' or 'quickguide', not {style!r}"
FLEET_ID_MISSING = "is required for the {name!r} operation"


@dataclasses.dataclass(frozen=True)
class Route:
    """One API operation: its method and its path template in each style (None: absent)."""

    name: str
    method: str
    fleets: str | None
    quickguide: str | None
    #: styles whose spec accepts a ``locale`` query parameter on this operation
    locale_in: tuple[Style, ...] = ()

    def path(self, style: Style) -> str | None:
        """The path template of this operation in ``style``."""
        return self.fleets if style == "fleets" else self.quickguide


ROUTES: dict[str, Route] = {
    r.name: r
    for r in (
        Route("fleets", "GET", "/fleets", None),
        Route("fleet", "GET", "/fleets/{fid}", "/fleet"),
        Route("vehicles", "GET", "/fleets/{fid}/vehicles", "/fleet/vehicles", STYLES),
        Route(
            "vehicle", "GET", "/fleets/{fid}/vehicles/{vid}", "/fleet/vehicles/{vid}", ("fleets",)
        ),
        Route(
            "status", "GET", "/fleets/{fid}/vehicles/{vid}/status", "/fleet/vehicles/{vid}/status"
        ),
        # deprecated in 3.19.2 but specified; one paged call covers the fleet (the report)
        Route("maintenances", "GET", "/fleets/{fid}/maintenances", "/fleet/maintenances"),
        Route(
            "maintenance",
            "GET",
            "/fleets/{fid}/vehicles/{vid}/maintenance",
            "/fleet/vehicles/{vid}/maintenance",
        ),
        Route(
            "last_position",
            "GET",
            "/fleets/{fid}/vehicles/{vid}/lastPosition",
            "/fleet/vehicles/{vid}/lastPosition",
        ),
        Route(
            "alerts",
            "GET",
            "/fleets/{fid}/vehicles/{vid}/alerts",
            "/fleet/vehicles/{vid}/alerts",
            ("quickguide",),
        ),
        # the fleet-wide alert collection: deprecated since 3.17, still in the 3.19.2 spec
        Route("fleet_alerts", "GET", "/fleets/{fid}/alerts", "/fleet/alerts"),
        Route(
            "alert",
            "GET",
            "/fleets/{fid}/vehicles/{vid}/alerts/{aid}",
            "/fleet/vehicles/{vid}/alerts/{aid}",
            ("quickguide",),
        ),
        Route("trips", "GET", "/fleets/{fid}/vehicles/{vid}/trips", "/fleet/vehicles/{vid}/trips"),
        Route(
            "trip",
            "GET",
            "/fleets/{fid}/vehicles/{vid}/trips/{tid}",
            "/fleet/vehicles/{vid}/trips/{tid}",
        ),
        Route("monitors", "GET", "/fleets/{fid}/monitors", "/fleet/monitors"),
        Route("create_monitor", "POST", "/fleets/{fid}/monitors", "/fleet/monitors"),
        Route("monitor", "GET", "/fleets/{fid}/monitors/{mid}", "/fleet/monitors/{mid}"),
        Route("delete_monitor", "DELETE", "/fleets/{fid}/monitors/{mid}", "/fleet/monitors/{mid}"),
        Route(
            "monitor_status",
            "PUT",
            "/fleets/{fid}/monitors/{mid}/status",
            "/fleet/monitors/{mid}/status",
        ),
    )
}


def route(name: str) -> Route:
    """The route called ``name``; KeyError names the unknown operation."""
    try:
        return ROUTES[name]
    except KeyError:
        raise KeyError(f"unknown API operation {name!r}") from None


def resolve(
    style: str, name: str, fleet_id: str | None, **params: str
) -> tuple[str, dict[str, str]]:
    """The path (params URL-quoted) and extra headers for operation ``name`` in ``style``."""
    if style not in STYLES:
        raise ConfigError("PSA_API_STYLE", UNKNOWN_STYLE.format(style=style))
    template = route(name).path(style)
    if template is None:
        raise ConfigError("PSA_API_STYLE", NOT_IN_STYLE.format(style=style, name=name))
    needs_fleet = "{fid}" in template or style == "quickguide"
    if needs_fleet and not fleet_id:
        raise ConfigError("PSA_FLEET_ID", FLEET_ID_MISSING.format(name=name))
    if any(not str(v) for v in params.values()):
        raise ValueError(f"operation {name!r} got an empty path parameter")
    values = {k: quote(str(v), safe="") for k, v in params.items()}
    if fleet_id:
        values["fid"] = quote(fleet_id, safe="")
    try:
        path = template.format(**values)
    except KeyError as exc:
        raise TypeError(f"operation {name!r} needs parameter {exc.args[0]!r}") from None
    headers = {"fleet-id": fleet_id} if style == "quickguide" and fleet_id else {}
    return path, headers
