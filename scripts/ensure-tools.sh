#!/bin/sh
# Runs before `npm test` (the `pretest` script). Two tools come from Debian, installed when missing (as root, or
# with sudo) on a fresh Debian/Ubuntu machine:
# - capnproto: the Cap'n Proto interop tests run the real compiler;
# - chromium: the dashboard tests drive a real browser with playwright-core (no downloaded browser builds).
set -e
missing=""
command -v capnp >/dev/null 2>&1 || missing="$missing capnproto"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "npm test: install the Debian packages:$missing (the Cap'n Proto tests need capnp, the dashboard tests chromium)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: needs$missing (capnp: https://capnproto.org/install.html; chromium at /usr/bin/chromium)" >&2
  exit 1
fi
echo "npm test: installing Debian packages:$missing (Cap'n Proto interop tests, dashboard browser tests)"
# shellcheck disable=SC2086 # $missing is a list of package names
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
