#!/usr/bin/env bash
# The whole test suite, in one command: installs the test peers that are missing, then
# runs every test, natively and (unit tests) for the Raspberry Pi under qemu-aarch64.
# Passes on a fresh Debian machine with Rust installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests talk to or build with.
APT_PEERS=(mosquitto openssl python3 python3-venv gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
  # The status page in a real browser: headless Chromium under chromedriver.
  chromium chromium-driver fonts-dejavu-core
  # Reports: the PDF is set in DejaVu Sans (above); poppler reads it back and renders it.
  poppler-utils
  # openh264 (snapshots, motion) is C++ with assembly: both compilers, and nasm for x86.
  g++ g++-aarch64-linux-gnu nasm
  # The RTSP camera server (gst-rtsp-server through Debian's python3 and its GObject bindings).
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-rtsp
  # ffprobe reads the alarm clips back.
  ffmpeg
  # SMS: a real gammu-smsd with Gammu's dummy phone, its SQL backend on SQLite.
  gammu gammu-smsd libdbd-sqlite3
  # The package: systemd-analyze checks the unit, systemd-sysusers makes the user on install.
  systemd)
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
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu

# Python peers (pysiaalarm, the SIA DC-09 receiver; aiosmtpd, the SMTP server) live in a
# venv inside target/.
VENV="$PWD/target/test-venv"
if ! "$VENV/bin/python" -c "import pysiaalarm, aiosmtpd" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pysiaalarm==3.2.2 aiosmtpd==1.4.6
fi
export PICKET_TEST_PYTHON="$VENV/bin/python"

# Supply chain: RustSec advisories (cargo audit, cargo deny) against the snapshot in
# ../shared/advisory-db (these machines cannot fetch it), licences and bans (deny.toml);
# accepted advisories are named and justified in .cargo/audit.toml and deny.toml.
ADVISORY_DB="${PICKET_ADVISORY_DB:-$PWD/../shared/advisory-db}"
[ -d "$ADVISORY_DB/crates" ] || { echo "no RustSec advisory database at $ADVISORY_DB (set PICKET_ADVISORY_DB)"; exit 1; }
command -v cargo-audit >/dev/null || cargo install cargo-audit --locked
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
cargo audit --db "$ADVISORY_DB" --no-fetch
# cargo deny reads a git checkout named after the database URL's hash.
DENY_DB=target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf target/advisory-dbs && mkdir -p "$DENY_DB" && cp -r "$ADVISORY_DB/." "$DENY_DB/"
git -C "$DENY_DB" init -q && git -C "$DENY_DB" add -A \
  && git -C "$DENY_DB" -c user.name=picket -c user.email=picket@localhost commit -qm snapshot
cargo deny --offline check advisories licenses bans

# The Debian packages, amd64 and arm64 (the Pi), from the release builds; tests/package.rs
# checks them and installs the amd64 one.
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo build --locked --release
cargo build --locked --release --target aarch64-unknown-linux-gnu
cargo deb --locked --no-build --strip
cargo deb --locked --no-build --strip --target aarch64-unknown-linux-gnu

cargo test --locked --all-targets

# The Pi build (above) cross-compiled; its unit tests pass under qemu (the runner is set
# in .cargo/config.toml).
cargo test --locked --lib --target aarch64-unknown-linux-gnu
