#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine (Debian, Java 17, Maven): installs what the tests
# need (redis-server from Debian), then builds every module and runs every test.
# Keycloak for the end-to-end tests comes from Maven Central and is fetched by the build itself.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkg() { command -v "$1" >/dev/null 2>&1; }
if ! need_pkg redis-server; then
  echo "== installing redis-server (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends redis-server redis-tools
fi
# The Debian package may start a system redis on 6379; the tests start their own servers on free ports.

echo "== java: $(java -version 2>&1 | head -1); maven: $(mvn -v 2>/dev/null | head -1)"
exec mvn -B -ntp verify "$@"
