"""The compose file: valid against the Compose specification's schema (vendored, pinned),
one command with nothing else installed, no secret falling back to a development value,
and each container given only the keys it needs. No Docker engine runs here."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.ops import local
from shared.tokens import TokenVerifier, mint

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose"
SERVICES = list(local.SERVICES)
SCHEMA_SHA256 = "1f91e091f16b2dd50ab8860e02bb391d22df553d91c145eacedb1b6eff9c3f0e"
# Written on the gateway and monitoring branches; compose mounts them by these paths.
OTHER_BRANCHES = ("deploy/gateway/", "deploy/monitoring/")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


class ComposeLoader(yaml.SafeLoader):
    """YAML as compose reads it. nameko's `setup_yaml_parser` (which `nameko run`, the
    runner and some tests call) teaches every SafeLoader of the process to replace
    `${VAR:default}` from the environment; compose's `${VAR:?message}` must stay as
    written here, so this loader keeps PyYAML's own implicit resolvers only."""
    yaml_implicit_resolvers = {key: list(found) for key, found in
                               yaml.resolver.Resolver.yaml_implicit_resolvers.items()}


def load(text: str) -> dict:
    return yaml.load(text, Loader=ComposeLoader)


def compose_text() -> str:
    return (COMPOSE / "compose.yaml").read_text()


