# etcd from Debian's etcd-server (and etcd-client, for etcdctl) packages.
# Sourced by infra.sh.
#
# The packages are downloaded with apt and unpacked into the cache instead of
# installed: nothing lands in /usr, no init script or systemd unit is
# registered, so no system etcd ever runs on the default ports, and the cache
# can be deleted like any other.

ETCD_PACKAGES=(etcd-server etcd-client)
ETCD_HOME="$INFRA_CACHE/etcd"
ETCD_BIN="$ETCD_HOME/root/usr/bin/etcd"
ETCDCTL_BIN="$ETCD_HOME/root/usr/bin/etcdctl"

etcd_installed() {
    [[ -f "$ETCD_HOME/.complete" && -x "$ETCD_BIN" ]]
}

# apt_download DIR PACKAGE...: fetches the .deb files into DIR, refreshing
# apt's package lists once if they do not know the packages yet.
apt_download() {
    local dir="$1"
    shift
    command -v apt-get >/dev/null || die "etcd: apt-get not found (this script expects Debian)"
    # As root, apt would switch to the _apt user, who may not enter the cache
    # (under /root); downloading as root is what it falls back to anyway.
    local sandbox=()
    if [[ "$(id -u)" == 0 ]]; then
        sandbox=(-o APT::Sandbox::User=root)
    fi
    if (cd "$dir" && apt-get download -q "${sandbox[@]}" "$@" >&2); then
        return 0
    fi
    if [[ "$(id -u)" != 0 ]]; then
        die "etcd: apt-get download $* failed; run 'apt-get update' as root and retry"
    fi
    log "etcd: refreshing apt's package lists"
    apt-get update -q >&2 || die "etcd: apt-get update failed"
    (cd "$dir" && apt-get download -q "${sandbox[@]}" "$@" >&2) || die "etcd: apt-get download $* failed"
}

etcd_install() {
    if etcd_installed; then
        log "etcd: already installed ($("$ETCD_BIN" --version | head -n 1))"
        return 0
    fi
    local staging="$ETCD_HOME.staging" deb
    rm -rf "$staging"
    mkdir -p "$staging/debs" "$staging/root"
    apt_download "$staging/debs" "${ETCD_PACKAGES[@]}"
    for deb in "$staging"/debs/*.deb; do
        dpkg-deb -x "$deb" "$staging/root"
    done
    rm -rf "$staging/debs"
    "$staging/root/usr/bin/etcd" --version >/dev/null || die "etcd: the unpacked binary does not run"
    touch "$staging/.complete"
    rm -rf "$ETCD_HOME"
    mv "$staging" "$ETCD_HOME"
    log "etcd: installed ($("$ETCD_BIN" --version | head -n 1))"
}

etcd_client_address() {
    echo "$INFRA_HOST:$ETCD_PORT"
}

etcd_ready() {
    "${INFRA_PROBE[@]}" http "http://$(etcd_client_address)/health"
}

etcd_start() {
    etcd_installed || die "etcd: not installed; run: deploy/local/infra.sh install"
    require_free_ports etcd "$ETCD_PORT" "$ETCD_PEER_PORT"
    local client_url="http://$INFRA_HOST:$ETCD_PORT" peer_url="http://$INFRA_HOST:$ETCD_PEER_PORT"
    mkdir -p "$INFRA_DIR/etcd"
    spawn etcd "$ETCD_BIN" \
        --name elanus-infra \
        --data-dir "$INFRA_DIR/etcd/data" \
        --listen-client-urls "$client_url" \
        --advertise-client-urls "$client_url" \
        --listen-peer-urls "$peer_url" \
        --initial-advertise-peer-urls "$peer_url" \
        --initial-cluster "elanus-infra=$peer_url" \
        --initial-cluster-state new \
        --logger zap
    wait_ready etcd etcd_ready
    printf 'export ELANUS_TEST_ETCD=%q\n' "$(etcd_client_address)" >"$INFRA_DIR/run/etcd.env"
}
