#!/usr/bin/env bash
# Installs and runs the three servers Elanus's cluster mode stands on (etcd,
# Kafka, MinIO) on 127.0.0.1 only, for development and the tests.
#
#   deploy/local/infra.sh install [SERVER...]             download/build into the cache (idempotent)
#   deploy/local/infra.sh up      [SERVER...] [--dir DIR]  start, wait until each one answers
#   deploy/local/infra.sh down    [SERVER...] [--dir DIR]  stop what `up` started
#   deploy/local/infra.sh status  [SERVER...] [--dir DIR]  running or not, PID, memory (exit 1 if any is down)
#   deploy/local/infra.sh env     [SERVER...] [--dir DIR]  `export ELANUS_TEST_...` lines for the tests
#
# SERVER is etcd, kafka or minio (default: all three). DIR holds data, logs
# and PID files (default $ELANUS_INFRA_DIR, else .cache/infra in the repo).
# Ports, versions and the cache location: see deploy/local/README.md.
set -euo pipefail

INFRA_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INFRA_REPO="$(cd "$INFRA_HERE/../.." && pwd)"
INFRA_SERVERS=(etcd kafka minio)

# shellcheck source=deploy/local/lib.sh
source "$INFRA_HERE/lib.sh"
# shellcheck source=deploy/local/etcd.sh
source "$INFRA_HERE/etcd.sh"
# shellcheck source=deploy/local/kafka.sh
source "$INFRA_HERE/kafka.sh"
# shellcheck source=deploy/local/minio.sh
source "$INFRA_HERE/minio.sh"

usage() {
    sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# parse_arguments ARG...: sets INFRA_DIR and SELECTED (the servers named, or all).
parse_arguments() {
    local dir="${ELANUS_INFRA_DIR:-$INFRA_REPO/.cache/infra}"
    SELECTED=()
    while (($# > 0)); do
        case "$1" in
            --dir)
                (($# >= 2)) || die "--dir needs a directory"
                dir="$2"
                shift 2
                ;;
            --dir=*)
                dir="${1#--dir=}"
                shift
                ;;
            etcd | kafka | minio)
                SELECTED+=("$1")
                shift
                ;;
            -h | --help) usage ;;
            *) die "unknown argument '$1' (servers: ${INFRA_SERVERS[*]})" ;;
        esac
    done
    ((${#SELECTED[@]} > 0)) || SELECTED=("${INFRA_SERVERS[@]}")
    # Absolute, so that PID checks can find it in each server's command line.
    INFRA_DIR="$(realpath -m -- "$dir")"
}

# lock FILE: serialises concurrent runs on the same cache or data dir. The
# descriptor is closed in every server `spawn` starts, so servers never
# hold the lock.
lock() {
    mkdir -p "$(dirname "$1")"
    exec {INFRA_LOCK_FD}>"$1"
    flock -w 900 "$INFRA_LOCK_FD" || die "another infra.sh still holds $1 after 900 s"
}

command_install() {
    mkdir -p "$INFRA_CACHE"
    lock "$INFRA_CACHE/.lock"
    local name started
    for name in "${SELECTED[@]}"; do
        started="$(now_s)"
        "${name}_install"
        log "$name: install took $(($(now_s) - started)) s"
    done
    log "cache: $INFRA_CACHE ($(du -sh "$INFRA_CACHE" | cut -f1))"
}

command_up() {
    lock "$INFRA_DIR/run/.lock"
    local name pid
    for name in "${SELECTED[@]}"; do
        if pid="$(running_pid "$name")"; then
            log "$name: already running (pid $pid)"
            continue
        fi
        log "$name: starting"
        "${name}_start"
    done
}

command_down() {
    [[ -d "$INFRA_DIR/run" ]] || return 0
    lock "$INFRA_DIR/run/.lock"
    local name index
    # In reverse order of `up`.
    for ((index = ${#SELECTED[@]} - 1; index >= 0; index--)); do
        name="${SELECTED[index]}"
        stop_server "$name"
        rm -f "$INFRA_DIR/run/$name.env"
    done
}

command_status() {
    local name pid all_running=0 address
    for name in "${SELECTED[@]}"; do
        if pid="$(running_pid "$name")"; then
            address="$(sed -n '1s/^export [A-Z_]*=//p' "$INFRA_DIR/run/$name.env" 2>/dev/null || true)"
            printf '%-6s running  pid %-8s rss %5s MiB  %s\n' \
                "$name" "$pid" "$(($(resident_kib "$name") / 1024))" "$address"
        else
            printf '%-6s stopped\n' "$name"
            all_running=1
        fi
    done
    return "$all_running"
}

command_env() {
    local name missing=0
    for name in "${SELECTED[@]}"; do
        if running_pid "$name" >/dev/null && [[ -f "$INFRA_DIR/run/$name.env" ]]; then
            cat "$INFRA_DIR/run/$name.env"
        else
            log "$name is not running in $INFRA_DIR (run: deploy/local/infra.sh up --dir $INFRA_DIR)"
            missing=1
        fi
    done
    return "$missing"
}

main() {
    (($# > 0)) || usage
    local command="$1"
    shift
    parse_arguments "$@"
    case "$command" in
        install) command_install ;;
        up) command_up ;;
        down) command_down ;;
        status) command_status ;;
        env) command_env ;;
        *) usage ;;
    esac
}

main "$@"
