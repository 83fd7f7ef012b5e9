#!/usr/bin/env python3
"""k8s_check.py: offline validation of the Kubernetes manifests in
template/deploy/k8s, for tests/kit/test-k8s.sh.

Debian 12 packages no Kubernetes schema validator (no kubeconform, no
kubeval), so this checks each object against a schema written here: the
fields Kubernetes requires, their types, and no unknown keys in the parts
hexkit writes (a typo such as `readinesProbe` is silently ignored by an API
server without strict field validation, so it must fail here). Then the
rules of docs/release.md: probes on the admin port, a grace period longer
than drain + shutdown, a SIGTERM drain without preStop, resources, the
securityContext, the database URL from a Secret, and selectors that match.

    python3 k8s_check.py DIR     prints "ok - ..." / "not ok - ..." lines;
                                 exit 1 when any check failed
"""
import re
import sys
from pathlib import Path

import yaml

# A schema is a dict of key -> (type, required, sub-schema or None); a type
# of "list" takes the sub-schema for its items. "any" skips the subtree.
S, I, B, D, L, A = str, int, bool, "dict", "list", "any"


def f(kind, required=False, sub=None):
    return (kind, required, sub)


META = {"name": f(S, True), "namespace": f(S), "labels": f(A), "annotations": f(A)}
SELECTOR = {"matchLabels": f(A), "matchExpressions": f(A)}
SECCOMP = {"type": f(S, True), "localhostProfile": f(S)}
CONTAINER_SC = {
    "allowPrivilegeEscalation": f(B), "readOnlyRootFilesystem": f(B), "runAsNonRoot": f(B),
    "runAsUser": f(I), "runAsGroup": f(I), "privileged": f(B),
    "capabilities": f(D, False, {"drop": f(L, False, S), "add": f(L, False, S)}),
    "seccompProfile": f(D, False, SECCOMP),
}
POD_SC = {
    "runAsNonRoot": f(B), "runAsUser": f(I), "runAsGroup": f(I), "fsGroup": f(I),
    "seccompProfile": f(D, False, SECCOMP), "supplementalGroups": f(L, False, I),
}
HTTP_GET = {"path": f(S), "port": f((S, I), True), "scheme": f(S), "httpHeaders": f(A)}
PROBE = {
    "httpGet": f(D, False, HTTP_GET), "tcpSocket": f(A), "exec": f(A), "grpc": f(A),
    "initialDelaySeconds": f(I), "periodSeconds": f(I), "timeoutSeconds": f(I),
    "successThreshold": f(I), "failureThreshold": f(I), "terminationGracePeriodSeconds": f(I),
}
ENV_FROM = {
    "secretKeyRef": f(D, False, {"name": f(S, True), "key": f(S, True), "optional": f(B)}),
    "configMapKeyRef": f(D, False, {"name": f(S, True), "key": f(S, True), "optional": f(B)}),
    "fieldRef": f(A), "resourceFieldRef": f(A),
}
ENV = {"name": f(S, True), "value": f(S), "valueFrom": f(D, False, ENV_FROM)}
QUANTITY = {"cpu": f((S, I)), "memory": f(S), "ephemeral-storage": f(S)}
CONTAINER = {
    "name": f(S, True), "image": f(S, True), "imagePullPolicy": f(S), "command": f(L, False, S),
    "args": f(L, False, S),
    "ports": f(L, False, {"name": f(S), "containerPort": f(I, True), "protocol": f(S)}),
    "env": f(L, False, ENV), "envFrom": f(A),
    "resources": f(D, False, {"requests": f(D, False, QUANTITY), "limits": f(D, False, QUANTITY)}),
    "startupProbe": f(D, False, PROBE), "readinessProbe": f(D, False, PROBE),
    "livenessProbe": f(D, False, PROBE), "lifecycle": f(A),
    "securityContext": f(D, False, CONTAINER_SC),
    "volumeMounts": f(L, False, {"name": f(S, True), "mountPath": f(S, True), "readOnly": f(B),
                                 "subPath": f(S)}),
}
POD_SPEC = {
    "containers": f(L, True, CONTAINER), "initContainers": f(L, False, CONTAINER),
    "terminationGracePeriodSeconds": f(I), "automountServiceAccountToken": f(B),
    "serviceAccountName": f(S), "securityContext": f(D, False, POD_SC),
    "volumes": f(L, False, {"name": f(S, True), "emptyDir": f(A), "secret": f(A),
                            "configMap": f(A), "persistentVolumeClaim": f(A)}),
    "affinity": f(A), "topologySpreadConstraints": f(A), "nodeSelector": f(A), "tolerations": f(A),
}
SCHEMAS = {
    ("apps/v1", "Deployment"): {
        "metadata": f(D, True, META),
        "spec": f(D, True, {
            "replicas": f(I), "revisionHistoryLimit": f(I), "selector": f(D, True, SELECTOR),
            "strategy": f(D, False, {"type": f(S), "rollingUpdate": f(D, False, {
                "maxUnavailable": f((S, I)), "maxSurge": f((S, I))})}),
            "template": f(D, True, {"metadata": f(D, False, {"labels": f(A), "annotations": f(A)}),
                                    "spec": f(D, True, POD_SPEC)}),
        }),
    },
    ("v1", "Service"): {
        "metadata": f(D, True, META),
        "spec": f(D, True, {
            "type": f(S), "selector": f(A),
            "ports": f(L, True, {"name": f(S), "port": f(I, True), "targetPort": f((S, I)),
                                 "protocol": f(S), "nodePort": f(I)}),
        }),
    },
    ("policy/v1", "PodDisruptionBudget"): {
        "metadata": f(D, True, META),
        "spec": f(D, True, {"minAvailable": f((S, I)), "maxUnavailable": f((S, I)),
                            "selector": f(D, True, SELECTOR)}),
    },
    ("autoscaling/v2", "HorizontalPodAutoscaler"): {
        "metadata": f(D, True, META),
        "spec": f(D, True, {
            "scaleTargetRef": f(D, True, {"apiVersion": f(S), "kind": f(S, True), "name": f(S, True)}),
            "minReplicas": f(I), "maxReplicas": f(I, True), "metrics": f(L, False, A),
            "behavior": f(A),
        }),
    },
    ("v1", "Secret"): {
        "metadata": f(D, True, META), "type": f(S), "stringData": f(A), "data": f(A),
    },
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): {"resources": f(L, True, S)},
}