def compose() -> dict:
    return load(compose_text())


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def interpolate(text: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """Compose's `${VAR}`, `${VAR:?message}`, `${VAR:-default}`; the missing required ones."""
    missing = []

    def one(m):
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            missing.append(name)
            return ""
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""
    return INTERPOLATION.sub(one, text.replace("$$", "\0")).replace("\0", "$"), missing


def test_the_compose_file_is_valid_against_the_compose_specification():
    schema_path = COMPOSE / "schema" / "compose-spec.json"
    assert hashlib.sha256(schema_path.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(schema_path.read_text())
    text, missing = interpolate(compose_text(), env_file(COMPOSE / "development.env"))
    assert not missing
    for document in (compose(), load(text)):  # as written, and as compose reads it
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=str)
        assert not errors, "\n".join(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_check_can_fail():
    schema = json.loads((COMPOSE / "schema" / "compose-spec.json").read_text())
    broken = compose()
    broken["services"]["billing"]["restart_policy"] = "always"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_no_secret_falls_back_to_a_default():
    """Every variable is required (`:?`): without the development env file compose stops,
    naming it; no value is filled in silently, and there is no .env beside the file."""
    text = compose_text()
    uses = INTERPOLATION.findall(text)
    assert uses and all(op == ":?" for _, op, _ in uses), [u for u in uses if u[1] != ":?"]
    _, missing = interpolate(text, {})
    assert {"CEA_ID_HASH_KEY", "BILLING_QR_PROVIDER_SECRETS", "RABBITMQ_USER", "RABBITMQ_PASSWORD",
            "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "CEA_PROFILE"} <= set(missing)
    assert not (COMPOSE / ".env").exists()
    for literal in ("guest:guest", "cea:cea@", "dev-only", "dev-wechat", "dev-alipay"):
        assert literal not in text


def test_the_development_values_are_explicit_and_labelled():
    values = env_file(COMPOSE / "development.env")
    assert values["CEA_PROFILE"] == "development"
    # the same development values `make run` uses (deploy/dev.env), so the services'
    # refusal of known development values outside the development profile knows them
    dev = env_file(ROOT / "deploy" / "dev.env")
    assert values["CEA_ID_HASH_KEY"] == dev["CEA_ID_HASH_KEY"]
    assert values["BILLING_QR_PROVIDER_SECRETS"] == dev["BILLING_QR_PROVIDER_SECRETS"]
    for name in SERVICES:
        assert compose()["services"][name]["environment"]["CEA_PROFILE"].startswith("${CEA_PROFILE:?")


def test_the_readme_gives_the_one_command():
    readme = (ROOT / "README.md").read_text()
    assert ("docker compose -f deploy/compose/compose.yaml --env-file deploy/compose/development.env up --build"
            in readme)


def test_compose_runs_the_whole_system():
    c = compose()
    services = c["services"]
    assert set(SERVICES) | {"keys", "rabbitmq", "postgres", "gateway", "gateway-docs", "mailsink", "prometheus",
                            "grafana"} <= set(services)
    init = (COMPOSE / "postgres-init.sql").read_text()
    for name in SERVICES:
        s = services[name]
        assert s["command"] == [name]
        assert s["environment"][f"{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/cea_{name}")
        assert f"CREATE DATABASE cea_{name};" in init
        assert s["depends_on"]["keys"] == {"condition": "service_completed_successfully"}
        assert s["read_only"] is True and s["cap_drop"] == ["ALL"]
    rabbit = services["rabbitmq"]["image"]
    major, minor = map(int, re.match(r"rabbitmq:(\d+)\.(\d+)", rabbit).groups())
    assert (major, minor) >= (3, 13) and rabbit.endswith("-management")
    plugins = (COMPOSE / "rabbitmq" / "enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    assert "../gateway/nginx.conf:/etc/nginx/nginx.conf:ro" in services["gateway"]["volumes"]
    assert "../gateway/compose:/etc/nginx/environment:ro" in services["gateway"]["volumes"]
    # identity's e-mail goes to the mail sink (an image of its own, not the services' image)
    identity = services["identity"]["environment"]
    assert (identity["IDENTITY_SMTP_HOST"], identity["IDENTITY_SMTP_PORT"]) == ("mailsink", "1025")
    assert "aiosmtpd" not in (ROOT / "requirements.lock").read_text()
    # the other services verify identity's tokens by its published keys
    for name in set(SERVICES) - {"identity"}:
        assert services[name]["environment"]["JWKS_URL"] == "http://identity:8006/identity/jwks.json"


def test_every_file_compose_mounts_exists():
    for name, s in compose()["services"].items():
        for volume in s.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                continue  # a named volume
            path = (COMPOSE / source).resolve()
            relative = str(path.relative_to(ROOT)) + ("/" if path.is_dir() or source.endswith("/") else "")
            if not path.exists() and relative.startswith(OTHER_BRANCHES):
                pytest.skip(f"{relative} comes with the gateway/monitoring work")
            assert path.exists(), f"{name} mounts {source}, which does not exist"


def _mounts(service: dict) -> set[str]:
    return {v.split(":")[0] for v in service.get("volumes", [])}


def test_each_container_gets_only_the_keys_it_needs():
    """The ID-hash key for the services that find people by ID number (identity: logins
    by ID number); the development token key for the minter alone; identity's own
    token signing key for identity alone."""
    services = compose()["services"]
    for name in SERVICES:
        env, mounts = services[name]["environment"], _mounts(services[name])
        assert "public-keys" in mounts
        assert ("certificate-key" in mounts) == (name == "certificate"), name
        assert ("identity-key" in mounts) == (name == "identity"), name
        assert "token-key" not in mounts, name
        assert ("CEA_ID_HASH_KEY" in env) == (name in ("enrollment", "certificate", "identity")), name
        assert ("BILLING_QR_PROVIDER_SECRETS" in env) == (name == "billing"), name
    holders = {name for name, s in services.items() if "token-key" in _mounts(s)}
    assert holders == {"keys", "token"}
    assert {name for name, s in services.items() if "identity-key" in _mounts(s)} == {"keys", "identity"}
    assert "tools" in services["token"]["profiles"]


def test_the_key_init_container_makes_working_keys_once(tmp_path):
    dirs = [tmp_path / d for d in ("public", "certificate", "token", "identity")]
    for d in dirs:
        d.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CEA_KEYS_OWNER": f"{os.getuid()}:{os.getgid()}",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def run():
        subprocess.run(["sh", str(COMPOSE / "make-dev-keys.sh"), *map(str, dirs)], env=env, check=True,
                       capture_output=True, cwd=tmp_path)
    run()
    public, signing, private, identity = (dirs[0] / "jwt-public.pem", dirs[1] / "certificate-signing.pem",
                                          dirs[2] / "jwt-private.pem", dirs[3] / "token-signing.pem")
    for secret in (private, signing, identity):
        assert oct(secret.stat().st_mode & 0o777) == "0o400", secret
    token = mint(private.read_bytes(), "admin")
    assert TokenVerifier([public.read_bytes()]).verify(token).role == "admin"
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from services.identity.keyring import load_keys
    from shared.tokens import public_jwk
    [identity_key] = load_keys({"TOKEN_SIGNING_KEY_FILES": str(identity)})
    assert identity_key.jwk != public_jwk(load_pem_public_key(public.read_bytes()))  # its own, not the minter's
    before = [p.read_bytes() for p in (public, signing, private, identity)]
    run()  # a second `up`: the same keys, so tokens and certificates stay valid
    assert [p.read_bytes() for p in (public, signing, private, identity)] == before
    assert not list(dirs[0].glob("*private*")) and list(dirs[0].iterdir()) == [public]
