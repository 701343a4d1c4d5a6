#!/usr/bin/env bash
# Builds the runner and starts it on a Unix socket, for an APISIX configured with
# ext-plugin.path_for_test (see README). Redis is started too if PAM_REDIS_URL is not set.
set -euo pipefail
cd "$(dirname "$0")/.."
SOCK="${APISIX_LISTEN_ADDRESS:-unix:/tmp/inference-pam.sock}"
if [ ! -f plugins/target/inference-pam.jar ] || [ "${REBUILD:-0}" = 1 ]; then
  mvn -B -ntp -q -DskipTests package -pl plugins -am
fi
if [ -z "${PAM_REDIS_URL:-}" ]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends redis-server
  fi
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save "" --appendonly no >/dev/null
  fi
  export PAM_REDIS_URL=redis://127.0.0.1:6379
fi
# pam-record's spool needs a private directory (no default under the shared /tmp): one of this user's own
export PAM_AUDIT_SPOOL_DIR="${PAM_AUDIT_SPOOL_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/inference-pam/audit-spool}"
echo "inference-pam: socket ${SOCK#unix:}, control API on 127.0.0.1:${PAM_CONTROL_PORT:-9181}, Redis ${PAM_REDIS_URL}, audit spool ${PAM_AUDIT_SPOOL_DIR}"
APISIX_LISTEN_ADDRESS="$SOCK" exec java -XX:+UseSerialGC -XX:ThreadPriorityPolicy=1 -jar plugins/target/inference-pam.jar run
