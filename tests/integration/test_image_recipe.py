"""The image's recipe, replayed without a container engine, as closely as this machine allows.

As deploy/Dockerfile does: a fresh virtual environment from the runtime lock alone
(`pip install --no-deps`, then `pip check`), made by a non-root user; the code copied the
way its COPY lines copy it, into a folder that user cannot write (the read-only root);
the image's ENV. Then, as the Kubernetes manifests run it on PostgreSQL: the replica's
init container waits in vain while the schema is not there, the migration Job migrates,
and the service started by the image's own ENTRYPOINT with the Deployment's argument
becomes ready, signs with its key and stops cleanly on SIGTERM. What differs from the
image: this machine's Python 3.11 and Debian packages instead of the base image's.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from services.certificate.signing import make_dev_key
from shared.tokens import generate_key_pair
from tests.support import infra
from tests.support.processes import free_port
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "certificate"  # the one that needs the most: its database, the ID-hash key, its signing key
NOBODY = 65534
# A pip cache the non-root user keeps between runs, so only the first run downloads.
PIP_CACHE = Path(tempfile.gettempdir()) / "cea-image-recipe-pip-cache"


def dockerfile() -> tuple[str, str]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    build, runtime = text.split(" AS runtime", 1)
    return build, runtime


def image_env(runtime: str, venv: Path) -> dict[str, str]:
    """The runtime stage's ENV, with /opt/venv where the test built it."""
    env = {}
    for line in re.findall(r"^ENV (.+)$", runtime, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", line):
            env[key] = value.replace("$PATH", os.environ["PATH"]).replace("/opt/venv", str(venv))
    return env


def as_user():
    """Run as `nobody` when the tests run as root; as the (non-root) tester otherwise."""
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def interpreter() -> str:
    """A Python 3.11 the non-root user can execute (root's own may sit under /root)."""
    for candidate in (getattr(sys, "_base_executable", sys.executable), "/usr/local/bin/python3.11",
                      "/usr/bin/python3.11"):
        try:
            if subprocess.run([candidate, "-c", "import venv, ensurepip"], capture_output=True,
                              **as_user()).returncode == 0:
                return candidate
        except OSError:  # not there, or not for this user
            continue
    pytest.fail("no Python 3.11 with venv that a non-root user can run (Debian: python3.11-venv)")


@pytest.fixture(scope="module")
def image():
    """(the folder holding the copied code and the venv, the image's environment)."""
    build, runtime = dockerfile()
    top = Path(tempfile.mkdtemp(prefix="cea-image-"))
    top.chmod(0o755)
    app, venv, tmp = top / "app", top / "venv", top / "tmp"
    app.mkdir()
    for source, dest in re.findall(r"^COPY (?!--from)(\S+) (\S+)$", runtime, re.M):
        shutil.copytree(ROOT / source, app / dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    assert (app / "shared").is_dir() and (app / "services").is_dir()
    for d in (venv, tmp, PIP_CACHE):
        d.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(d, NOBODY, NOBODY)
    shutil.copy(ROOT / "requirements.lock", tmp / "requirements.lock")
    install = re.search(r"pip install (--no-deps -r \S+)", build)[1].replace("/tmp/requirements.lock",
                                                                            str(tmp / "requirements.lock"))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), "PIP_CACHE_DIR": str(PIP_CACHE),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_CACHE_DIR"}}
    for command in ([interpreter(), "-m", "venv", str(venv)],
                    # --no-compile: bytecode changes no behaviour and costs half the install
                    [str(venv / "bin" / "pip"), "install", "-q", "--no-compile", *install.split()],
                    [str(venv / "bin" / "pip"), "check"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, **as_user())
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    try:
        # HOME as the image's user has it: nowhere to write (the root filesystem is read-only)
        yield top, {**image_env(runtime, venv), "TMPDIR": str(tmp), "HOME": "/nonexistent"}
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_the_runtime_environment_has_no_test_tools(image):
    top, env = image
    for module in ("pytest", "selenium", "supervisor", "pypdf"):
        done = subprocess.run(["python", "-c", f"import {module}"], env=env, capture_output=True,
                              cwd=top / "app", **as_user())
        assert done.returncode != 0, f"{module} is importable in the runtime environment"


def manifest(kind: str, name: str) -> dict:
    docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / f"{SERVICE}.yaml").read_text())
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.fixture
def postgres_url():
    if not infra.postgres_available():
        if os.environ.get("CEA_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (CEA_REQUIRE_POSTGRES) but not reachable")
        pytest.skip("PostgreSQL not reachable")
    url = infra.create_database("image")
    yield url
    infra.drop_database(url)


