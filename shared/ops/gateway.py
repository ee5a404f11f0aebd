"""The gateway on this machine: Debian's nginx with deploy/gateway/nginx.conf.

nginx.conf is the same file compose mounts; what differs per machine is in two
include files beside it (docs/gateway.md). `make run` writes a directory holding a
copy of nginx.conf, environment/http.conf (each service's address, the allowed
frontend origins, temp paths under var/), environment/server.conf (the listening
address and the root the documentation page is served from) and docs/ (Swagger UI
from the pinned swagger-ui-bundle package, listing every service's OpenAPI
document). Tests write their own directories with the same class.

Settings: GATEWAY_HTTP (listening address, default 127.0.0.1:8000) and
GATEWAY_CORS_ORIGINS (comma-separated frontend origins).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "gateway" / "nginx.conf"
DEFAULT_HTTP = "127.0.0.1:8000"
# A frontend's development server (Vite's default port) on this machine.
DEFAULT_ORIGINS = "http://localhost:5173,http://127.0.0.1:5173"
INSTALL_HINT = "apt-get install -y --no-install-recommends nginx"

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_ADDRESS = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_SERVICE = re.compile(r"^[a-z][a-z0-9-]*$")
# The files of the Swagger UI distribution the page needs (not the source maps).
SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                 "index.css", "favicon-16x16.png", "favicon-32x32.png", "oauth2-redirect.html")


class GatewaySettingError(ValueError):
    """A gateway setting that would not make a valid configuration; says which."""


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def parse_origins(text: str) -> list[str]:
    origins = [o.strip().rstrip("/") for o in text.split(",") if o.strip()]
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise GatewaySettingError(f"GATEWAY_CORS_ORIGINS: {origin!r} is not an origin "
                                      "(scheme://host[:port], e.g. https://admin.example.cn)")
    return origins


def listen_address(env=os.environ) -> str:
    address = env.get("GATEWAY_HTTP", DEFAULT_HTTP)
    if not _ADDRESS.match(address):
        raise GatewaySettingError(f"GATEWAY_HTTP: {address!r} is not host:port")
    return address


@dataclass
class Gateway:
    directory: Path
    listen: str                       # host:port
    upstreams: dict[str, str]         # service name -> host:port
    origins: list[str] = field(default_factory=list)
    resolver: str | None = None       # needed only when upstreams are host names

    def __post_init__(self):
        self.directory = Path(self.directory).resolve()
        for name, address in self.upstreams.items():
            if not _SERVICE.match(name) or not _ADDRESS.match(address):
                raise GatewaySettingError(f"gateway upstream {name}={address}: expected name=host:port")

    @property
    def url(self) -> str:
        host, port = self.listen.rsplit(":", 1)
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    @property
    def health_url(self) -> str:
        return self.url + "/gateway/health"

    def write(self) -> None:
        """The directory nginx runs from: nginx.conf, environment/, docs/, tmp/."""
        env = self.directory / "environment"
        env.mkdir(parents=True, exist_ok=True)
        (self.directory / "tmp").mkdir(exist_ok=True)
        shutil.copyfile(NGINX_CONF, self.directory / "nginx.conf")
        (env / "http.conf").write_text(http_conf(self.upstreams, self.origins, self.resolver,
                                                 temp=self.directory / "tmp"))
        (env / "server.conf").write_text(server_conf(self.listen, self.directory / "site"))
        write_docs(self.directory / "site", list(self.upstreams))

    def command(self, nginx: str) -> list[str]:
        return [nginx, "-p", f"{self.directory}/", "-c", str(self.directory / "nginx.conf"),
                "-e", "stderr", "-g", f"daemon off; pid {self.directory / 'nginx.pid'};"]

    def check(self, nginx: str) -> str | None:
        """nginx's own test of the written configuration: None when it passes, else what it said."""
        import subprocess
        done = subprocess.run([*self.command(nginx)[:-2], "-t", "-q", "-g",
                               f"pid {self.directory / 'nginx-test.pid'};"],
                              capture_output=True, text=True)
        return None if done.returncode == 0 else (done.stderr or done.stdout).strip()


def http_conf(upstreams: dict[str, str], origins: list[str], resolver: str | None = None,
              temp: Path | None = None) -> str:
    width = max(map(len, upstreams), default=0) + 2
    lines = ["# Written by shared/ops/gateway.py for this machine: each service's address,",
             "# the allowed frontend origins. Rewritten at every `make run`."]
    if resolver:
        lines.append(f"resolver {resolver} valid=10s ipv6=off;")
    lines += ["map $cea_service $cea_upstream {", '    default "";']
    lines += [f"    {name:<{width}}{address};" for name, address in upstreams.items()]
    lines += ["}", "map $http_origin $cea_cors_origin {", '    default "";']
    lines += [f'    "{origin}" $http_origin;' for origin in origins]
    lines.append("}")
    if temp is not None:  # nginx's default temp paths belong to root
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            lines.append(f"{kind}_temp_path {temp / kind};")
    return "\n".join(lines) + "\n"


def server_conf(listen: str, root: Path) -> str:
    return f"listen {listen};\nroot {root};\n"


def write_docs(site: Path, services: list[str]) -> Path:
    """The documentation page under site/docs/: Swagger UI with one entry per service."""
    from swagger_ui_bundle import swagger_ui_path
    docs = Path(site) / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name in SWAGGER_FILES:
        shutil.copyfile(Path(swagger_ui_path) / name, docs / name)
    (docs / "index.html").write_text(_INDEX)
    apis = [{"name": s, "url": f"/{s}/openapi.json"} for s in services]
    (docs / "swagger-initializer.js").write_text(_INITIALIZER.replace("$APIS", json.dumps(apis)))
    return docs


_INDEX = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>碳排放管理员 back office — API documentation</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="./index.css">
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="./swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"""

# Every service's document through this gateway; no validator badge (it would call
# out to swagger.io); a token entered under "Authorize" stays across reloads.
_INITIALIZER = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    urls: $APIS,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""
