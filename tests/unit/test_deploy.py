"""The image's recipe and the locks it installs (tests/integration/test_image_recipe.py
replays the recipe; no container engine runs here)."""
import re
import tomllib
from pathlib import Path

from shared.ops import local

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"pytest", "pytest-timeout", "selenium", "pypdf", "zxing-cpp", "supervisor", "kubernetes-validate",
            "jsonschema"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, _, version = line.strip().partition("==")
            assert version, f"{name}: {line} is not pinned"
            pins[norm(package)] = version
    return pins


def requirement(spec: str) -> tuple[str, str]:
    package, _, version = spec.partition("==")
    return norm(package), version


def dockerfile() -> str:
    return (ROOT / "deploy" / "Dockerfile").read_text()


def runtime_stage() -> str:
    return dockerfile().split(" AS runtime", 1)[1]


def test_the_runtime_lock_holds_no_test_or_development_tool():
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    assert not set(runtime) & DEV_ONLY
    assert DEV_ONLY <= set(dev)
    assert not set(runtime) & set(dev), "a package pinned in both locks"


def test_pyproject_and_the_locks_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    for spec in project["dependencies"]:
        package, version = requirement(spec)
        assert runtime.get(package) == version, spec
    for extra in project["optional-dependencies"].values():
        for spec in extra:
            package, version = requirement(spec)
            assert dev.get(package) == version, spec


def test_setuptools_below_82_is_in_the_runtime_lock():
    """nameko's CLI (and shared/runner.py through it) imports pkg_resources, gone in 82."""
    major = int(lock("requirements.lock")["setuptools"].split(".")[0])
    assert major < 82


def test_the_image_is_built_in_two_stages_from_the_runtime_lock_alone():
    text = dockerfile()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert "requirements-dev.lock" not in text
    assert "pip install --no-deps -r /tmp/requirements.lock" in text and "pip check" in text
    runtime = runtime_stage()
    assert "COPY --from=build /opt/venv /opt/venv" in runtime
    copied = re.findall(r"^COPY (?!--from)(\S+) ", runtime, re.M)
    assert copied == ["shared", "services"]  # no deploy/dev.env, no tests
    assert "pip install" not in runtime


def test_the_image_is_a_current_python_311_and_runs_as_a_non_root_user():
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)\.(\d+)-slim", dockerfile(), re.M)
    assert base and (int(base[1]), int(base[2])) == (3, 11) and int(base[3]) >= 15
    user = re.findall(r"^USER (\S+)", runtime_stage(), re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")


def test_the_image_entrypoint_serves_each_service():
    assert 'ENTRYPOINT ["python", "-m", "shared.ops", "serve"]' in dockerfile()
    for name, (cls, _) in local.SERVICES.items():
        module = __import__(f"services.{name}.service", fromlist=[cls])
        assert getattr(module, cls).name == name


def test_the_image_has_the_fonts_the_pdfs_are_set_in():
    assert "fonts-dejavu-core" in runtime_stage() and "fonts-droid-fallback" in runtime_stage()