failures = 0


def report(ok, what, why=""):
    global failures
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failures += 1
        if why:
            print("    " + why)


def type_ok(value, kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if k == A or (k == D and isinstance(value, dict)) or (k == L and isinstance(value, list)):
            return True
        if k in (S, I, B) and isinstance(value, k) and not (k is I and isinstance(value, bool)):
            return True
    return False


def validate(obj, schema, path, errors):
    """Appends to errors every unknown key, missing required key, wrong type."""
    if not isinstance(obj, dict):
        errors.append(f"{path}: expected a mapping")
        return
    for key in obj:
        if key not in schema:
            errors.append(f"{path}.{key}: unknown field")
    for key, (kind, required, sub) in schema.items():
        if key not in obj:
            if required:
                errors.append(f"{path}.{key}: required field missing")
            continue
        value = obj[key]
        if not type_ok(value, kind):
            errors.append(f"{path}.{key}: expected {kind}, got {type(value).__name__}")
            continue
        if kind == D and sub:
            validate(value, sub, f"{path}.{key}", errors)
        elif kind == L and sub and sub != A:
            for i, item in enumerate(value):
                if isinstance(sub, dict):
                    validate(item, sub, f"{path}.{key}[{i}]", errors)
                elif not type_ok(item, sub):
                    errors.append(f"{path}.{key}[{i}]: expected {sub}")


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)", text or "")
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    return {"ms": n / 1000, "s": n, "m": n * 60}[unit]


