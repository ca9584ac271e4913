#!/usr/bin/env bash
# setup.sh: install what edgebuild needs on Debian/Ubuntu, skipping whatever is already there.
#
#   ./scripts/setup.sh            # idempotent, non-interactive; a few seconds when everything is present
#
# Debian packages: the ARM cross compilers and qemu-user; for `edgebuild profile` and its tests: openssh (ssh
# devices; the tests start their own sshd on loopback), chromium (the report.html check) and adb (Android phones).
# apt runs only when one is missing.
# Python: torch==2.13.0 first (pinned exactly: a loose torch pulls several GB of CUDA packages), the build tools,
# then edgebuild itself, editable, with its test extra, then facenet-pytorch without its requirements.
# PYTHON=... picks the interpreter (default: python3).
# EDGEBUILD_SETUP_FORCE=1 reinstalls edgebuild even when its sources have not changed.
# EDGEBUILD_SETUP_MUSL=1 also installs musl for arm64/armv7 (multiarch), for small `--lean` runners (see below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- Debian packages -------------------------------------------------------------------------------------------
# program:package pairs; a package is installed only when its program is missing.
tools=(
  g++:g++
  cmake:cmake
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu
  arm-linux-gnueabihf-g++:g++-arm-linux-gnueabihf
  qemu-aarch64:qemu-user
  qemu-arm:qemu-user
  clang-14:clang-14              # sanitizer and libFuzzer builds (tests/trust, docs/fuzzing.md)
  clang-14:libclang-rt-14-dev
  clang-format-14:clang-format-14  # scripts/lint.sh: clang-format on kernels/ (pinned: versions format differently)
  sshd:openssh-server
  ssh:openssh-client
  chromium:chromium
  adb:adb
  javac:openjdk-17-jdk-headless  # the Java binding's tests (kernels/java, docs/integration.md)
  pkg-config:pkg-config          # the C library package's edgebuild.pc (tests/interop)
)
missing=()
for pair in "${tools[@]}"; do
  program=${pair%%:*} package=${pair#*:}
  if ! command -v "$program" >/dev/null 2>&1 && ! [[ -x /usr/sbin/$program ]] && [[ " ${missing[*]-} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null || die "apt-get not found; install these packages by hand: ${missing[*]}"
  sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo; run: apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

# --- musl for lean runners (opt-in: EDGEBUILD_SETUP_MUSL=1) ----------------------------------------------------
# `edgebuild build --lean` links arm64/armv7 runners statically against musl when Debian's musl-dev:arm64 /
# musl-dev:armhf are installed (targets/*.toml [lean]; docs/footprint.md: digits 181 KiB instead of 688 KiB with
# glibc). Not by default: they are foreign-architecture packages, so this adds arm64 and armhf to dpkg's
# architectures, and every later `apt-get update` then fetches their package lists too (on Ubuntu they live on
# ports.ubuntu.com, so apt's sources must say so first, or apt-get update fails: then this step undoes its change).
if [[ ${EDGEBUILD_SETUP_MUSL:-0} == 1 ]]; then
  musl=()
  [[ -f /usr/lib/aarch64-linux-musl/musl-gcc.specs ]] || musl+=(arm64)
  [[ -f /usr/lib/arm-linux-musleabihf/musl-gcc.specs ]] || musl+=(armhf)
  if ((${#musl[@]})); then
    command -v dpkg >/dev/null || die "EDGEBUILD_SETUP_MUSL=1 needs dpkg and apt-get (Debian or Ubuntu)"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
      command -v sudo >/dev/null || die "not root and no sudo; run as root: dpkg --add-architecture ... (docs/footprint.md)"
      sudo=(sudo)
    fi
    added=()
    for arch in "${musl[@]}"; do
      if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        "${sudo[@]}" dpkg --add-architecture "$arch" && added+=("$arch")
      fi
    done
    say "installing Debian packages: ${musl[*]/#/musl-dev:}"
    export DEBIAN_FRONTEND=noninteractive
    if ! "${sudo[@]}" apt-get update -qq; then
      for arch in "${added[@]}"; do "${sudo[@]}" dpkg --remove-architecture "$arch"; done
      "${sudo[@]}" apt-get update -qq || true
      die "apt-get update failed with architectures ${musl[*]} added (removed again); give apt sources for them (Ubuntu: ports.ubuntu.com) and rerun"
    fi
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${musl[@]/#/musl-dev:}" >/dev/null
  else
    say "musl for lean runners (musl-dev:arm64, musl-dev:armhf): present"
  fi
fi

# --- Python packages -------------------------------------------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || die "$PYTHON is $("$PYTHON" --version 2>&1); edgebuild needs Python >= 3.10"
# Debian's own python3 refuses pip installs outside a virtual environment (PEP 668): say what to do instead.
if "$PYTHON" -c 'import sys, sysconfig, pathlib
sys.exit(sys.prefix != sys.base_prefix or not (pathlib.Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").exists())'
then
  die "$PYTHON is the system's Python, which pip may not change; make a virtual environment first:
  python3 -m venv .venv && . .venv/bin/activate && ./scripts/setup.sh"
fi
pip=("$PYTHON" -m pip install --quiet --disable-pip-version-check)

if "$PYTHON" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  say "torch $TORCH_VERSION: present"
else
  say "installing torch==$TORCH_VERSION"
  "${pip[@]}" "torch==$TORCH_VERSION"
fi

# The build backend is used without isolation, so its tools must be in this environment.
if ! "$PYTHON" -c 'import scikit_build_core, pybind11, ninja' 2>/dev/null; then
  say "installing build tools: scikit-build-core pybind11 ninja"
fi
"${pip[@]}" --no-build-isolation "scikit-build-core>=0.10" "pybind11>=2.12" ninja

# Reinstall edgebuild only when what the install builds from changed (the stamp hashes those files); the
# editable install keeps Python sources live, so Python-only edits need no reinstall.
stamp_file=build/.setup-stamp
stamp=$( { "$PYTHON" -c 'import sys; print(sys.executable)'
           find pyproject.toml CMakeLists.txt kernels -type f ! -path '*/__pycache__/*' -print0 2>/dev/null \
             | sort -z | xargs -0 -r sha256sum || true; } | sha256sum | cut -d' ' -f1 )
# From / so that this checkout's own folder on sys.path cannot answer for an install.
installed_here=$(cd / && "$PYTHON" -c \
  'import edgebuild, pathlib; print(pathlib.Path(edgebuild.__file__).resolve().parents[1])' 2>/dev/null || true)
if [[ ${EDGEBUILD_SETUP_FORCE:-0} != 1 && $installed_here == "$PWD" && -f $stamp_file \
      && $(cat "$stamp_file") == "$stamp" ]]; then
  say "edgebuild: installed from this checkout and up to date"
else
  say "installing edgebuild (editable, with test extras)"
  "${pip[@]}" --no-build-isolation -e ".[test]"
  mkdir -p build && printf '%s\n' "$stamp" >"$stamp_file"
fi

# facenet-pytorch's MTCNN weights (tests/zoo/test_real_weights.py), without its requirements: they would replace
# torch 2.13 with 2.2 and add torchvision. The tests load PNet/RNet/ONet without the torchvision-using parts.
FACENET_VERSION=2.6.0
if [[ $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("facenet-pytorch"))' 2>/dev/null) == "$FACENET_VERSION" ]]; then
  say "facenet-pytorch $FACENET_VERSION: present"
else
  say "installing facenet-pytorch==$FACENET_VERSION (--no-deps)"
  "${pip[@]}" --no-deps "facenet-pytorch==$FACENET_VERSION"
fi

# onnx2torch (ONNX in: edgebuild/onnx_in.py), without its requirements: they add torchvision, whose PyPI build breaks
# beside torch 2.13. edgebuild imports it with a stand-in for torchvision (only its NMS / RoiAlign converters use it).
ONNX2TORCH_VERSION=1.5.15
if [[ $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("onnx2torch"))' 2>/dev/null) == "$ONNX2TORCH_VERSION" ]]; then
  say "onnx2torch $ONNX2TORCH_VERSION: present"
else
  say "installing onnx2torch==$ONNX2TORCH_VERSION (--no-deps)"
  "${pip[@]}" --no-deps "onnx2torch==$ONNX2TORCH_VERSION"
fi

# pyenv only puts a new console script on PATH after a rehash (its pip hook usually does this already).
on_path() { command -v edgebuild >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1; }
if ! on_path && command -v pyenv >/dev/null 2>&1; then
  pyenv rehash
fi
if on_path; then
  say "ready: $(command -v edgebuild)"
else
  # Runner builds need ninja on PATH too, not only inside scikit-build-core.
  say "warning: edgebuild or ninja is not on PATH; add $("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH"
fi
