#!/usr/bin/env bash
# Installs vctl's virt-ssh-helper (bin/virt-ssh-helper: what libvirt's client runs on the far side of
# qemu+ssh://) as /usr/bin/virt-ssh-helper, only where libvirt's own is absent:
#  - a virt-ssh-helper that vctl did not install, in any directory of the standard PATH, is left alone;
#  - so is the path when a Debian package owns it (dpkg -S), even with the file missing: the
#    package would put its own back;
#  - what vctl installs is a small wrapper marked as vctl's, so that --uninstall removes only that.
# Usage: install-ssh-helper.sh [--root DIR] [--node PATH] [--uninstall]
#   --root DIR   install under DIR instead of / (the dpkg database read is DIR's)
#   --node PATH  the node binary the wrapper runs (default: the one in PATH)
# Exit status 0 whether it installed, found libvirt's own or had nothing to remove; 1 on errors.
set -euo pipefail

MARKER='# vctl-virt-ssh-helper: installed by vctl scripts/install-ssh-helper.sh'
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=''
NODE=''
UNINSTALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --node) NODE=${2:?--node needs a path}; shift 2 ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "install-ssh-helper.sh: unknown argument '$1'" >&2; exit 1 ;;
  esac
done
ROOT=${ROOT%/}
TARGET="$ROOT/usr/bin/virt-ssh-helper"

ours() { [ -f "$1" ] && [ ! -L "$1" ] && grep -qxF "$MARKER" "$1" 2>/dev/null; }

if [ "$UNINSTALL" = 1 ]; then
  if ours "$TARGET"; then
    rm -f "$TARGET"
    echo "removed vctl's $TARGET"
  elif [ -e "$TARGET" ] || [ -L "$TARGET" ]; then
    echo "$TARGET is not vctl's: left alone"
  else
    echo "$TARGET: not installed"
  fi
  exit 0
fi

# libvirt's own (or anyone else's) anywhere in the standard PATH wins.
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  f="$ROOT$dir/virt-ssh-helper"
  if { [ -e "$f" ] || [ -L "$f" ]; } && ! ours "$f"; then
    echo "libvirt's virt-ssh-helper is installed ($f): vctl's is not installed"
    exit 0
  fi
done
# A package that owns the path would overwrite ours (and ours would hide that its file is missing).
if command -v dpkg >/dev/null 2>&1; then
  if owner=$(dpkg ${ROOT:+--root="$ROOT"} -S /usr/bin/virt-ssh-helper 2>/dev/null); then
    echo "/usr/bin/virt-ssh-helper belongs to ${owner%%:*} (its file is missing: reinstall the package): vctl's is not installed"
    exit 0
  fi
fi

if [ -z "$NODE" ]; then
  NODE=$(command -v node) || { echo "install-ssh-helper.sh: no node in PATH (use --node)" >&2; exit 1; }
fi
[ -f "$REPO/dist/lib/cli/ssh-helper.js" ] || echo "warning: $REPO/dist is not built yet (npm run build)" >&2
mkdir -p "$(dirname "$TARGET")"
tmp=$(mktemp "$TARGET.XXXXXX")
cat >"$tmp" <<EOF
#!/bin/sh
$MARKER
# vctl's virt-ssh-helper (libvirt's own is not installed); remove with: $REPO/scripts/install-ssh-helper.sh --uninstall
exec '$NODE' '$REPO/bin/virt-ssh-helper' "\$@"
EOF
chmod 0755 "$tmp"
mv -f "$tmp" "$TARGET"
echo "installed vctl's virt-ssh-helper as $TARGET"