@pytest.fixture
def broker_uri(vhost):
    """The manifests' broker credentials are a deployment's own: not guest:guest, which
    the production profile (the image's default) refuses as published."""
    with infra.broker_user(vhost) as uri:
        yield uri


def test_the_image_migrates_then_serves_on_postgresql_as_a_non_root_user(image, broker_uri, postgres_url):
    top, image_environment = image
    app = top / "app"
    keys = top / "keys"
    keys.mkdir()
    keys.chmod(0o755)
    _, public = generate_key_pair()
    (keys / "jwt-public.pem").write_bytes(public)
    signing = make_dev_key(keys / "signing.pem")
    if os.geteuid() == 0:
        os.chown(signing, NOBODY, NOBODY)
    port = free_port()
    env = {**image_environment,
           # the settings the manifests give it (settings.yaml, certificate.yaml)
           "CEA_MIGRATE_ON_START": "false", "CEA_QUEUE_TYPE": "classic", "AMQP_URI": broker_uri,
           f"{SERVICE.upper()}_DATABASE_URL": postgres_url, f"{SERVICE.upper()}_HTTP": f"127.0.0.1:{port}",
           "JWT_PUBLIC_KEY_FILE": str(keys / "jwt-public.pem"), "CEA_ID_HASH_KEY": "image-test-id-hash-key",
           "CERTIFICATE_SIGNING_KEY_FILE": str(signing), "CERTIFICATE_SIGNING_KEY_ID": "image-test-1",
           "CERTIFICATE_PUBLIC_BASE_URL": "https://verify.example.org"}

    def run(command, **kwargs):
        return subprocess.run(command, env=env, cwd=app, capture_output=True, text=True, timeout=120,
                              **as_user(), **kwargs)

    init = manifest("Deployment", SERVICE)["spec"]["template"]["spec"]["initContainers"][0]["command"]
    job = manifest("Job", f"{SERVICE}-migrate")["spec"]["template"]["spec"]["containers"][0]["command"]
    waited = run([*init[:-1], "1"])  # the replica's init container, on a database not migrated yet
    assert waited.returncode == 1 and "not at this release's head" in waited.stderr
    migrated = run(job)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert run(init).returncode == 0

    _, runtime = dockerfile()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.+\])$", runtime, re.M)[1])
    args = manifest("Deployment", SERVICE)["spec"]["template"]["spec"]["containers"][0]["args"]
    log = open(top / "tmp" / "service.log", "w+")
    process = subprocess.Popen([*entrypoint, *args], env=env, cwd=app, stdout=log, stderr=subprocess.STDOUT,
                               **as_user())
    try:
        url = f"http://127.0.0.1:{port}"

        def ready():
            assert process.poll() is None, f"the service exited:\n{(top / 'tmp' / 'service.log').read_text()[-3000:]}"
            try:
                return requests.get(url + "/health/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False
        wait_for(ready, timeout=90, interval=0.2, message="the service never became ready")
        keys_published = requests.get(url + "/certificate/keys", timeout=5).json()
        assert keys_published["keys"][0]["kid"] == "image-test-1"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, (top / "tmp" / "service.log").read_text()[-3000:]