def quantity(text, unit):
    text = str(text)
    if unit == "cpu":
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    scale = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in scale.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def check_deployment(dep, objects):
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e for e in c.get("env", [])}
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    admin_port = ports.get("admin")
    report(admin_port == 9090, "Deployment: an admin port 9090 is declared", f"ports: {ports}")

    def probe_ok(name, path):
        get = (c.get(name) or {}).get("httpGet") or {}
        return get.get("path") == path and get.get("port") in ("admin", admin_port)

    report(probe_ok("readinessProbe", "/readyz"), "Deployment: readiness probe is /readyz on the admin port")
    report(probe_ok("livenessProbe", "/healthz"), "Deployment: liveness probe is /healthz on the admin port")

    drain = duration_seconds(env.get("HEXSVC_DRAIN_DELAY", {}).get("value"))
    stop = duration_seconds(env.get("HEXSVC_SHUTDOWN_TIMEOUT", {}).get("value"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    report(drain is not None and stop is not None and grace > drain + stop,
           f"Deployment: terminationGracePeriodSeconds {grace} > drain {drain} s + shutdown {stop} s")
    report("preStop" not in (c.get("lifecycle") or {}),
           "Deployment: no preStop hook (readiness flips on SIGTERM)")

    res = c.get("resources", {})
    req, lim = res.get("requests", {}), res.get("limits", {})
    ok = all(k in req and k in lim for k in ("cpu", "memory")) and all(
        quantity(req[k], k) <= quantity(lim[k], k) for k in ("cpu", "memory"))
    report(ok, "Deployment: cpu and memory requests and limits, requests <= limits", f"{res}")

    psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
    report(psc.get("runAsNonRoot") is True and (psc.get("runAsUser") or 0) > 0,
           "Deployment: pod runs as a non-root user")
    report(csc.get("readOnlyRootFilesystem") is True, "Deployment: read-only root filesystem")
    report(csc.get("allowPrivilegeEscalation") is False, "Deployment: no privilege escalation")
    report(csc.get("capabilities", {}).get("drop") == ["ALL"] and not csc.get("capabilities", {}).get("add"),
           "Deployment: every capability dropped")
    report((csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
           "Deployment: seccomp RuntimeDefault")

    db = env.get("HEXSVC_DATABASE_URL", {})
    ref = (db.get("valueFrom") or {}).get("secretKeyRef")
    report(ref is not None and "value" not in db,
           "Deployment: the PostgreSQL URL comes from a Secret", f"{db}")
    secrets = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "Secret"}
    if ref:
        s = secrets.get(ref["name"])
        report(s is not None and ref["key"] in (s.get("stringData") or s.get("data") or {}),
               f"Deployment: Secret {ref['name']}/{ref['key']} is defined (secret.example.yaml)")

    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    data_dir = env.get("HEXSVC_DATA_DIR", {}).get("value")
    report(data_dir in mounts, f"Deployment: the data dir {data_dir} is a volume (root is read-only)")

    labels = dep["spec"]["template"]["metadata"]["labels"]
    match = dep["spec"]["selector"]["matchLabels"]
    report(all(labels.get(k) == v for k, v in match.items()), "Deployment: selector matches the pod labels")
    for o in objects:
        kind = o.get("kind")
        if kind in ("Service",):
            sel = o["spec"].get("selector", {})
            report(sel and all(labels.get(k) == v for k, v in sel.items()),
                   "Service: selector matches the pods")
            for p in o["spec"]["ports"]:
                report(p.get("targetPort") in ports or p.get("targetPort") in ports.values(),
                       f"Service: targetPort {p.get('targetPort')} is a container port")
        if kind == "PodDisruptionBudget":
            sel = o["spec"]["selector"].get("matchLabels", {})
            report(sel and all(labels.get(k) == v for k, v in sel.items()),
                   "PodDisruptionBudget: selector matches the pods")
        if kind == "HorizontalPodAutoscaler":
            ref = o["spec"]["scaleTargetRef"]
            report(ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"]
                   and o["spec"]["maxReplicas"] >= o["spec"].get("minReplicas", 1),
                   "HorizontalPodAutoscaler: scales this Deployment, max >= min")


def main():
    directory = Path(sys.argv[1])
    objects = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            report(False, f"{path.name}: valid YAML", str(e))
            continue
        for doc in docs:
            key = (doc.get("apiVersion"), doc.get("kind"))
            schema = SCHEMAS.get(key)
            if schema is None:
                report(False, f"{path.name}: known apiVersion/kind", f"{key} has no schema here")
                continue
            body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
            errors = []
            validate(body, schema, key[1], errors)
            name = (doc.get("metadata") or {}).get("name", "")
            report(not errors, f"{path.name}: {key[1]} {name} matches its schema", "; ".join(errors))
            objects.append(doc)
    kustomization = [o for o in objects if o.get("kind") == "Kustomization"]
    for k in kustomization:
        missing = [r for r in k["resources"] if not (directory / r).is_file()]
        report(not missing, "kustomization.yaml: every resource exists", f"missing: {missing}")
    deployments = [o for o in objects if o.get("kind") == "Deployment"]
    report(len(deployments) == 1, "exactly one Deployment")
    for dep in deployments:
        check_deployment(dep, objects)
    kinds = {o.get("kind") for o in objects}
    for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        report(kind in kinds, f"a {kind} is defined")
    print(f"k8s_check: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
