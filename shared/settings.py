"""A service's settings, checked when it starts."""
from __future__ import annotations


class CannotStart(Exception):
    """The service cannot start as configured (a setting is missing, the HTTP port is
    taken): said once, plainly, and the process exits 2."""
