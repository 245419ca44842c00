#!/usr/bin/env bash
# Installs what strata needs to build, test and run, from Debian 12 packages. Idempotent: only
# missing packages are installed, and the package lists are refreshed only when needed.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build ccache python3 curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libtomlplusplus-dev libcli11-dev libfmt-dev libspdlog-dev
  libgtest-dev libgmock-dev
  libarchive-dev zlib1g-dev libzstd-dev libisal-dev libssl-dev libsqlite3-dev
  libarchive-tools e2fsprogs libext2fs-dev qemu-utils xfsprogs btrfs-progs attr clang-format strace
  umoci skopeo
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
