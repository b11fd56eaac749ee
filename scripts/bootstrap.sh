#!/usr/bin/env bash
# Installs every build, run and test dependency from Debian's packages, by name.
# Idempotent: a machine that already has everything skips apt entirely.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libhiredis-dev libsqlite3-dev sqlite3 libssl-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev libeigen3-dev libtbb-dev libzstd-dev libxxhash-dev
  libjs-chart.js redis-server redis-tools shellcheck clang
  python3-prometheus-client prometheus chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
