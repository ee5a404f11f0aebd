"""The OpenAPI document of a service, generated from its `@api` entrypoints and
their marshmallow schemas (apispec).

The document is a contract the tests hold the service to (tests/contract): every
status an operation can answer is listed, every body and parameter has its
schema, and the document validates (openapi-spec-validator). What each operation
may answer follows from how it is declared:

- every operation: 503 (its database is away; Retry-After) and, when it can fail
  on a program rule or a lookup, the domain's refusals: 404 where a path names
  something or an operation changes state, 409 and 422 where it changes state;
- a body: 400 (not JSON), 413 (over the route's limit), 422 (invalid fields),
  415 for an upload sent as anything but its media types;
- a query: 422; bearer-protected: 401 and 403; rate-limited: 429;
- `responses={status: why}` on `@api` for anything else.
"""
from __future__ import annotations

import re
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from .api import Api
from .server import MAX_PATH_INT

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "description": "field -> what is wrong"},
        "rules": {"type": "array", "items": {"type": "object"}, "description": "rules that refused"},
    },
    "required": ["type", "title", "status", "detail"],
}
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Your key for this request (docs/api-conventions.md): a retry with the same key and "
                   "request gets the first success again (header Idempotent-Replayed: true); the same key "
                   "with another request 422; while the first is still running 409."}
_PATH_PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
DECIMAL = {"type": "string", "format": "decimal", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
           "description": "an exact decimal, written as a string (\"87.5\")"}
BINARY = {"type": "string", "format": "binary"}
MAX_PATH_TEXT = 200


def _problem(description):
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _decimal_as_string(self, field, **kwargs) -> dict:
    """Decimals travel as strings ("87.5": exact), and are documented so."""
    if isinstance(field, fields.Decimal):
        return dict(DECIMAL)
    return {}


def _path_parameter(converter: str, name: str) -> dict:
    if converter == "uuid":
        schema = {"type": "string", "format": "uuid"}
    elif converter == "int":
        schema = {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INT}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_TEXT, "pattern": "^[^/]+$"}
    return {"in": "path", "name": name, "required": True, "schema": schema}


def _request_body(ep) -> dict:
    content = {}
    for media_type in ep.media_types:
        if media_type == "application/json":
            content[media_type] = {"schema": ep.request_schema}
        elif media_type == "multipart/form-data":
            content[media_type] = {"schema": {"type": "object", "required": ["file"],
                                              "properties": {"file": BINARY}}}
        else:
            content[media_type] = {"schema": BINARY}
    return {"required": True, "content": content}


def _responses(ep, changes_state: bool) -> dict:
    responses = {}
    ok = {"description": "OK"}
    if ep.response_schema is not None:
        ok["content"] = {"application/json": {"schema": ep.response_schema}}
    if ep.produces:
        ok.setdefault("content", {}).update({
            media_type: {"schema": BINARY if "json" not in media_type else {"type": "object"}}
            for media_type in ep.produces})
    responses[str(ep.status)] = ok
    for status, why in ep.alternatives.items():  # another success (200 for a replay)
        responses[str(status)] = {**ok, "description": why}
    if ep.idempotent and "200" not in responses:  # docs/api-conventions.md: repeats
        responses["200"] = {**ok, "description": "The same request again (a lost answer, or the same "
                                                 "Idempotency-Key): what the first one created"}
    has_body = ep.request_schema is not None or ep.media_types != ("application/json",)
    if has_body:
        responses["400"] = _problem("The body is not JSON, or not what this route reads")
        responses["413"] = _problem(f"The body is larger than {ep.body_limit} bytes")
        responses["422"] = _problem("Invalid fields, or a program rule refuses it")
        if ep.media_types != ("application/json",):
            responses["415"] = _problem(f"The body is not one of {', '.join(ep.media_types)}")
    if ep.query_schema is not None:
        responses["422"] = _problem("Invalid fields, or a program rule refuses it")
    if not ep.public:
        responses["401"] = _problem("No valid bearer token")
        responses["403"] = _problem("The token's role may not do this, or not here")
    if ep.rate_limit:
        responses["429"] = _problem(f"More than {ep.rate_limit} from one client")
    if "<" in ep.path or changes_state:
        responses["404"] = _problem("Not found, or not yours to see")
    if changes_state:
        responses["409"] = _problem("The current state does not allow it")
        responses["422"] = _problem("Invalid fields, or a program rule refuses it")
    responses["503"] = _problem("The service's database or broker is away; nothing was recorded. "
                                "Retry after the Retry-After seconds")
    if ep.idempotent:
        responses["409"] = _problem("The current state does not allow it, or a request with this "
                                    "Idempotency-Key is still running")
        responses["422"] = _problem("Invalid fields, a program rule refuses it, or this Idempotency-Key "
                                    "came with another request")
    for status, why in ep.responses.items():
        responses[str(status)] = why if isinstance(why, dict) else _problem(why)
    return responses


def _plain_numbers(value):
    """Range validators of Decimal fields put Decimals in the document; JSON has numbers."""
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def build(container, version: str = "1") -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(title=f"{container.service_name} API", version=version, openapi_version="3.0.3",
                   plugins=[plugin])
    plugin.converter.add_attribute_function(_decimal_as_string)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    entrypoints = sorted((e for e in container.entrypoints if isinstance(e, Api)),
                         key=lambda e: (e.path, e.method))
    for ep in entrypoints:
        method = getattr(container.service_cls, ep.method_name)
        doc = (method.__doc__ or "").strip()
        op = {"operationId": ep.method_name, "summary": ep.summary or doc.split("\n")[0],
              "description": doc, "parameters": []}
        for converter, name in _PATH_PARAM.findall(ep.path):
            op["parameters"].append(_path_parameter(converter, name))
        if ep.query_schema is not None:
            op["parameters"].append({"in": "query", "schema": ep.query_schema})
        if ep.request_schema is not None or ep.media_types != ("application/json",):
            op["requestBody"] = _request_body(ep)
        op["responses"] = _responses(ep, changes_state=ep.method in ("POST", "PUT", "PATCH", "DELETE"))
        if ep.public:
            op["security"] = []
        else:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = list(ep.roles)
        if ep.idempotent:
            op["parameters"].append(IDEMPOTENCY_KEY_PARAMETER)
            op["responses"].setdefault("400", _problem("The Idempotency-Key header is not valid"))
        path = _PATH_PARAM.sub(r"{\2}", ep.path)
        spec.path(path=path, operations={ep.method.lower(): op})
    return _plain_numbers(spec.to_dict())
