#!/usr/bin/env bash
# Installs and starts what the system and its tests need from Debian, only when missing:
# RabbitMQ (with the management plugin, used by tests to create throw-away vhosts), Chromium
# (browser tests) and, from npm, axe-core (the browser tests' accessibility audit, into
# .venv/axe). Safe to run again.
set -euo pipefail

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get -o DPkg::Lock::Timeout=900 update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "$@" >/dev/null
}
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! answers 127.0.0.1 5672; then
  if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/sbin/rabbitmq-server ]; then
    echo "installing rabbitmq-server (Debian)"; apt_install rabbitmq-server
  fi
  echo "starting RabbitMQ"; /usr/sbin/rabbitmq-server -detached
  for _ in $(seq 1 120); do answers 127.0.0.1 5672 && break; sleep 0.5; done
  answers 127.0.0.1 5672 || { echo "RabbitMQ did not start" >&2; exit 1; }
fi
if ! answers 127.0.0.1 15672 && command -v rabbitmq-plugins >/dev/null; then
  rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do answers 127.0.0.1 15672 && break; sleep 0.5; done
fi
if [ "${NETSTERK_NO_BROWSER:-0}" != 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian) for the browser tests"; apt_install chromium
fi
# axe-core (Deque, MPL-2.0): injected into the pages by tests/test_browser_portal.py
AXE_VERSION=4.11.0
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/.venv/axe"
if [ "${NETSTERK_NO_BROWSER:-0}" != 1 ] && \
   ! grep -qs "\"version\": \"$AXE_VERSION\"" "$AXE_DIR/node_modules/axe-core/package.json"; then
  if ! command -v npm >/dev/null; then echo "installing npm (Debian)"; apt_install npm; fi
  echo "installing axe-core $AXE_VERSION (npm) for the accessibility audit"
  npm install --prefix "$AXE_DIR" --no-audit --no-fund --no-save --silent "axe-core@$AXE_VERSION"
fi
# PostgreSQL: the migration tests run every service's migrations on a real PostgreSQL too.
if ! answers 127.0.0.1 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing postgresql (Debian)"; apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -1)
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 60); do answers 127.0.0.1 5432 && break; sleep 0.5; done
  answers 127.0.0.1 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
