"""The HTTP server every service shares: nameko's WebServer with problem+json for
routing errors, bearer-token verification and a per-client rate limiter."""
from __future__ import annotations

import errno
from pathlib import Path

import eventlet
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from shared.settings import CannotStart
from shared.tokens import JwksKeys, TokenVerifier

from .problems import from_http_exception


class _ProblemWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:  # unknown path, wrong method
            response = from_http_exception(exc)
        return response(environ, start_response)


class ApiServer(WebServer):
    def setup(self):
        super().setup()
        config = self.container.config
        pems = []
        if config.get("JWT_PUBLIC_KEY"):
            pems.append(config["JWT_PUBLIC_KEY"].encode())
        for path in filter(None, str(config.get("JWT_PUBLIC_KEY_FILE", "")).split(",")):
            if Path(path).exists():
                pems.append(Path(path).read_bytes())
        jwks_url = str(config.get("JWKS_URL") or "")  # identity's published keys, fetched and cached
        jwks = JwksKeys(jwks_url, max_age=float(config.get("JWKS_MAX_AGE_SECONDS", 300)),
                        min_refetch=float(config.get("JWKS_MIN_REFETCH_SECONDS", 10))) if jwks_url else None
        self.verifier = TokenVerifier(pems, [jwks] if jwks else [])
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.trust_forwarded_for = str(config.get("TRUST_FORWARDED_FOR", "false")).lower() == "true"

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

    def get_wsgi_app(self):
        return _ProblemWsgiApp(self)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def client_of(self, request) -> str:
        if self.trust_forwarded_for and request.headers.get("X-Forwarded-For"):
            return request.headers["X-Forwarded-For"].split(",")[0].strip()
        return request.remote_addr or "unknown"

    def allow(self, limit: str, scope: str, client: str) -> bool:
        return self.limiter.hit(parse(limit), scope, client)
