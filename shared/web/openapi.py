"""The OpenAPI document of a service, generated from its `@api` entrypoints and
their marshmallow schemas (apispec)."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .api import Api

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


def _problem(description):
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def build(container, version: str = "1") -> dict:
    spec = APISpec(title=f"{container.service_name} API", version=version, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Problem", PROBLEM)
    entrypoints = sorted((e for e in container.entrypoints if isinstance(e, Api)),
                         key=lambda e: (e.path, e.method))
    for ep in entrypoints:
        method = getattr(container.service_cls, ep.method_name)
        doc = (method.__doc__ or "").strip()
        op = {"operationId": ep.method_name, "summary": ep.summary or doc.split("\n")[0],
              "description": doc, "responses": {}, "parameters": []}
        for converter, name in _PATH_PARAM.findall(ep.path):
            op["parameters"].append({"in": "path", "name": name, "required": True,
                                     "schema": {"type": "string",
                                                **({"format": "uuid"} if converter == "uuid" else {})}})
        if ep.query_schema is not None:
            op["parameters"].append({"in": "query", "schema": ep.query_schema})
        if ep.request_schema is not None:
            op["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": ep.request_schema}}}
            op["responses"]["400"] = _problem("The body is not JSON")
            op["responses"]["422"] = _problem("Invalid fields, or a program rule refuses it")
        ok = {"description": "OK"}
        if ep.response_schema is not None:
            ok["content"] = {"application/json": {"schema": ep.response_schema}}
        op["responses"][str(ep.status)] = ok
        if ep.public:
            op["security"] = []
        else:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = list(ep.roles)
            op["responses"]["401"] = _problem("No valid bearer token")
            op["responses"]["403"] = _problem("The token's role may not call this")
        if ep.idempotent:
            op["parameters"].append(IDEMPOTENCY_KEY_PARAMETER)
            op["responses"].setdefault("400", _problem("The Idempotency-Key header is not valid"))
            op["responses"].setdefault("409", _problem("A request with this Idempotency-Key is still running"))
            op["responses"].setdefault("422", _problem("This Idempotency-Key came with another request"))
        if ep.rate_limit:
            op["responses"]["429"] = _problem(f"More than {ep.rate_limit} from one client")
        if "<" in ep.path:
            op["responses"]["404"] = _problem("Not found, or not yours to see")
        path = _PATH_PARAM.sub(r"{\2}", ep.path)
        spec.path(path=path, operations={ep.method.lower(): op})
    return spec.to_dict()
