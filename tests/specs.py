"""Load the vendor's OpenAPI specs and validate recorded HTTP traffic against them.

Shared by the test suites (sandbox, client, ...)::

    from tests import specs
    if not specs.specs_available():
        pytest.skip(specs.SKIP_REASON)
    api = specs.openapi("api-b2b-v3.19.2.yaml")
    specs.validate_response(api, "GET", url, 200, headers, body)   # raises on mismatch

The spec files live outside the repository (``../shared/psa-api`` next to the repo, or the folder
named by ``FLEETBOT_PSA_SPECS``); they are never copied into it. The files are byte-exact vendor
copies, so the loader repairs the known defects listed in ``SOURCE.md`` and a few more before
handing them to openapi-core (each repair is listed in :data:`SPEC_FIXES`).

URLs: pass the real URL that was called (e.g. ``https://127.0.0.1:4443/connectedcar/v3/fleets``
or just ``/fleets?...``). Everything up to and including the API base path (``/connectedcar/v3``,
``/connectedcar/v2`` or ``/api/connectedcar/v2``) is replaced by the spec's own server URL, so the
sandbox's host and port never matter.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from ruamel.yaml import YAML
from werkzeug.datastructures import Headers, ImmutableMultiDict

V3 = "api-b2b-v3.19.2.yaml"
QUICKGUIDE = "api-b2b-v2.0-2019-08-02.yaml"
WEBHOOK_V3 = "api-b2b-webhook-template-v3.18.0.yaml"
SKIP_REASON = "PSA OpenAPI specs (../shared/psa-api or $FLEETBOT_PSA_SPECS) not present"


def _spec_dir() -> Path:
    override = os.environ.get("FLEETBOT_PSA_SPECS")
    if override:
        return Path(override)
    # tests/specs.py -> repo root -> its parent holds shared/psa-api
    return Path(__file__).resolve().parents[2] / "shared" / "psa-api"


SPEC_DIR: Path = _spec_dir()

SPEC_FIXES = (
    "TAB characters replaced by spaces (v3.0.7 and b2c files do not parse otherwise)",
    "YAML 1.2 loading, so the RemoteLights key `on` stays a string",
    "every response code key turned into a string ('200', not 200)",
    "patterns wrapped in literal double quotes (MonitorTrigger.name) unwrapped",
    "media-type keys stripped of stray spaces ('application/hal+json ')",
    "path items given as $ref to '#/x-fragment/...' inlined (2019 spec)",
    "duplicate parameters (same name and location) in one operation dropped (2019 `locale`)",
    "required 'Geometry' in the 2019 Position schema read as 'geometry'",
    "2019 Status.energy items that were an array of arrays read as the array's items",
    "2019 Bearer `authorization` header parameter dropped; HTTP Basic + client_id declared as "
    "security instead, as in v3 and the quick guide (DESIGN.md section 1)",
)


def specs_available(name: str = V3) -> bool:
    """Tell whether the spec folder (and the named spec in it) is present."""
    return (SPEC_DIR / _file_name(name)).is_file()


def _file_name(name: str) -> str:
    return name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"


@functools.cache
def _load_fixed(name: str) -> dict[str, Any]:
    path = SPEC_DIR / _file_name(name)
    yaml = YAML(typ="safe", pure=True)
    spec = yaml.load(path.read_text(encoding="utf-8").replace("\t", " "))
    if not isinstance(spec, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    _repair(spec)
    return spec


def load_spec(name: str) -> dict[str, Any]:
    """Return a repaired copy of the named spec (``api-b2b-v3.19.2.yaml``, suffix optional)."""
    return copy.deepcopy(_load_fixed(_file_name(name)))


@functools.cache
def openapi(name: str) -> OpenAPI:
    """Return an openapi-core ``OpenAPI`` for the named, repaired spec (cached)."""
    # The vendor files have known validity errors (duplicate operationIds ...): skip the
    # spec validator, we validate traffic, not the documents.
    config = Config(
        spec_validator_cls=None,
        # HAL and GeoJSON bodies are JSON; openapi-core only knows application/json by default.
        extra_media_type_deserializers={
            "application/hal+json": _json_loads,
            "application/vnd.geo+json": _json_loads,
        },
    )
    return OpenAPI.from_dict(load_spec(name), config=config)


def _json_loads(value: bytes | str) -> Any:
    return json.loads(value)


# ------------------------------------------------------------------------------- repairs


def _repair(spec: dict[str, Any]) -> None:
    fragments = spec.get("x-fragment") or {}
    paths = spec.get("paths") or {}
    for key, item in list(paths.items()):
        ref = item.get("$ref") if isinstance(item, dict) else None
        if isinstance(ref, str) and ref.startswith("#/x-fragment/"):
            paths[key] = copy.deepcopy(fragments[ref.rsplit("/", 1)[1]])
    two_thousand_nineteen = str(spec.get("info", {}).get("version", "")).startswith("2")
    for item in paths.values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            _dedupe_parameters(spec, operation, drop_bearer=two_thousand_nineteen)
    if two_thousand_nineteen:
        _repair_2019(spec)
    _walk(spec)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = spec
    for part in ref[2:].split("/"):
        target = target[part]
    return target


def _dedupe_parameters(spec: dict[str, Any], operation: dict, *, drop_bearer: bool) -> None:
    params = operation.get("parameters")
    if not isinstance(params, list):
        return
    seen: set[tuple[str, str]] = set()
    kept = []
    for param in params:
        resolved = _resolve(spec, param)
        key = (str(resolved.get("name", "")).lower(), str(resolved.get("in", "")))
        if key in seen:
            continue
        if drop_bearer and key == ("authorization", "header"):
            continue
        seen.add(key)
        kept.append(param)
    operation["parameters"] = kept


def _repair_2019(spec: dict[str, Any]) -> None:
    components = spec.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    schemes.setdefault("basicAuth", {"type": "http", "scheme": "basic"})
    schemes.setdefault("ClientId", {"type": "apiKey", "in": "query", "name": "client_id"})
    spec["security"] = [{"basicAuth": [], "ClientId": []}]
    schemas = components.get("schemas", {})
    position = schemas.get("Position", {})
    for part in position.get("allOf", []):
        if "Geometry" in part.get("required", []):
            part["required"] = ["geometry" if r == "Geometry" else r for r in part["required"]]
    energy = schemas.get("Energy", {})
    if energy.get("type") == "array":
        for part in schemas.get("Status", {}).get("allOf", []):
            field = part.get("properties", {}).get("energy")
            if field and field.get("items", {}).get("$ref") == "#/components/schemas/Energy":
                field["items"] = copy.deepcopy(energy["items"])


def _walk(node: Any) -> None:
    if isinstance(node, dict):
        responses = node.get("responses")
        if isinstance(responses, dict) and all(
            isinstance(k, int) or str(k).isdigit() or k == "default" or "XX" in str(k)
            for k in responses
        ):
            node["responses"] = {str(k): v for k, v in responses.items()}
        content = node.get("content")
        if isinstance(content, dict):
            node["content"] = {str(k).strip(): v for k, v in content.items()}
        pattern = node.get("pattern")
        if isinstance(pattern, str) and len(pattern) > 1 and pattern[0] == pattern[-1] == '"':
            node["pattern"] = pattern[1:-1]
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


# ------------------------------------------------------------------- request / response


_BASE_PATH = re.compile(r"^(?:/api)?/connectedcar/v\d+")


def spec_url(api: OpenAPI, url: str) -> str:
    """Rewrite ``url`` onto the spec's first server (keeps path below the base and query)."""
    server = "https://api-cert.groupe-psa.com/connectedcar/v3"
    servers = api.spec / "servers"
    if servers.exists():
        server = (servers / 0 / "url").read_str()
    parts = urlsplit(url)
    path = _BASE_PATH.sub("", parts.path)
    return server.rstrip("/") + path + (f"?{parts.query}" if parts.query else "")


