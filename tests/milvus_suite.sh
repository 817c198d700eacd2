#!/usr/bin/env bash
# Runs Milvus's own MilvusClient test modules (tests/python_client/milvus_client
# of milvus-io/milvus) against an Elanus server, one module at a time, and
# prints passed/total per module. It is another project's code: it lives
# outside this repository, in $SUITE (fetching it is manual, see tests/README.md).
# Not run by tests/run.
#
#   tests/milvus_suite.sh setup                 # the venv in $SUITE/venv
#   tests/milvus_suite.sh run MODULE...         # e.g. collection alias database
#
# The server is yours to start first, e.g.
#   elanus standalone --data-dir /tmp/suite-data --host 127.0.0.1 --port 19731
set -euo pipefail

SUITE=${SUITE:-/work/milvus-suite}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-19731}
TEST_TIMEOUT=${TEST_TIMEOUT:-120}
CLIENT="$SUITE/tests/python_client"
PY="$SUITE/venv/bin/python"

setup() {
    python3 -m venv "$SUITE/venv"
    # The suite pins a pymilvus pre-release; we test the released 3.0 line.
    # Requirements for other suites (perf, k8s reports, html) are left out.
    # pytest-timeout 1.3.3 predates pytest 8, and the pins of kubernetes, tantivy and
    # bm25s (imported by the suite's common modules) are old: current ones instead.
    grep -vE '^(--extra|pymilvus|#|$)|locust|h5py|pytest-html|pytest-sugar|pytest-parallel|allure|pytest-timeout|kubernetes|tantivy|bm25s' \
        "$CLIENT/requirements.txt" >"$SUITE/requirements-elanus.txt"
    "$SUITE/venv/bin/pip" install -q 'pymilvus>=3.0.2,<3.1' 'pytest-timeout>=2.3' \
        kubernetes tantivy bm25s -r "$SUITE/requirements-elanus.txt"
}

run_module() {
    local module=$1 junit="$SUITE/results/$1.xml"
    mkdir -p "$SUITE/results"
    (cd "$CLIENT" && nice -n 10 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" \
        --host "$HOST" --port "$PORT" --timeout "$TEST_TIMEOUT" --junitxml "$junit" \
        "milvus_client/test_milvus_client_$module.py" >"$SUITE/results/$module.log" 2>&1) || true
    "$PY" - "$module" "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[2]).getroot().find("testsuite")
total, failed, errors, skipped = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"{sys.argv[1]}: {total - failed - errors - skipped}/{total - skipped} passed ({skipped} skipped)")
PY
}

case ${1:-} in
setup) setup ;;
run)
    shift
    for module in "$@"; do run_module "$module"; done
    ;;
*)
    echo "usage: $0 setup | run MODULE..." >&2
    exit 2
    ;;
esac
