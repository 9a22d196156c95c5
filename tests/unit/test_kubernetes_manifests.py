"""deploy/kubernetes/ against the Kubernetes API's schemas (``kubernetes-validate``, its schemas bundled:
no cluster, no network), strictly (a field the API does not have is an error), and held together: the
Ingress hashes on the variable the controller snippet defines, whose maps are deploy/nginx's; the
StatefulSet keeps ``--state`` on its claim, probes the health route, and is selected by its Services."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.support.constants import ROOT

validator = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[test]' installs it")

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
#: The Kubernetes releases the manifests are held to: the oldest still supported upstream and the newest
#: the validator knows.
VERSIONS = ("1.31.0", validator.latest_version())


def _documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _documents() if doc["kind"] == kind]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_api_schema(version: str) -> None:
    documents = _documents()
    assert {d["kind"] for d in documents} == {"StatefulSet", "Service", "Ingress", "ConfigMap"}
    for document in documents:
        validator.validate(document, version, strict=True)


def test_the_validator_refuses_a_wrong_field() -> None:
    """The check above can fail: a misspelt field and a wrong type are errors."""
    [statefulset] = _kind("StatefulSet")
    for broken in ({**statefulset, "spec": {**statefulset["spec"], "replica": 3}},
                   {**statefulset, "spec": {**statefulset["spec"], "replicas": "3"}}):  # fmt: skip
        with pytest.raises(validator.ValidationError):
            validator.validate(broken, VERSIONS[-1], strict=True)


def test_the_statefulset_keeps_state_on_a_claim_per_replica_and_probes_health() -> None:
    [statefulset] = _kind("StatefulSet")
    spec = statefulset["spec"]
    [container] = spec["template"]["spec"]["containers"]
    args = container["args"]
    state = args[args.index("--state") + 1]
    [claim] = spec["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert spec["replicas"] == 3
    assert state.startswith(mounts[claim["metadata"]["name"]] + "/"), (state, mounts)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and "/tmp" in mounts.values()
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/__admin/health"
    services = {s["metadata"]["name"]: s["spec"] for s in _kind("Service")}
    assert services[spec["serviceName"]]["clusterIP"] == "None"
    labels = spec["template"]["metadata"]["labels"]
    for name, service in services.items():
        assert service["selector"].items() <= labels.items(), f"the Service {name} selects no replica"


def test_the_ingress_hashes_on_the_session_the_snippet_reads_as_deploy_nginx_does() -> None:
    [ingress] = _kind("Ingress")
    [configmap] = _kind("ConfigMap")
    annotations = ingress["metadata"]["annotations"]
    hashed = annotations["nginx.ingress.kubernetes.io/upstream-hash-by"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"] == "off"
    snippet = configmap["data"]["http-snippet"]
    assert re.search(rf"^map \S+ {re.escape(hashed)} \{{", snippet, re.MULTILINE), (
        f"upstream-hash-by is {hashed}, which no map of the controller snippet defines"
    )
    conf = (DEPLOY / "nginx" / "aem-guides-mock.conf").read_text()
    maps = "".join(re.findall(r"^map .*?^}\n", conf, re.MULTILINE | re.DOTALL))
    assert snippet == maps, "the snippet's maps differ from deploy/nginx/aem-guides-mock.conf's: copy them"
    assert re.search(rf"^\s*hash {re.escape(hashed)} consistent;", conf, re.MULTILINE)
    [service] = [s for s in _kind("Service") if s["metadata"]["name"] == "aem-guides-mock"]
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"]["name"] == service["metadata"]["name"]
