#!/usr/bin/env bash
# Installs the Debian packages Courier builds and tests with (clang-14 and
# libfuzzer-14-dev are for scripts/fuzz.sh). Idempotent:
# a second run installs nothing and takes about a second.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler libhiredis-dev libssl-dev openssl libmimalloc-dev
  nlohmann-json3-dev libsimdjson-dev doctest-dev
  redis-server redis-sentinel chromium
  clang-14 libfuzzer-14-dev
)
# Node.js and npm (test clients, the H3 oracle) may come from another
# source than Debian (this image ships its own, which conflicts with
# Debian's npm package): install Debian's only when the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "bootstrap: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "bootstrap: all packages present"
