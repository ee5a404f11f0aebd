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

from . import problems, screening
from .idempotency import HEADER as IDEMPOTENCY_KEY
from .idempotency import IdempotencyKeys
from .server import ApiServer

# A JSON body of this API is a few kilobytes; uploads (rosters, statements) say
# their own limit. Checked on Content-Length before anything reads the body.
JSON_BODY_LIMIT = 64 * 1024
# Headers every answer carries: nothing here is meant to be framed, sniffed or
# referred from; the verification page sets its own Content-Security-Policy.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}
MAX_PATH_VALUE = 200


class Api(HttpRequestHandler):
    server = ApiServer()
    metrics = Metrics()
    idempotency = IdempotencyKeys()

    def __init__(self, method, url, *, roles=(), public=False, request=None, response=None,
                 query=None, status=200, summary="", rate_limit=None, idempotent=None,
                 body_limit=JSON_BODY_LIMIT, media_types=("application/json",), responses=(),
                 load_request=True, produces=(), alternatives=(), load_query=True, **kwargs):
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
        self.body_limit = body_limit  # bytes, or (config key, default)
        self.media_types = tuple(media_types)  # of the body, for the OpenAPI document
        self.responses = dict(responses)  # further statuses it answers: {409: "why"}
        # False: the handler loads the body itself (after checking its signature).
        self.load_request = load_request
        self.produces = tuple(produces)  # media types of a success it writes itself (CSV, PDF)
        self.alternatives = dict(alternatives)  # other successes: {200: "a replay"}
        self.load_query = load_query  # False: documented, read by the handler itself
        kwargs.setdefault("expected_exceptions", (DomainError, problems.HttpProblem))
        super().__init__(method, url, **kwargs)

    def setup(self):
        super().setup()
        # rate_limit is "30/minute", or (config key, default) to let deployments set it.
        if isinstance(self.rate_limit, tuple):
            key, default = self.rate_limit
            self.rate_limit = str(self.container.config.get(key, default))
        if isinstance(self.body_limit, tuple):
            key, default = self.body_limit
            self.body_limit = int(self.container.config.get(key, default))

    def start(self):
        super().start()
        if self.rate_limit:  # after every setup: the database knows its tables by now
            self.server.limiter.check_ready()

    @property
    def path(self) -> str:
        return self.url.replace("{service}", self.container.service_name)

    def get_url_rule(self):
        return Rule(self.path, methods=[self.method])

    def handle_request(self, request):
        started = time.perf_counter()
        if self.idempotent and IDEMPOTENCY_KEY in request.headers:
            try:  # the key's fingerprint reads the body: bound it first
                self._limit_body(request)
            except problems.HttpProblem as exc:
                response = self.response_from_exception(exc)
            else:
                request.shallow = False  # nameko's handler reads the body too
                response = self.idempotency.around(self, request, super().handle_request)
        else:
            response = super().handle_request(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        self.metrics.http.labels(self.method, self.path, str(response.status_code)).inc()
        self.metrics.http_seconds.labels(self.path).observe(time.perf_counter() - started)
        return response

    def get_entrypoint_parameters(self, request):
        self._limit_body(request)
        self._screen_path(request.path_values)
        if self.rate_limit:
            client = self.server.client_of(request)
            if not self.server.allow(self.rate_limit, self.path, client):
                raise problems.TooManyRequests(f"at most {self.rate_limit} per client")
        kwargs = dict(request.path_values)
        if not self.public:
            kwargs["principal"] = self._authenticate(request)
        if self.request_schema is not None and self.load_request:
            kwargs["body"] = load_body(self.request_schema, request.get_data(cache=True))
        if self.query_schema is not None and self.load_query:
            kwargs["query"] = validated(self.query_schema, request.args.to_dict(flat=True))
        return (request,), kwargs

    def caller_of(self, request) -> str:
        """Who a kept answer belongs to: the token's role and subject (the key's scope)."""
        if self.public:
            return "public"
        principal = self._authenticate(request)
        return f"{principal.role}:{principal.subject}:{principal.base or ''}"[:200]

    def _limit_body(self, request):
        """Refuse a body over the route's limit before reading it; werkzeug also stops
        any later read at the limit (a Content-Length that lies)."""
        request.max_content_length = self.body_limit
        request.max_form_memory_size = min(self.body_limit, 500_000)
        if (request.content_length or 0) > self.body_limit:
            raise problems.BodyTooLarge(f"the body has {request.content_length} bytes; "
                                        f"this route accepts at most {self.body_limit}")

    @staticmethod
    def _screen_path(values: dict):
        """A path value with NUL or of absurd length names nothing that exists."""
        for name, value in values.items():
            if isinstance(value, str) and (len(value) > MAX_PATH_VALUE or screening.text_problem(value)):
                raise problems.PathNotFound(f"no such {name}")

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
    except RecursionError:
        raise problems.MalformedBody(f"the body nests deeper than {screening.MAX_DEPTH} levels") from None
    return validated(schema, data)


def validated(schema, data) -> dict:
    if not isinstance(data, dict):
        raise problems.ValidationFailed("expected a JSON object")
    refused = screening.problems_in(data)
    if refused:
        raise problems.ValidationFailed("some text is not valid", errors=refused)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise problems.ValidationFailed("some fields are not valid", errors=exc.messages) from None
