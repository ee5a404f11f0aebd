"""The `@api` entrypoint: nameko's @http with this project's conventions.

Every endpoint states who may call it (`roles=` or `public=True`), its request
and response schemas (which also make the OpenAPI document), and answers errors
as problem+json. The handler receives `request`, the path values, and when
declared `principal`, `body` (loaded request schema) and `query`.
"""
from __future__ import annotations

import json
import time

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from shared.errors import DomainError, Unavailable
from shared.observability import Metrics
from shared.tokens import InvalidToken, KeysUnavailable

from . import problems
from .idempotency import HEADER as IDEMPOTENCY_KEY
from .idempotency import IdempotencyKeys
from .server import ApiServer


class Api(HttpRequestHandler):
    server = ApiServer()
    metrics = Metrics()
    idempotency = IdempotencyKeys()

    def __init__(self, method, url, *, roles=(), public=False, request=None, response=None,
                 query=None, status=200, summary="", rate_limit=None, idempotent=None, **kwargs):
        if not roles and not public:
            raise ValueError(f"{method} {url}: say which roles may call it, or public=True")
        self.roles = tuple(roles)
        self.public = public
        self.request_schema = request() if isinstance(request, type) else request
        self.response_schema = response() if isinstance(response, type) else response
        self.query_schema = query() if isinstance(query, type) else query
        self.status = status
        self.summary = summary
        self.rate_limit = rate_limit
        # A creating POST takes an Idempotency-Key unless it says otherwise (shared/web/idempotency.py).
        self.idempotent = (method == "POST" and status == 201) if idempotent is None else idempotent
        kwargs.setdefault("expected_exceptions", (DomainError, problems.HttpProblem))
        super().__init__(method, url, **kwargs)

    def setup(self):
        super().setup()
        # rate_limit is "30/minute", or (config key, default) to let deployments set it.
        if isinstance(self.rate_limit, tuple):
            key, default = self.rate_limit
            self.rate_limit = str(self.container.config.get(key, default))

    @property
    def path(self) -> str:
        return self.url.replace("{service}", self.container.service_name)

    def get_url_rule(self):
        return Rule(self.path, methods=[self.method])

    def handle_request(self, request):
        started = time.perf_counter()
        if self.idempotent and IDEMPOTENCY_KEY in request.headers:
            request.shallow = False  # the key's fingerprint reads the body (nameko's handler would too)
            response = self.idempotency.around(self, request, super().handle_request)
        else:
            response = super().handle_request(request)
        self.metrics.http.labels(self.method, self.path, str(response.status_code)).inc()
        self.metrics.http_seconds.labels(self.path).observe(time.perf_counter() - started)
        return response

    def get_entrypoint_parameters(self, request):
        if self.rate_limit:
            client = self.server.client_of(request)
            if not self.server.allow(self.rate_limit, self.path, client):
                raise problems.TooManyRequests(f"at most {self.rate_limit} per client")
        kwargs = dict(request.path_values)
        if not self.public:
            kwargs["principal"] = self._authenticate(request)
        if self.request_schema is not None:
            kwargs["body"] = load_body(self.request_schema, request.get_data(cache=True))
        if self.query_schema is not None:
            kwargs["query"] = validated(self.query_schema, request.args.to_dict(flat=True))
        return (request,), kwargs

    def caller_of(self, request) -> str:
        """Who a kept answer belongs to: the token's role and subject (the key's scope)."""
        if self.public:
            return "public"
        principal = self._authenticate(request)
        return f"{principal.role}:{principal.subject}:{principal.base or ''}"[:200]

    def _authenticate(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise problems.Unauthenticated("send Authorization: Bearer <token>")
        try:
            principal = self.server.verifier.verify(token.strip())
        except KeysUnavailable as exc:  # the issuer is away: not the caller's fault
            raise Unavailable(str(exc)) from None
        except InvalidToken as exc:
            raise problems.Unauthenticated(f"the token is not valid: {exc}") from None
        if principal.role not in self.roles:
            raise problems.Forbidden(
                f"role {principal.role} may not call this; allowed: {', '.join(self.roles)}")
        return principal

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (self.status, result)
        if status == 204:
            return Response(status=204)
        if self.response_schema is not None:
            payload = self.response_schema.dump(payload)
        return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                        content_type="application/json")

    def response_from_exception(self, exc):
        return problems.from_exception(exc)


api = Api.decorator


def load_body(schema, raw: bytes) -> dict:
    """Parse a JSON body and load it with `schema`: 400 if not JSON, 422 if invalid."""
    if not raw:
        raise problems.MalformedBody("the body is empty; send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise problems.MalformedBody(f"the body is not JSON: {exc}") from None
    return validated(schema, data)


def validated(schema, data) -> dict:
    if not isinstance(data, dict):
        raise problems.ValidationFailed("expected a JSON object")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise problems.ValidationFailed("some fields are not valid", errors=exc.messages) from None
