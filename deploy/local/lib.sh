# Shared helpers for deploy/local/infra.sh: configuration, logging, PID files,
# waiting for readiness and stopping processes. Sourced, never run.
#
# Every server binds to 127.0.0.1 only; the ports below are the defaults and
# each one can be moved with its environment variable.

INFRA_HOST=127.0.0.1
INFRA_CACHE="${ELANUS_INFRA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/elanus-infra}"
INFRA_START_TIMEOUT_S="${ELANUS_INFRA_START_TIMEOUT:-90}"
INFRA_STOP_TIMEOUT_S="${ELANUS_INFRA_STOP_TIMEOUT:-20}"

ETCD_PORT="${ELANUS_INFRA_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${ELANUS_INFRA_ETCD_PEER_PORT:-23800}"
KAFKA_PORT="${ELANUS_INFRA_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${ELANUS_INFRA_KAFKA_CONTROLLER_PORT:-29093}"
MINIO_PORT="${ELANUS_INFRA_MINIO_PORT:-29000}"
MINIO_CONSOLE_PORT="${ELANUS_INFRA_MINIO_CONSOLE_PORT:-29001}"

# The probe is plain python3 (standard library only), present wherever the
# tests run; it needs neither curl nor the project's virtual environment.
INFRA_PROBE=(python3 "$INFRA_HERE/probe.py")

log() {
    echo "infra: $*" >&2
}

die() {
    echo "infra: error: $*" >&2
    exit 1
}

# now_s: seconds since the epoch, for measuring how long a step took.
now_s() {
    date +%s
}

# pid_file NAME: where `up` records the PID of server NAME under the data dir.
pid_file() {
    echo "$INFRA_DIR/run/$1.pid"
}

log_file() {
    echo "$INFRA_DIR/logs/$1.log"
}

# running_pid NAME: prints the PID of server NAME if the process recorded in
# its PID file is alive and is still that server (PIDs get reused), else
# prints nothing and fails.
running_pid() {
    local name="$1" file pid
    file="$(pid_file "$name")"
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    # The command line must mention the data dir, so that a recycled PID or
    # the same server started for another data dir is not taken for ours.
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$INFRA_DIR" || return 1
    echo "$pid"
}

# port_is_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_is_free() {
    ! "${INFRA_PROBE[@]}" tcp "$INFRA_HOST:$1" 2>/dev/null
}

# require_free_ports NAME PORT...: refuses to start NAME on a port that some
# other process (another data dir's server, a system service) already holds.
require_free_ports() {
    local name="$1" port
    shift
    for port in "$@"; do
        port_is_free "$port" ||
            die "$name: port $INFRA_HOST:$port is already in use by another process" \
                "(move it with the ELANUS_INFRA_*_PORT variables, see deploy/local/README.md)"
    done
}

# spawn NAME COMMAND...: starts COMMAND detached from this shell's session,
# output appended to NAME's log, and records its PID.
spawn() {
    local name="$1"
    shift
    mkdir -p "$INFRA_DIR/run" "$INFRA_DIR/logs"
    echo "---- $(date -u +%FT%TZ) starting: $*" >>"$(log_file "$name")"
    # The server must not inherit the lock infra.sh holds while it runs.
    setsid "$@" >>"$(log_file "$name")" 2>&1 </dev/null {INFRA_LOCK_FD}>&- &
    echo "$!" >"$(pid_file "$name")"
}

# wait_ready NAME PROBE...: polls PROBE (a command) until it succeeds, the
# server's process dies, or INFRA_START_TIMEOUT_S passes. On failure it shows
# the tail of the server's log, stops the server and exits.
wait_ready() {
    local name="$1"
    shift
    local started deadline
    started="$(now_s)"
    deadline=$((started + INFRA_START_TIMEOUT_S))
    while true; do
        if "$@" 2>/dev/null; then
            log "$name ready after $(($(now_s) - started)) s"
            return 0
        fi
        if ! running_pid "$name" >/dev/null; then
            show_log_tail "$name"
            die "$name exited before it answered (log: $(log_file "$name"))"
        fi
        if (($(now_s) >= deadline)); then
            show_log_tail "$name"
            # A server that never answered must not keep its ports.
            stop_server "$name"
            die "$name did not answer within ${INFRA_START_TIMEOUT_S} s" \
                "(log: $(log_file "$name"); raise ELANUS_INFRA_START_TIMEOUT if the machine is slow)"
        fi
        sleep 0.5
    done
}

show_log_tail() {
    local file
    file="$(log_file "$1")"
    [[ -f "$file" ]] || return 0
    echo "infra: ---- last lines of $file" >&2
    tail -n 30 "$file" >&2
    echo "infra: ----" >&2
}

# process_alive PID: the process exists and is not a zombie waiting for a
# parent (in a container, PID 1 may never reap it).
process_alive() {
    local state
    # The state follows the command name, which is in parentheses.
    state="$(sed -e 's/.*) //' -e 's/ .*//' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# stop_server NAME: SIGTERM, a bounded wait, then SIGKILL. A server that is
# not running is not an error.
stop_server() {
    local name="$1" pid waited=0
    if ! pid="$(running_pid "$name")"; then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    while process_alive "$pid" && ((waited < INFRA_STOP_TIMEOUT_S * 10)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if process_alive "$pid"; then
        log "$name (pid $pid) ignored SIGTERM for ${INFRA_STOP_TIMEOUT_S} s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
    log "$name stopped"
}

# resident_kib NAME: the server's resident set size in KiB (for status).
resident_kib() {
    local pid
    pid="$(running_pid "$1")" || return 1
    awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}
