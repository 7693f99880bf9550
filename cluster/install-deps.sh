#!/usr/bin/env bash
# Installs every Debian package scorch needs to build, test and benchmark.
#
# Idempotent: when everything is already present it only runs `dpkg-query` and
# exits in well under a second. Needs root (or sudo) only when something is missing.
#
# Why OpenBLAS: Debian's LibTorch multiplies matrices through whatever
# libblas.so.3 is installed. The reference BLAS runs a 1024^2 matmul at ~5 GFLOP/s
# on two cores; libopenblas0-pthread at ~160 GFLOP/s. `scorch doctor` shows which
# one is in use.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libzmq3-dev cppzmq-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libboost-dev libboost-system-dev
  libginac-dev libcln-dev libgmp-dev
  libpcre2-dev
  libgtest-dev libgmock-dev googletest
  curl wrk python3 procps iproute2
  chromium  # headless: the `scorch inspect --html` report test renders report.html
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when a first install attempt cannot find them.
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
fi

# Make sure LibTorch's libblas.so.3 resolves to OpenBLAS, not the reference BLAS.
if command -v update-alternatives >/dev/null; then
  arch_dir=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  current=$(readlink -f "/usr/lib/${arch_dir}/libblas.so.3" || true)
  if [[ "$current" != *openblas* ]]; then
    target=$(update-alternatives --list "libblas.so.3-${arch_dir}" 2>/dev/null | grep openblas | head -1 || true)
    if [[ -n "$target" ]]; then
      SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
      $SUDO update-alternatives --set "libblas.so.3-${arch_dir}" "$target"
      echo "install-deps: libblas.so.3 -> $target"
    else
      echo "install-deps: WARNING: OpenBLAS not registered as libblas.so.3; LibTorch will be slow" >&2
    fi
  fi
fi
