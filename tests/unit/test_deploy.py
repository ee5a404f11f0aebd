"""The deployment files describe the system the code is (no Docker engine here to run them)."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.ops import local

ROOT = Path(__file__).resolve().parents[2]
SERVICES = list(local.SERVICES)


def test_compose_runs_every_service_on_its_own_database():
    compose = yaml.safe_load((ROOT / "deploy/compose/compose.yaml").read_text())
    for name in SERVICES:
        service = compose["services"][name]
        assert service["command"] == [name]
        assert service["environment"][f"{name.upper()}_DATABASE_URL"].endswith(f"/cea_{name}")
    init = (ROOT / "deploy/compose/postgres-init.sql").read_text()
    assert all(f"CREATE DATABASE cea_{name};" in init for name in SERVICES)
    assert "management" in compose["services"]["rabbitmq"]["image"]


def _manifests():
    if shutil.which("kubectl"):
        built = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy/k8s/overlays/production")],
                               capture_output=True, text=True, check=True).stdout
        return list(yaml.safe_load_all(built))
    docs = []
    for path in (ROOT / "deploy/k8s/base").glob("*.yaml"):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d and "kind" in d]
    return docs


def test_kubernetes_deployments_have_probes_resources_and_their_database():
    deployments = {d["metadata"]["name"]: d for d in _manifests() if d["kind"] == "Deployment"}
    assert set(deployments) == set(SERVICES)
    for name, d in deployments.items():
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == [name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        env = {e["name"] for e in container["env"]}
        assert f"{name.upper()}_DATABASE_URL" in env


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl kustomize not installed")
def test_every_service_scales_on_its_own_queue():
    scaled = {d["metadata"]["name"]: d for d in _manifests() if d["kind"] == "ScaledObject"}
    assert set(scaled) == set(SERVICES)
    for name, s in scaled.items():
        assert s["spec"]["triggers"][0]["metadata"]["queueName"] == f"{name}.events"


def test_the_image_entrypoint_serves_each_service():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert 'ENTRYPOINT ["python", "-m", "shared.ops", "serve"]' in dockerfile
    for name, (cls, _) in local.SERVICES.items():
        module = __import__(f"services.{name}.service", fromlist=[cls])
        assert getattr(module, cls).name == name


def test_the_image_has_the_fonts_the_pdfs_are_set_in():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "fonts-dejavu-core" in dockerfile and "fonts-droid-fallback" in dockerfile
