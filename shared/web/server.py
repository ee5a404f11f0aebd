"""The HTTP server every service shares: nameko's WebServer with problem+json for
routing errors, bearer-token verification, the client's address behind trusted
proxies, an access log of routes, and a per-client rate limiter."""
from __future__ import annotations

import errno
import logging
import re
import time
from pathlib import Path

import eventlet
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Request

from shared.persistence.database import Database
from shared.settings import CannotStart
from shared.tokens import JwksKeys, TokenVerifier

from .problems import from_http_exception
from .ratelimit import RateLimiter

# A key file holds one public key, several (one rotating out), or none (a deployment
# whose tokens all come from identity's published keys).
_PUBLIC_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


access_log = logging.getLogger("shared.web.access")
MAX_PATH_INT = 2**31 - 1  # the largest id a database integer column holds everywhere


class BoundedInt(IntegerConverter):
    """`<int:...>` that matches only what a database column can hold: a larger number
    names nothing (404), instead of overflowing the query (500)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_PATH_INT)
        super().__init__(map, *args, **kwargs)


class _ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        route = None
        try:
            provider, values = adapter.match()
            route = provider.path
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:  # unknown path, wrong method
            response = from_http_exception(exc)
        # The route, never the path or query: those carry names and numbers.
        access_log.info("%s %s %s", request.method, route or "(no route)", response.status_code,
                        extra={"method": request.method, "route": route, "status": response.status_code,
                               "ms": round((time.perf_counter() - started) * 1000, 1),
                               "client": request.remote_addr})
        return response(environ, start_response)


class ApiServer(WebServer):
    database = Database()

    def setup(self):
        super().setup()
        config = self.container.config
        pems = []
        if config.get("JWT_PUBLIC_KEY"):
            pems.append(config["JWT_PUBLIC_KEY"].encode())
        for path in filter(None, str(config.get("JWT_PUBLIC_KEY_FILE", "")).split(",")):
            if Path(path).exists():
                pems += _PUBLIC_PEM.findall(Path(path).read_bytes())
        jwks_url = str(config.get("JWKS_URL") or "")  # identity's published keys, fetched and cached
        jwks = JwksKeys(jwks_url, max_age=float(config.get("JWKS_MAX_AGE_SECONDS", 300)),
                        min_refetch=float(config.get("JWKS_MIN_REFETCH_SECONDS", 10))) if jwks_url else None
        self.verifier = TokenVerifier(pems, [jwks] if jwks else [])
        self.limiter = RateLimiter(self.database)
        self.proxy_hops = trusted_proxy_hops(config)

    def start(self):
        """nameko's start, but the port is bound without SO_REUSEPORT: a second
        process on a taken port fails plainly instead of sharing it with the first."""
        if not self._starting:
            self._starting = True
            try:
                self._sock = eventlet.listen(self.bind_addr, reuse_port=False)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                host, port = self.bind_addr
                raise CannotStart(f"the HTTP address {host}:{port} is taken by another process "
                                  f"(is this service already running?)") from None
            self._sock.settimeout(None)
            self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
            self._gt = self.container.spawn_managed_thread(self.run)

    def stop(self):
        super().stop()
        if self._sock is not None:
            self._sock.close()  # the port is free as soon as the service stops

    def make_url_map(self):
        url_map = Map(converters={"int": BoundedInt})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self):
        app = _ProblemWsgiApp(self)
        # Behind N trusted proxies the client is the address the outermost of them
        # added: N-th X-Forwarded-For entry from the right. Entries further left
        # are whatever the client wrote.
        return ProxyFix(app, x_for=self.proxy_hops) if self.proxy_hops else app

    def get_wsgi_server(self, sock, wsgi_app, protocol=None, debug=False):
        """eventlet's access log writes the request line, query included; the app
        logs the route instead."""
        from eventlet import wsgi
        from nameko.web.server import HttpOnlyProtocol
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol or HttpOnlyProtocol,
                           debug=debug, log=logging.getLogger("nameko.web.server"), log_output=False)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def client_of(self, request) -> str:
        return request.remote_addr or "unknown"

    def allow(self, limit: str, scope: str, client: str) -> bool:
        return self.limiter.allow(limit, scope, client)


def trusted_proxy_hops(config) -> int:
    """TRUSTED_PROXY_HOPS: how many proxies of ours stand before the service (the
    ingress: 1). The older TRUST_FORWARDED_FOR=true means one."""
    hops = str(config.get("TRUSTED_PROXY_HOPS", "") or "").strip()
    if hops:
        try:
            value = int(hops)
        except ValueError:
            raise CannotStart(f"TRUSTED_PROXY_HOPS must be a whole number, not {hops!r}") from None
        if not 0 <= value <= 5:
            raise CannotStart(f"TRUSTED_PROXY_HOPS must be between 0 and 5, not {value}")
        return value
    return 1 if str(config.get("TRUST_FORWARDED_FOR", "false")).lower() == "true" else 0
