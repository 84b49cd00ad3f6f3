#!/usr/bin/env bash
# Run every benchmark in bench/ and collect the output (see bench/README.md).
#
#   bash bench/run_all.sh [--quick] [--no-peer] [--repeat N]    # or: make bench
#   BENCH_ONLY="blocks runtime" bash bench/run_all.sh             # a subset
#   BENCH_NICE=-5 bash bench/run_all.sh        # as root on a shared box: benches (and the
#                                              # peer, their child) ahead of other work
#
# Each bench/<area>.py prints its own table and writes bench/results/<area>-latest.json;
# this script keeps going when one fails, then writes bench/results/summary.md (all the
# latest tables in Markdown, ready for docs/performance.md) and bench/results/run-<stamp>.log.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
RESULTS="$HERE/results"
mkdir -p "$RESULTS"
LOG="$RESULTS/run-$(date +%Y%m%d-%H%M%S).log"

# Known order first (cheap to expensive), then any other entry point that appears later.
ORDER=(blocks runtime s3 gcs sql dbt dask deployments)
declare -a AREAS=()
if [[ -n "${BENCH_ONLY:-}" ]]; then
    read -r -a AREAS <<< "$BENCH_ONLY"
else
    for a in "${ORDER[@]}"; do [[ -f "$HERE/$a.py" ]] && AREAS+=("$a"); done
    for f in "$HERE"/*.py; do
        a="$(basename "$f" .py)"
        case "$a" in harness|_*|peer_*|conftest) continue ;; esac
        [[ " ${AREAS[*]} " == *" $a "* ]] || AREAS+=("$a")
    done
fi

{
    echo "# bench run $(date -Iseconds) on $(uname -srm), $(nproc) cpus"
    echo "# python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
    if [[ -x "$HERE/.venv-prefect/bin/python" ]]; then
        echo "# peer: $("$HERE/.venv-prefect/bin/python" -c 'import prefect; print("prefect", prefect.__version__)')"
    else
        echo "# peer: none (make bench-peer creates bench/.venv-prefect)"
    fi
} | tee "$LOG"

declare -A STATUS=()
for a in "${AREAS[@]}"; do
    echo | tee -a "$LOG"
    echo "### $a: $PY bench/$a.py $*" | tee -a "$LOG"
    start=$(date +%s)
    (cd "$ROOT" && exec nice -n "${BENCH_NICE:-0}" "$PY" "bench/$a.py" "$@") 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) STATUS[$a]="ok" ;;
        3) STATUS[$a]="ran, some figures miss their target" ;;
        *) STATUS[$a]="FAILED (exit $rc)" ;;
    esac
    echo "### $a: ${STATUS[$a]} in $(( $(date +%s) - start )) s" | tee -a "$LOG"
done

"$PY" "$HERE/harness.py" --markdown > "$RESULTS/summary.md" 2>>"$LOG" || true
{
    echo
    echo "## summary"
    for a in "${AREAS[@]}"; do echo "  $a: ${STATUS[$a]}"; done
    echo "  log: $LOG"
    echo "  markdown tables: $RESULTS/summary.md"
} | tee -a "$LOG"

for a in "${AREAS[@]}"; do
    [[ "${STATUS[$a]}" == FAILED* ]] && exit 2
done
exit 0