class RawRequest:
    """An openapi-core ``Request`` built from plain values."""

    def __init__(
        self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None
    ) -> None:
        parts = urlsplit(url)
        self._method = method.lower()
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self._body = body
        header_pairs = dict(headers or {})
        self._content_type = next(
            (v for k, v in header_pairs.items() if k.lower() == "content-type"), ""
        ).lower()
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(header_pairs)
        )

    @property
    def method(self) -> str:
        return self._method

    @property
    def body(self) -> bytes | None:
        return self._body

    @property
    def content_type(self) -> str:
        return self._content_type


class RawResponse:
    """An openapi-core ``Response`` built from plain values."""

    def __init__(self, status: int, headers: Mapping[str, str] | None, body: bytes | None):
        self.status_code = status
        self.headers = Headers(dict(headers or {}))
        self.data = body
        ctype = next((v for k, v in (headers or {}).items() if k.lower() == "content-type"), "")
        self.content_type = ctype.lower()


def validate_response(
    api: OpenAPI,
    method: str,
    url: str,
    status: int,
    headers: Mapping[str, str] | None,
    body_bytes: bytes | None,
    *,
    request_headers: Mapping[str, str] | None = None,
) -> None:
    """Validate one response against the spec; raises openapi-core's error on mismatch."""
    request = RawRequest(method, spec_url(api, url), request_headers, None)
    api.validate_response(request, RawResponse(status, headers, body_bytes))


def validate_request(
    api: OpenAPI,
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
) -> None:
    """Validate one request (path, query, headers, security, body) against the spec."""
    api.validate_request(RawRequest(method, spec_url(api, url), headers, body))
