"""The Kubernetes manifests, rendered as `kubectl apply -k` would send them (base and every
overlay), hold to their schemas and to the project's rules. No cluster runs here: these
are the checks that can be made without one (docs/deployment.md)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from shared.messaging import topology
from shared.ops import local
from tests.support import manifests

SERVICES = list(local.SERVICES)
TARGETS = manifests.targets()
PROVIDED = {(p["kind"], p["name"]): p for p in yaml.safe_load((manifests.K8S / "platform-provided.yaml").read_text())}
NAMESPACE = "cea"


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(doc) -> dict | None:
    if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "RabbitmqCluster":
        return doc["spec"].get("override", {}).get("statefulSet", {}).get("spec", {}).get("template", {}).get("spec")
    return None


def containers(spec) -> list[dict]:
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def selects(selector: dict, labels: dict) -> bool:
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for e in selector.get("matchExpressions", []):
        if e["operator"] == "In":
            ok &= labels.get(e["key"]) in e["values"]
        elif e["operator"] == "Exists":
            ok &= e["key"] in labels
        else:
            raise AssertionError(f"selector operator {e['operator']} not understood by this test")
    return ok


@pytest.fixture(scope="module", params=TARGETS)
def rendered(request):
    return request.param, manifests.render(request.param)


# -- schemas -----------------------------------------------------------------------------

def test_every_rendered_object_is_valid_against_its_schema(rendered):
    target, docs = rendered
    problems = [p for d in docs for p in manifests.schema_problems(d)]
    assert not problems, f"{target}:\n" + "\n".join(problems)


def test_the_schema_check_refuses_unknown_fields_and_kinds():
    """The validation above can fail: a misspelt field of a core kind and of a custom
    resource, and a kind without a vendored schema, are each reported."""
    docs = manifests.render("overlays/production")
    deployment = json.loads(json.dumps(by_kind(docs, "Deployment")["billing"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    scaled = json.loads(json.dumps(by_kind(docs, "ScaledObject")["billing"]))
    scaled["spec"]["minReplicas"] = 1
    assert "readinesProbe" in " ".join(manifests.schema_problems(deployment))
    assert "minReplicas" in " ".join(manifests.schema_problems(scaled))
    assert manifests.schema_problems({"apiVersion": "example.org/v1", "kind": "Gadget",
                                      "metadata": {"name": "x"}})


def test_vendored_crds_are_the_pinned_release_files():
    readme = (manifests.SCHEMAS / "README.md").read_text()
    rows = re.findall(r"^\| (\S+\.yaml) \|.*\| ([0-9a-f]{64}) \|$", readme, re.M)
    listed = {file: digest for file, digest in rows}
    vendored = {str(p.relative_to(manifests.SCHEMAS)) for p in manifests.SCHEMAS.rglob("*.yaml")}
    assert vendored == set(listed)
    for file, digest in listed.items():
        assert hashlib.sha256((manifests.SCHEMAS / file).read_bytes()).hexdigest() == digest, file
    kinds = {kind for (_, kind) in manifests.crd_schemas()}
    assert {"ScaledObject", "TriggerAuthentication", "RabbitmqCluster", "Cluster", "Database"} <= kinds


# -- the project's rules -----------------------------------------------------------------

def test_every_object_is_in_the_namespace(rendered):
    target, docs = rendered
    stray = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
             if d["kind"] not in manifests.CLUSTER_SCOPED and d["metadata"].get("namespace") != NAMESPACE]
    assert not stray, f"{target}: not in namespace {NAMESPACE}: {stray}"


def test_the_namespace_enforces_the_restricted_pod_security_profile(rendered):
    target, docs = rendered
    labels = by_kind(docs, "Namespace")[NAMESPACE]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_service_runs_as_a_deployment_of_the_image_with_its_argument(rendered):
    target, docs = rendered
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES), target
    for name, d in deployments.items():
        main = d["spec"]["template"]["spec"]["containers"][0]
        assert main["args"] == [name]
        assert main["image"] == "registry.example.org/cea/backoffice:0.1.0"


def _restricted_problems(where: str, spec: dict, writable_tmp: bool = True) -> list[str]:
    problems = []
    pod = spec.get("securityContext", {})
    if pod.get("runAsNonRoot") is not True:
        problems.append(f"{where}: pod runAsNonRoot is not true")
    if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for c in containers(spec):
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}/{c['name']}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}/{c['name']}: capabilities do not drop ALL")
        if writable_tmp:
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}/{c['name']}: root filesystem is not read-only")
            if not any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c.get("volumeMounts", [])):
                problems.append(f"{where}/{c['name']}: no writable /tmp (an emptyDir)")
    return problems


def test_every_pod_meets_the_restricted_profile_with_a_read_only_root(rendered):
    target, docs = rendered
    problems = []
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            problems += _restricted_problems(f"{d['kind']}/{d['metadata']['name']}", pod_spec(d))
        elif d["kind"] == "RabbitmqCluster":  # the operator's containers keep their own root
            problems += _restricted_problems(f"RabbitmqCluster/{d['metadata']['name']}", pod_spec(d),
                                             writable_tmp=False)
    assert not problems, f"{target}:\n" + "\n".join(problems)


def test_every_container_has_resources_and_every_service_probes_with_timeouts(rendered):
    target, docs = rendered
    problems = []
    for d in docs:
        if d["kind"] not in ("Deployment", "Job"):
            continue
        for c in containers(pod_spec(d)):
            r = c.get("resources", {})
            if not all(r.get(k, {}).get(x) for k in ("requests", "limits") for x in ("cpu", "memory")):
                problems.append(f"{d['metadata']['name']}/{c['name']}: cpu and memory requests and limits")
        if d["kind"] == "Deployment":
            main = pod_spec(d)["containers"][0]
            for probe, path in (("startupProbe", "/health/live"), ("livenessProbe", "/health/live"),
                                ("readinessProbe", "/health/ready")):
                p = main.get(probe)
                if not p or p["httpGet"]["path"] != path or not p.get("timeoutSeconds"):
                    problems.append(f"{d['metadata']['name']}: {probe} on {path} with a timeoutSeconds")
    assert not problems, f"{target}:\n" + "\n".join(problems)


def test_every_deployment_has_a_disruption_budget_and_network_policies(rendered):
    target, docs = rendered
    budgets = by_kind(docs, "PodDisruptionBudget").values()
    policies = by_kind(docs, "NetworkPolicy").values()
    for name, d in by_kind(docs, "Deployment").items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert any(selects(b["spec"]["selector"], labels) for b in budgets), f"{target}: {name} has no PDB"
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        types = {t for p in mine for t in p["spec"]["policyTypes"]}
        assert types == {"Ingress", "Egress"}, f"{target}: {name} is not isolated both ways"
        # only the gateway and Prometheus reach the HTTP port; nothing else gets in, but for
        # the services fetching identity's published keys
        sources = [peer for p in mine for rule in p["spec"].get("ingress", []) for peer in rule["from"]]
        outside = [peer for peer in sources if "namespaceSelector" in peer]
        inside = [peer for peer in sources if "namespaceSelector" not in peer]
        assert outside and all(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                               in ("ingress-nginx", "monitoring") for peer in outside)
        assert all(peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "service"}}
                   for peer in inside) and bool(inside) == (name == "identity"), f"{target}: {name} {inside}"
        # DNS, the broker, PostgreSQL and identity's keys (8000); identity also SMTP and the SMS API
        egress_ports = {port["port"] for p in mine for rule in p["spec"].get("egress", [])
                        for port in rule.get("ports", [])}
        wanted = {53, 5672, 5432, 8000} | ({587, 465, 443} if name == "identity" else set())
        assert egress_ports == wanted, f"{target}: {name} may reach {egress_ports}"
        to_identity = [peer for p in mine for rule in p["spec"].get("egress", []) for peer in rule["to"]
                       if {"port": 8000, "protocol": "TCP"} in rule.get("ports", [])]
        assert to_identity == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "identity"}}}], name
    for name, job in by_kind(docs, "Job").items():
        labels = job["spec"]["template"]["metadata"]["labels"]
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        egress_ports = {port["port"] for p in mine for rule in p["spec"].get("egress", [])
                        for port in rule.get("ports", [])}
        assert egress_ports == {53, 5432}, f"{target}: {name} may reach {egress_ports}"


def test_a_migration_job_per_service_and_replicas_wait_for_it(rendered):
    target, docs = rendered
    settings = by_kind(docs, "ConfigMap")["cea-settings"]["data"]
    assert settings["CEA_MIGRATE_ON_START"] == "false"
    jobs = by_kind(docs, "Job")
    for name, d in by_kind(docs, "Deployment").items():
        job = jobs[f"{name}-migrate"]["spec"]
        assert job["template"]["spec"]["containers"][0]["command"] == ["python", "-m", "shared.ops", "migrate", name]
        assert job["ttlSecondsAfterFinished"] > 0  # the next release's apply creates it anew
        init = d["spec"]["template"]["spec"]["initContainers"]
        assert [c["command"][:6] for c in init] == [["python", "-m", "shared.ops", "migrate", name, "--wait"]]


def _references(doc) -> list[tuple[str, str, str | None]]:
    """(kind, name, key or None) of every Secret and ConfigMap the object refers to."""
    found = []
    spec = pod_spec(doc)
    if spec:
        for c in containers(spec):
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    found.append(("Secret", e["secretRef"]["name"], None))
                if "configMapRef" in e:
                    found.append(("ConfigMap", e["configMapRef"]["name"], None))
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    found.append(("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]))
                if "configMapKeyRef" in ref:
                    found.append(("ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]))
        for v in spec.get("volumes", []):
            for kind, field, name_field in (("Secret", "secret", "secretName"), ("ConfigMap", "configMap", "name")):
                if field in v:
                    items = v[field].get("items") or [{"key": None}]
                    found += [(kind, v[field][name_field], i["key"]) for i in items]
    if doc["kind"] == "Ingress":
        found += [("Secret", t["secretName"], "tls.crt") for t in doc["spec"].get("tls", [])]
    if doc["kind"] == "Cluster":
        found += [("Secret", r["passwordSecret"]["name"], "password")
                  for r in doc["spec"].get("managed", {}).get("roles", [])]
    if doc["kind"] == "TriggerAuthentication":
        found += [("Secret", r["name"], r["key"]) for r in doc["spec"].get("secretTargetRef", [])]
    if doc["kind"] == "ScaledObject":
        found += [("TriggerAuthentication", t["authenticationRef"]["name"], None)
                  for t in doc["spec"]["triggers"] if "authenticationRef" in t]
    return found


def test_every_referenced_secret_config_map_and_trigger_authentication_exists(rendered):
    target, docs = rendered
    defined = {(d["kind"], d["metadata"]["name"]): set((d.get("data") or {}) | (d.get("stringData") or {}))
               for d in docs}
    missing = []
    for d in docs:
        for kind, name, key in _references(d):
            where = f"{d['kind']}/{d['metadata']['name']} -> {kind}/{name}" + (f"[{key}]" if key else "")
            if (kind, name) in defined:
                if key and key not in defined[(kind, name)]:
                    missing.append(where + " (no such key)")
            elif (kind, name) in PROVIDED:
                if key and key not in PROVIDED[(kind, name)]["keys"]:
                    missing.append(where + " (key not listed in platform-provided.yaml)")
            else:
                missing.append(where + " (neither defined nor listed in platform-provided.yaml)")
    assert not missing, f"{target}:\n" + "\n".join(missing)


def test_environment_references_resolve(rendered):
    """`$(VAR)` in an env value names a variable defined before it (or the settings)."""
    target, docs = rendered
    config_maps = by_kind(docs, "ConfigMap")
    unresolved = []
    for d in docs:
        spec = pod_spec(d)
        for c in containers(spec) if spec else []:
            known = set()
            for e in c.get("envFrom", []):
                if "configMapRef" in e:
                    known |= set(config_maps[e["configMapRef"]["name"]]["data"])
            for e in c.get("env", []):
                for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value", "")):
                    if ref not in known:
                        unresolved.append(f"{d['metadata']['name']}/{c['name']}: {e['name']} uses $({ref})")
                known.add(e["name"])
    assert not unresolved, f"{target}:\n" + "\n".join(unresolved)


def _env(container) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_each_service_gets_only_the_keys_it_needs(rendered):
    """Verification keys for every service; the certificate signing key for certificate
    alone; the ID-hash key for the three that find people by ID number; the QR secrets
    for billing; identity's token signing key and mail and SMS secrets for identity
    alone; no service the development token key; no Secret handed over whole (envFrom)."""
    target, docs = rendered
    needs = {"enrollment": {"id-hash-key"}, "billing": {"qr-provider-secrets"}, "learning": set(),
             "exam": set(), "certificate": {"id-hash-key"},
             "identity": {"id-hash-key", "identity-smtp-password", "identity-sms-http-token"}}
    for name, d in by_kind(docs, "Deployment").items():
        spec = pod_spec(d)
        refs = _references(d)
        assert not any(kind == "Secret" and key is None for kind, _, key in refs), f"{name}: a whole Secret"
        assert {key for kind, n, key in refs if n == "cea-secrets"} == needs[name], name
        signing = [n for kind, n, key in refs if n == "cea-certificate-signing"]
        assert bool(signing) == (name == "certificate"), f"{name}: signing key"
        issuing = [n for kind, n, key in refs if n == "cea-identity-signing"]
        assert bool(issuing) == (name == "identity"), f"{name}: token signing key"
        assert ("ConfigMap", "cea-jwt-public-keys", None) in refs, f"{name}: verification keys"
        assert f"cea-db-{name}" in {n for _, n, _ in refs}
        assert not {n for _, n, _ in refs if n.startswith("cea-db-")} - {f"cea-db-{name}"}, \
            f"{name} reads another service's database credentials"
        text = json.dumps(spec)
        assert "jwt-private" not in text and "JWT_PRIVATE" not in text
    for name, job in by_kind(docs, "Job").items():
        refs = {n for _, n, _ in _references(job)}
        assert refs <= {"cea-settings", f"cea-db-{name.removesuffix('-migrate')}"}, f"{name}: {refs}"


def test_services_compose_their_broker_and_database_urls_from_their_own_secrets(rendered):
    target, docs = rendered
    for name, d in by_kind(docs, "Deployment").items():
        env = _env(pod_spec(d)["containers"][0])
        assert env["AMQP_URI"]["value"] == "amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@$(AMQP_ADDRESS)"
        url = env[f"{name.upper()}_DATABASE_URL"]["value"]
        assert url.startswith("postgresql://$(DATABASE_USERNAME):$(DATABASE_PASSWORD)@$(POSTGRES_ADDRESS)/")
        assert f"/cea_{name}$(POSTGRES_OPTIONS)" in url
    assert by_kind(docs, "ConfigMap")["cea-settings"]["data"]["CEA_QUEUE_TYPE"] == "quorum"


def test_the_ingress_routes_every_service_and_the_verification_host_with_tls(rendered):
    target, docs = rendered
    ingresses = by_kind(docs, "Ingress")
    services = by_kind(docs, "Service")
    routed = {}
    for name, ing in ingresses.items():
        spec = ing["spec"]
        assert spec.get("ingressClassName") == "nginx", name
        tls_hosts = {h for t in spec.get("tls", []) for h in t["hosts"]}
        for rule in spec["rules"]:
            assert rule["host"] in tls_hosts, f"{name}: {rule['host']} without TLS"
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                assert backend["port"]["name"] in {x["name"] for x in services[backend["name"]]["spec"]["ports"]}
                routed[(rule["host"], p["path"])] = backend["name"]
    for service in SERVICES:
        assert routed[("api.cea.example.org", f"/{service}")] == service
    # The link printed on every certificate reaches the verification page.
    base = by_kind(docs, "ConfigMap")["cea-settings"]["data"]["CERTIFICATE_PUBLIC_BASE_URL"]
    from services.certificate.actions import verify_url
    from urllib.parse import urlparse

    class _Cert:  # just what verify_url reads
        number, holder_name = "CEA-L4-2026-000001", "张三"
    link = urlparse(verify_url(base, _Cert()))
    assert link.scheme == "https"
    assert any(host == link.hostname and link.path.startswith(path) and svc == "certificate"
               for (host, path), svc in routed.items()), f"{target}: {link.geturl()} is not routed"
    # So does the status list every credential names (docs/certificate-credentials.md).
    from services.certificate.credentials import status_list_url
    listed = urlparse(status_list_url(base))
    assert any(host == listed.hostname and listed.path.startswith(path) and svc == "certificate"
               for (host, path), svc in routed.items()), f"{target}: {listed.geturl()} is not routed"


def test_the_gateway_sets_cors_and_a_body_limit_on_every_route(rendered):
    target, docs = rendered
    ingresses = by_kind(docs, "Ingress")
    cors = {n: {k: v for k, v in i["metadata"]["annotations"].items() if "cors" in k}
            for n, i in ingresses.items() if n != "cea-verify"}
    assert all(c == cors["cea-api"] for c in cors.values()), "the API routes disagree on CORS"
    assert cors["cea-api"]["nginx.ingress.kubernetes.io/enable-cors"] == "true"
    assert "Idempotency-Key" in cors["cea-api"]["nginx.ingress.kubernetes.io/cors-allow-headers"]
    for name, ing in ingresses.items():
        assert ing["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/proxy-body-size"), name
    uploads = ingresses["cea-uploads"]["metadata"]["annotations"]
    assert uploads["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"


def test_every_service_scales_on_its_own_queue_through_a_defined_authentication():
    docs = manifests.render("overlays/production")
    scaled = by_kind(docs, "ScaledObject")
    assert set(scaled) == set(SERVICES)
    deployments = by_kind(docs, "Deployment")
    auth = by_kind(docs, "TriggerAuthentication")
    for name, s in scaled.items():
        assert s["spec"]["scaleTargetRef"]["name"] in deployments
        trigger = s["spec"]["triggers"][0]
        assert trigger["metadata"]["queueName"] == topology.service_queue(name)
        assert trigger["authenticationRef"]["name"] in auth
        # The host is the AMQP_URI the scaled service itself uses.
        for ref in auth[trigger["authenticationRef"]["name"]]["spec"]["env"]:
            assert ref["name"] in _env(pod_spec(deployments[name])["containers"][0])


# -- the broker and the databases the production overlay runs ----------------------------

def _rendered_definitions(tmp_path: Path) -> dict:
    folder = manifests.K8S / "components" / "broker"
    out = tmp_path / "definitions.json"
    env = {**os.environ, "ADMIN_USERNAME": "default_user_abc", "ADMIN_PASSWORD": "a-B_c.1~",
           "CEA_USERNAME": "cea", "CEA_PASSWORD": "0123abcd"}
    subprocess.run(["sh", str(folder / "render-definitions.sh"), str(folder / "definitions.template.json"),
                    str(out)], env=env, check=True, capture_output=True)
    return json.loads(out.read_text())


def test_the_broker_runs_three_nodes_with_the_delivery_policies_of_every_service(tmp_path):
    docs = manifests.render("overlays/production")
    cluster = by_kind(docs, "RabbitmqCluster")["cea-rabbitmq"]
    assert cluster["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    assert "load_definitions = /etc/rabbitmq/definitions/definitions.json" in \
        cluster["spec"]["rabbitmq"]["additionalConfig"]
    settings = by_kind(docs, "ConfigMap")["cea-settings"]["data"]
    definitions = _rendered_definitions(tmp_path)
    vhost = settings["AMQP_ADDRESS"].rsplit("/", 1)[1]
    assert settings["AMQP_ADDRESS"].split(".")[0] == cluster["metadata"]["name"]
    assert {v["name"] for v in definitions["vhosts"]} >= {vhost}
    assert {"user": "cea", "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"} \
        in definitions["permissions"]
    assert next(u for u in definitions["users"] if u["name"] == "cea")["tags"] == []
    policies = {p["pattern"]: p for p in definitions["policies"]}
    for service in SERVICES:
        policy = policies[f"^{re.escape(topology.service_queue(service))}$"]
        assert policy["vhost"] == vhost
        assert policy["definition"]["dead-letter-exchange"] == ""
        assert policy["definition"]["dead-letter-routing-key"] == topology.dead_letter_queue(service)
        assert policy["definition"]["delivery-limit"] > 0
        assert policy["definition"]["dead-letter-strategy"] == "at-least-once"


def test_rendering_the_broker_definitions_refuses_credentials_unfit_for_a_url(tmp_path):
    folder = manifests.K8S / "components" / "broker"
    env = {**os.environ, "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "x", "CEA_USERNAME": "cea",
           "CEA_PASSWORD": 'p@ss"word'}
    done = subprocess.run(["sh", str(folder / "render-definitions.sh"), str(folder / "definitions.template.json"),
                           str(tmp_path / "d.json")], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "CEA_PASSWORD" in done.stderr
    assert not (tmp_path / "d.json").exists()


def test_postgres_has_a_role_and_a_database_per_service_with_the_services_credentials():
    docs = manifests.render("overlays/production")
    cluster = by_kind(docs, "Cluster")["cea-postgres"]
    assert cluster["spec"]["instances"] >= 3
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in by_kind(docs, "Database").values()}
    settings = by_kind(docs, "ConfigMap")["cea-settings"]["data"]
    assert settings["POSTGRES_ADDRESS"].startswith(f"{cluster['metadata']['name']}-rw.")
    for name, d in by_kind(docs, "Deployment").items():
        env = _env(pod_spec(d)["containers"][0])
        secret = env["DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
        assert roles[name]["passwordSecret"]["name"] == secret
        assert roles[name]["login"] is True
        assert databases[f"cea_{name}"]["owner"] == name
        assert databases[f"cea_{name}"]["cluster"]["name"] == cluster["metadata"]["name"]


def test_the_platform_overlay_leaves_the_broker_and_databases_to_the_platform():
    docs = manifests.render("overlays/platform")
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"RabbitmqCluster", "Cluster", "Database"}
    settings = by_kind(docs, "ConfigMap")["cea-settings"]["data"]
    assert "cea-rabbitmq" not in settings["AMQP_ADDRESS"] and "cea-postgres" not in settings["POSTGRES_ADDRESS"]
    text = json.dumps(by_kind(docs, "NetworkPolicy"))
    assert "cea-rabbitmq" not in text and "cnpg.io" not in text


def test_docs_list_every_platform_provided_secret_key_by_key():
    doc = (manifests.ROOT / "docs" / "deployment.md").read_text()
    for (kind, name), entry in PROVIDED.items():
        assert f"`{name}`" in doc, name
        for key in entry["keys"]:
            assert f"`{key}`" in doc, f"{name}: {key}"


def test_the_services_verify_identity_s_tokens_by_its_published_keys(rendered):
    target, docs = rendered
    url = urlsplit(by_kind(docs, "ConfigMap")["cea-settings"]["data"]["JWKS_URL"])
    service = by_kind(docs, "Service")[url.hostname.split(".")[0]]
    assert url.hostname == f"identity.{NAMESPACE}.svc" and url.path == "/identity/jwks.json"
    assert (url.port or 80) in {p["port"] for p in service["spec"]["ports"]}
    identity = _env(pod_spec(by_kind(docs, "Deployment")["identity"])["containers"][0])
    assert identity["JWKS_URL"]["value"] == ""  # its own key ring verifies its tokens
    assert identity["IDENTITY_TOKEN_SIGNING_KEY_FILES"]["value"] == "/signing/token-signing.pem"
