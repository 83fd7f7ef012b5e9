#!/bin/sh
# test-k8s.sh: the Kubernetes manifests in template/deploy/k8s, validated
# offline. Debian 12 packages no kubeconform or kubeval, so
# tests/kit/lib/k8s_check.py checks each object against a schema written
# there (required fields, types, no unknown keys) and the deployment rules
# (probes on the admin port, grace period > drain + shutdown, no preStop,
# resources, securityContext, Secret for the database URL, matching
# selectors). kubeconform is used as well when it is installed. A manifest
# with a typo must fail, so the validator is shown to catch one.
#
#   sh tests/kit/test-k8s.sh
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh
. "$kit_test_dir/lib.sh"

manifests="$kit_root/template/deploy/k8s"
checker="$kit_root/tests/kit/lib/k8s_check.py"
if ! python3 -c 'import yaml' 2>/dev/null; then
    fail "python3 with PyYAML installed" "run scripts/setup --all (python3-yaml)"
    kit_finish
fi

if out=$(python3 "$checker" "$manifests" 2>&1); then
    pass "the manifests validate: $(printf '%s\n' "$out" | grep -c '^ok - ') checks"
else
    fail "the manifests validate" "$(printf '%s\n' "$out" | grep -v '^ok - ')"
fi

scratch=$(kit_scratch_dir)
[ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || trap 'rm -rf "$scratch"' EXIT
# mutate NAME SED-EXPRESSION EXPECTED: a broken copy must be refused, naming
# what is wrong.
mutate() {
    rm -rf "$scratch/k8s" && cp -r "$manifests" "$scratch/k8s"
    sed -i "$2" "$scratch/k8s/deployment.yaml"
    if out=$(python3 "$checker" "$scratch/k8s" 2>&1); then
        fail "$1 is caught" "the validator passed it"
    elif printf '%s\n' "$out" | grep -q -- "$3"; then
        pass "$1 is caught: $(printf '%s\n' "$out" | grep -- "$3" | sed -n 1p | sed 's/^ *//')"
    else
        fail "$1 is caught, naming it" "$out"
    fi
}
mutate "a misspelt field (readinesProbe)" 's/readinessProbe:/readinesProbe:/' 'readinesProbe: unknown field'
mutate "a grace period shorter than drain + shutdown" \
    's/terminationGracePeriodSeconds: 45/terminationGracePeriodSeconds: 20/' 'not ok - Deployment: terminationGracePeriodSeconds'
mutate "a writable root filesystem" 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
    'not ok - Deployment: read-only root'

# docker/docker-compose.yml: the service, PostgreSQL and Prometheus scraping
# the admin port; and Prometheus's own check of its configuration.
compose="$kit_root/template/docker/docker-compose.yml"
check "docker-compose.yml: hexsvc on postgres, scraped by prometheus" python3 -c '
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c["services"]
assert set(s) >= {"hexsvc", "postgres", "prometheus"}, s.keys()
env = s["hexsvc"]["environment"]
assert env["HEXSVC_STORE"] == "postgres" and "@postgres:" in env["HEXSVC_DATABASE_URL"], env
assert s["hexsvc"]["depends_on"]["postgres"]["condition"] == "service_healthy"
assert s["hexsvc"]["build"]["dockerfile"] == "docker/Dockerfile"
p = yaml.safe_load(open(sys.argv[2]))
assert ["hexsvc:9090"] in [t["targets"] for j in p["scrape_configs"] for t in j["static_configs"]]
' "$compose" "$kit_root/template/docker/prometheus.yml"
if command -v promtool >/dev/null 2>&1; then
    check "promtool check config docker/prometheus.yml" \
        promtool check config "$kit_root/template/docker/prometheus.yml"
fi

if command -v kubeconform >/dev/null 2>&1; then
    check "kubeconform -strict accepts the manifests" \
        kubeconform -strict -summary -ignore-filename-pattern kustomization "$manifests"
fi

kit_finish
