"""The kinds of refusal a domain can raise. Pure: no HTTP here.

Each service's domain subclasses these with a named exception per rule; the web
layer maps the kind to a status and an RFC 9457 problem in one table
(shared/web/problems.py)."""


class DomainError(Exception):
    slug = "domain-error"
    title = "The request was refused"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    """Absent, or not yours to see (the two answer alike so ids leak nothing)."""
    slug = "not-found"
    title = "Not found"


class NotPermitted(DomainError):
    """The caller is known but may not do this here (e.g. a base without authorization)."""
    slug = "not-permitted"
    title = "Not permitted"


class InvalidInput(DomainError):
    """Well-formed but wrong values; `errors` maps each field to what is wrong."""
    slug = "invalid-input"
    title = "The input is not valid"

    def __init__(self, detail: str, errors: dict | None = None, **extra):
        super().__init__(detail, errors=errors or {}, **extra)


class RuleViolation(DomainError):
    """A program rule refuses the action; `rules` names every rule that failed."""
    slug = "rule-violation"
    title = "A program rule refuses this"

    def __init__(self, detail: str, rules: list | None = None, **extra):
        super().__init__(detail, rules=rules or [], **extra)


class Conflict(DomainError):
    """The action does not fit the current state (already paid, no seat left...)."""
    slug = "conflict"
    title = "The current state does not allow this"


class Unavailable(DomainError):
    """Not a refusal of the request: something the service needs is away for a
    while (the broker refuses messages, the database is down). Retry shortly."""
    slug = "unavailable"
    title = "Temporarily unavailable; retry shortly"
