#!/usr/bin/env bash
# Make the system services that the test suite's fixtures start available:
#   - Debian's PostgreSQL server binaries (the fixture starts a throw-away cluster on 127.0.0.1)
#   - gnome-keyring and dbus (a real OS keyring, run under dbus-run-session by the keyring test)
#   - Chromium (the headwater-ui browser tests drive it with Playwright's Python package)
# Installs only when run as root with apt; otherwise says what is missing, and those tests skip.
set -u
need=()
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 && ! command -v pg_ctl >/dev/null 2>&1 \
   && [ -z "${HEADWATER_TEST_POSTGRES_URL:-}" ]; then
  need+=(postgresql)
fi
command -v gnome-keyring-daemon >/dev/null 2>&1 || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null 2>&1 || need+=(dbus)
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing for the tests: ${need[*]} (Debian packages)..."
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    exit 0
  fi
  echo "warning: could not install ${need[*]}; the tests that need them will be skipped" >&2
  exit 0
fi
echo "note: not found: ${need[*]}; the tests that need them will be skipped (install them to run those tests)" >&2
exit 0
