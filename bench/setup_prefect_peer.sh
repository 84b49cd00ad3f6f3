#!/usr/bin/env bash
# Create bench/.venv-prefect: the Prefect 3.9 peer the benchmarks compare against.
#
#   bash bench/setup_prefect_peer.sh          # or: make bench-peer
#   PYTHON=/usr/bin/python3.11 bash bench/setup_prefect_peer.sh
#   PEER_FORCE=1 bash bench/setup_prefect_peer.sh   # rebuild from scratch
#
# Why not `pip install prefect==3.9.*`: prefect 3.9.x requires certifi>=2026.10.19, which
# the package index here does not carry, and pip then silently resolves to prefect 3.8.x.
# So we install 3.9's other requirements (certifi unpinned), then the prefect 3.9 wheel
# with --no-deps, then the integrations' own requirements, then the integration wheels
# with --no-deps, so nothing can move prefect off 3.9. `pip check` is printed at the end;
# the certifi floor is the only expected complaint.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$HERE/.venv-prefect"
PY="${PYTHON:-python3}"
PREFECT_SPEC="${PREFECT_SPEC:-prefect==3.9.*}"
INTEGRATIONS=(prefect-aws prefect-gcp prefect-sqlalchemy prefect-dbt prefect-shell)
# Same clients/warehouses the Headwater side uses, so both talk to the same servers.
EXTRAS=("dbt-core>=1.11,<1.12" "dbt-duckdb" "boto3" "google-cloud-storage"
        "psycopg[binary]" "duckdb-engine" "pyinstrument")

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "setup_prefect_peer: prefect 3.9 needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 1
}

if [[ -n "${PEER_FORCE:-}" ]]; then rm -rf "$VENV"; fi
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
# pip warns once per package about this machine's absent extra index folders; drop that noise.
pipq() {
    set +o pipefail
    "${PIP[@]}" "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
    local rc=${PIPESTATUS[0]}
    set -o pipefail
    return "$rc"
}

WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT

echo "== downloading $PREFECT_SPEC and ${INTEGRATIONS[*]} (no deps)"
pipq download -q --no-deps -d "$WHEELS" "$PREFECT_SPEC" "${INTEGRATIONS[@]}"

# Requirements of every downloaded wheel, minus extras and minus prefect itself;
# certifi's floor is dropped (see the header).
REQS="$WHEELS/requirements.txt"
"$VENV/bin/python" - "$WHEELS" > "$REQS" <<'EOF'
import re, sys, zipfile, pathlib
seen = set()
for whl in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            req = line.split(":", 1)[1].strip()
            if "extra ==" in req:
                continue
            name = re.split(r"[\s<>=!~;\[(]", req, 1)[0].lower().replace("_", "-")
            if name == "prefect" or name.startswith("prefect-"):
                continue
            if name == "certifi":
                req = "certifi"
            if req not in seen:
                seen.add(req)
                print(req)
EOF
printf '%s\n' "${EXTRAS[@]}" >> "$REQS"

echo "== installing $(wc -l < "$REQS") requirements"
pipq install -q --upgrade pip
pipq install -q -r "$REQS"

echo "== installing prefect and integrations with --no-deps"
pipq install -q --no-deps "$WHEELS"/*.whl

echo "== pip check (the certifi floor is expected)"
"${PIP[@]}" check || true

VERSION="$("$VENV/bin/python" -c 'import prefect; print(prefect.__version__)')"
case "$VERSION" in
    3.9.*) ;;
    *) echo "setup_prefect_peer: expected prefect 3.9.x, got $VERSION" >&2; exit 1 ;;
esac
"$VENV/bin/python" - <<'EOF'
from importlib.metadata import version
names = ["prefect", "prefect-aws", "prefect-gcp", "prefect-sqlalchemy", "prefect-dbt",
         "prefect-shell", "dbt-core", "dbt-duckdb", "certifi"]
print("peer ready: " + ", ".join(f"{n} {version(n)}" for n in names))
EOF
