#!/usr/bin/env bash
# The whole test suite, in one command: installs the test peers that are missing, then
# runs every test. Passes on a fresh Debian machine with Rust installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests talk to. Each later peer (broker, RTSP server, receivers,
# browser) is added here when its tests arrive.
APT_PEERS=(mosquitto openssl)
missing=()
for pkg in "${APT_PEERS[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing test peers: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

cargo test --locked --all-targets
