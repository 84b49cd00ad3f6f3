#!/usr/bin/env bash
# Make Debian's PostgreSQL server binaries available for the test suite's fixture, which
# starts its own throw-away cluster on 127.0.0.1. Installs only when run as root with apt;
# otherwise says how to provide PostgreSQL, and the tests that need it are skipped.
set -u
if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL server (Debian package) for the tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
    && exit 0
  echo "warning: could not install PostgreSQL; its tests will be skipped" >&2
  exit 0
fi
echo "note: PostgreSQL server not found; its tests will be skipped (install postgresql, or set HEADWATER_TEST_POSTGRES_URL)" >&2
exit 0
