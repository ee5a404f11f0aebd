"""Errors as RFC 9457 problem documents, from one exception -> status table."""
from __future__ import annotations

import json
import logging

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from shared import errors
from shared.resilience import is_database_outage

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "/problems/"
CONTENT_TYPE = "application/problem+json"


class HttpProblem(Exception):
    """A web-layer refusal (bad JSON, no token, too many requests)."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class MalformedBody(HttpProblem):
    slug, title, status = "malformed-body", "The body is not valid JSON", 400


class ValidationFailed(HttpProblem):
    slug, title, status = "validation-failed", "The input is not valid", 422


class Unauthenticated(HttpProblem):
    slug, title, status = "unauthenticated", "A valid bearer token is required", 401


class Forbidden(HttpProblem):
    slug, title, status = "forbidden", "Your role may not do this", 403


class BadSignature(HttpProblem):
    slug, title, status = "bad-signature", "The signature does not verify", 401


class TooManyRequests(HttpProblem):
    slug, title, status = "too-many-requests", "Too many requests; slow down", 429


class PathNotFound(HttpProblem):
    slug, title, status = "not-found", "Not found", 404


class BodyTooLarge(HttpProblem):
    slug, title, status = "body-too-large", "The body is larger than this route accepts", 413


class UnsupportedMediaType(HttpProblem):
    slug, title, status = "unsupported-media-type", "The body's media type is not accepted here", 415


# The one table: domain kinds of refusal -> HTTP status.
STATUS_BY_KIND = [
    (errors.Unavailable, 503),
    (errors.NotFound, 404),
    (errors.NotPermitted, 403),
    (errors.InvalidInput, 422),
    (errors.RuleViolation, 422),
    (errors.Conflict, 409),
    (errors.DomainError, 422),
    (HttpProblem, None),  # carries its own status
]


RETRY_AFTER_SECONDS = 5


def problem(status: int, slug: str, title: str, detail: str, **extra) -> Response:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        content_type=CONTENT_TYPE)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def from_exception(exc: BaseException) -> Response:
    for kind, status in STATUS_BY_KIND:
        if isinstance(exc, kind):
            return problem(status or exc.status, exc.slug, exc.title, exc.detail, **exc.extra)
    if isinstance(exc, RequestEntityTooLarge):  # a body read past the route's limit
        return problem(413, BodyTooLarge.slug, BodyTooLarge.title,
                       "the body is larger than this route accepts")
    if isinstance(exc, HTTPException):
        return from_http_exception(exc)
    if is_database_outage(exc):
        log.warning("answered 503, the database is unavailable: %s", str(exc).splitlines()[0][:200])
        return problem(503, errors.Unavailable.slug, errors.Unavailable.title,
                       "The service's database is unavailable; nothing was recorded. Retry shortly.")
    log.exception("unexpected error answering a request", exc_info=exc)
    return problem(500, "internal-error", "Internal error",
                   "The service failed to answer; this is a bug and has been logged.")


def from_http_exception(exc: HTTPException) -> Response:
    slug = (exc.name or "error").lower().replace(" ", "-")
    response = problem(exc.code or 500, slug, exc.name or "Error", exc.description or exc.name)
    for name, value in exc.get_headers():  # 405 says what is allowed (Allow)
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
