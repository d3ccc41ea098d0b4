# scripts/setup.sh — shared by scripts/demo and scripts/test (sourced, not run).
#
# Installs the Debian 12 packages seqnet needs when they are missing (with apt-get when run as
# root; otherwise prints the exact apt-get line and stops), then configures and builds.

# libopenblas0-openmp: the OpenMP build of OpenBLAS, so BLAS and our kernels share one pool.
SEQNET_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev libopenblas0-openmp
  libfmt-dev nlohmann-json3-dev libcli11-dev
  libsndfile1-dev libmatio-dev
  libgtest-dev libgmock-dev
)

seqnet_install_deps() {
  local missing=()
  for p in "${SEQNET_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    echo "seqnet: installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! $cmd; then
      apt-get update -qq && $cmd
    fi
  else
    echo "seqnet: these Debian packages are missing: ${missing[*]}"
    echo "Install them with:"
    echo "  sudo apt-get update && sudo $cmd"
    exit 1
  fi
}

# seqnet_build BUILD_DIR [extra cmake args...]
seqnet_build() {
  local dir="$1"; shift
  local gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$SEQNET_ROOT" -B "$dir" "${gen[@]}" "$@"
  else
    cmake -S "$SEQNET_ROOT" -B "$dir" "$@" >/dev/null
  fi
  cmake --build "$dir" --parallel "$(nproc)"
}
