# MinIO built from its Go module through the Go module proxy. Sourced by infra.sh.
#
# The version is pinned. The module proxy serves MinIO only under Go
# pseudo-versions (it answers "not available" for the RELEASE.* tag names), so
# the pin is the pseudo-version of a commit on MinIO's master branch.

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION="${ELANUS_INFRA_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_HOME="$INFRA_CACHE/minio-$MINIO_VERSION"
MINIO_BIN="$MINIO_HOME/bin/minio"
MINIO_ROOT_USER_DEFAULT=elanus-test
MINIO_ROOT_PASSWORD_DEFAULT=elanus-test-secret

minio_installed() {
    [[ -f "$MINIO_HOME/.complete" && -x "$MINIO_BIN" ]]
}

minio_install() {
    if minio_installed; then
        log "minio: already installed ($MINIO_VERSION)"
        return 0
    fi
    command -v go >/dev/null || die "minio: go not found (apt-get install golang-go, or put go on PATH)"
    local staging="$MINIO_HOME.staging" build_cache="$INFRA_CACHE/go"
    rm -rf "$staging"
    mkdir -p "$staging/bin"
    log "minio: building $MINIO_MODULE@$MINIO_VERSION with $(go version | cut -d' ' -f3) (takes minutes)"
    # Module and build caches live in the infra cache too, writable
    # (-modcacherw) so that deleting the cache needs no chmod. Only the module
    # proxy is asked: no direct fetches from source hosts. CGO off: a static
    # binary, no C compiler needed.
    GOBIN="$staging/bin" \
        GOMODCACHE="$build_cache/mod" \
        GOCACHE="$build_cache/build" \
        GOPATH="$build_cache/path" \
        GOPROXY="${ELANUS_INFRA_GOPROXY:-https://proxy.golang.org}" \
        GOFLAGS="-modcacherw -trimpath" \
        CGO_ENABLED=0 \
        go install "$MINIO_MODULE@$MINIO_VERSION" >"$staging/go-install.log" 2>&1 ||
        {
            tail -n 30 "$staging/go-install.log" >&2
            die "minio: go install $MINIO_MODULE@$MINIO_VERSION failed (log: $staging/go-install.log)"
        }
    "$staging/bin/minio" --version >/dev/null || die "minio: the built binary does not run"
    touch "$staging/.complete"
    rm -rf "$MINIO_HOME"
    mv "$staging" "$MINIO_HOME"
    # The module and build caches (gigabytes) only serve a rebuild of the
    # same pin; the binary is what we keep.
    rm -rf "$build_cache"
    log "minio: installed ($MINIO_VERSION)"
}

minio_address() {
    echo "$INFRA_HOST:$MINIO_PORT"
}

minio_ready() {
    "${INFRA_PROBE[@]}" http "http://$(minio_address)/minio/health/ready"
}

minio_start() {
    minio_installed || die "minio: not installed; run: deploy/local/infra.sh install"
    require_free_ports minio "$MINIO_PORT" "$MINIO_CONSOLE_PORT"
    local user="${ELANUS_INFRA_MINIO_USER:-$MINIO_ROOT_USER_DEFAULT}"
    local password="${ELANUS_INFRA_MINIO_PASSWORD:-$MINIO_ROOT_PASSWORD_DEFAULT}"
    ((${#password} >= 8)) || die "minio: ELANUS_INFRA_MINIO_PASSWORD must have at least 8 characters"
    mkdir -p "$INFRA_DIR/minio/data"
    MINIO_ROOT_USER="$user" \
        MINIO_ROOT_PASSWORD="$password" \
        MINIO_BROWSER=off \
        MINIO_UPDATE=off \
        spawn minio "$MINIO_BIN" server "$INFRA_DIR/minio/data" \
        --address "$(minio_address)" \
        --console-address "$INFRA_HOST:$MINIO_CONSOLE_PORT"
    wait_ready minio minio_ready
    printf 'export %s=%q\n' \
        ELANUS_TEST_MINIO "$(minio_address)" \
        ELANUS_TEST_MINIO_ACCESS_KEY "$user" \
        ELANUS_TEST_MINIO_SECRET_KEY "$password" >"$INFRA_DIR/run/minio.env"
}
