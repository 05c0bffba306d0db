#!/bin/sh
# Runs before `npm test` (the `pretest` script): the Cap'n Proto interop tests run the real compiler, so on a
# fresh Debian/Ubuntu machine this installs Debian's capnproto when `capnp` is missing (as root, or with sudo).
set -e
command -v capnp >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "npm test: the Cap'n Proto tests need the capnp compiler: install the Debian package capnproto" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test: the Cap'n Proto tests need the capnp compiler (https://capnproto.org/install.html)" >&2
  exit 1
fi
echo "npm test: installing the capnp compiler (Debian package capnproto) for the Cap'n Proto interop tests"
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq capnproto >/dev/null
