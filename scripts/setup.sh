#!/usr/bin/env bash
# All set-up on a fresh Debian 12 machine with Node 20: system packages, npm packages, build,
# and the tiny test guest used by the QEMU tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
# vctl's virt-ssh-helper as /usr/bin/virt-ssh-helper, only where libvirt's own is absent.
bash scripts/install-ssh-helper.sh
if [ -x scripts/build-test-guest.sh ]; then bash scripts/build-test-guest.sh >/dev/null; fi
