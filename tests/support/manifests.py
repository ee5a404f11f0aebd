"""The Kubernetes manifests as a cluster would receive them, and their schemas.

`render()` is `kubectl kustomize` of a folder under deploy/k8s. `schema_problems()`
validates one rendered object: core kinds against Kubernetes' own schemas
(kubernetes-validate, strict: an unknown field is an error, as `kubectl --validate=strict`
makes it), custom resources against the operators' CRDs vendored in deploy/k8s/schemas,
made as strict (an unknown field is an error, where the CRD does not keep unknown fields).
"""
from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
KUBERNETES_VERSION = "1.33.0"  # the oldest Kubernetes the manifests are meant for
CLUSTER_SCOPED = {"Namespace"}


def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        if os.environ.get("CEA_REQUIRE_KUBECTL"):
            pytest.fail("kubectl is required (CEA_REQUIRE_KUBECTL) but not installed")
        pytest.skip("kubectl not installed (CI sets CEA_REQUIRE_KUBECTL=1 and fails instead)")
    return found


def targets() -> list[str]:
    """The base and every overlay: what an operator can apply."""
    return ["base"] + sorted(f"overlays/{p.name}" for p in (K8S / "overlays").iterdir() if p.is_dir())


@functools.lru_cache(maxsize=None)
def _render(folder: str) -> str:
    done = subprocess.run([kubectl(), "kustomize", str(folder)], capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"kubectl kustomize {folder} failed:\n{done.stderr}")
    return done.stdout


def render(target: str | Path) -> list[dict]:
    folder = Path(target) if Path(target).is_absolute() else K8S / target
    return [d for d in yaml.safe_load_all(_render(str(folder))) if d]


def _strict(schema: dict) -> dict:
    """The CRD schema with unknown fields refused wherever it lists its fields."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(schema)
    return schema


@functools.lru_cache(maxsize=None)
def crd_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the strict schema of every vendored CRD version."""
    found = {}
    for path in SCHEMAS.rglob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            # metadata is the API server's (ObjectMeta), checked by its own rules, not the CRD's.
            schema["properties"]["metadata"] = {"type": "object"}
            found[(f"{group}/{version['name']}", kind)] = schema
    return found


def schema_problems(doc: dict) -> list[str]:
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    schema = crd_schemas().get((doc.get("apiVersion"), doc.get("kind")))
    if schema is not None:
        validator = jsonschema.Draft7Validator(schema)
        return [f"{name}: {'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
                for e in validator.iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{name}: no schema for {doc.get('apiVersion')} {doc.get('kind')} "
                "(vendor its operator's CRD in deploy/k8s/schemas)"]
    except kubernetes_validate.ValidationError as e:
        return [f"{name}: {'.'.join(map(str, e.path)) or '(top)'}: {e.message[:300]}"]
    return []
