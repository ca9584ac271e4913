#!/usr/bin/env bash
# check-stock-debian.sh: run the README's two commands, as written, in a Debian bookworm root filesystem whose only
# Python is Debian's python3 (no pip, no venv module, externally managed): the machine the README promises.
#
#   sudo scripts/check-stock-debian.sh                                  # both commands, the whole test suite
#   sudo scripts/check-stock-debian.sh -x tests/test_cli.py tests/e2e   # test command + these pytest arguments
#
# Not part of the test suite: the first run debootstraps (a few minutes) and setup.sh then installs the Debian
# packages and the Python ones into the clone's .venv; the suite itself takes ~20 min on 2 cores.
# What it does, as root on a Debian/Ubuntu host (needs debootstrap: apt-get install debootstrap):
#   1. makes (once) a minbase bookworm chroot at $EDGEBUILD_CHROOT (default /work/chroot-bookworm) and installs
#      only python3, git and ca-certificates from Debian into it;
#   2. clones this checkout's current commit (HEAD, committed work only) into /root/edgebuild there, afresh;
#   3. runs the commands between <!-- build-command --> and <!-- test-command --> markers in README.md (as
#      .ci/run does), each in `bash -c` with no stdin, CI=true and a clean environment, from the clone.
# Torch: PyPI's x86_64 torch is the CUDA build, so setup.sh asks for the CPU build (torch==X+cpu) from
# https://download.pytorch.org/whl/cpu unless pip's configuration offers it already. Where that index cannot be
# reached, EDGEBUILD_CHECK_WHEELS=DIR (default: pip's find-links folder on this host, if it holds a torch wheel)
# is mounted read-only at the same path inside and handed to pip as PIP_FIND_LINKS; nothing else of this host's
# pip configuration goes in (but its extra certificate authorities do, see below).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
root=${EDGEBUILD_CHROOT:-/work/chroot-bookworm}
say() { printf 'check-stock-debian: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root (debootstrap, chroot and mount need it)"

# README commands, by marker name (build-command, test-command); exactly one line each.
readme_command() {
  local cmd
  cmd=$(awk -v m="$1" '$0 ~ "<!-- " m " -->" {on = 1; next} $0 ~ "<!-- /" m " -->" {on = 0} on' README.md \
        | grep -v '^[[:space:]]*```' | grep -v '^[[:space:]]*$' || true)
  [[ -n $cmd && $(printf '%s\n' "$cmd" | wc -l) -eq 1 ]] || die "README.md must hold one command between <!-- $1 --> markers"
  printf '%s' "$cmd"
}
build_cmd=$(readme_command build-command)
test_cmd=$(readme_command test-command)
if (($#)); then
  test_cmd+=$(printf ' %q' "$@")
fi

# 1. The root filesystem, made once (debootstrap into a sibling folder, renamed when complete).
if [[ ! -x $root/usr/bin/python3 ]]; then
  if [[ ! -d $root ]]; then
    command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
    mirror=$(grep -rhoE 'https?://[^ ]*debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null \
             | grep -v security | head -1 | tr -d ' ' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    say "debootstrap bookworm from $mirror into $root"
    rm -rf "$root.partial"
    debootstrap --variant=minbase bookworm "$root.partial" "$mirror" >/dev/null
    mv "$root.partial" "$root"
  fi
fi

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind <host path> <path inside> [ro]
  mkdir -p "$root$2"
  mount --bind "$1" "$root$2"
  mounted+=("$root$2")
  if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$root$2"; fi
}
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
mkdir -p "$root.tmp" && chmod 1777 "$root.tmp" && bind "$root.tmp" /tmp  # on disk: pip unpacks torch there
cp /etc/resolv.conf "$root/etc/resolv.conf"

in_root() {  # a login-less root shell with a clean environment, no stdin
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" </dev/null
}

if ! in_root sh -c 'command -v git >/dev/null && [ -e /etc/ssl/certs/ca-certificates.crt ]'; then
  say "installing python3 git ca-certificates from Debian"
  in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 git ca-certificates >/dev/null'
fi

# 2. A fresh clone of this checkout's HEAD.
commit=$(git rev-parse HEAD)
rm -rf "$root/root/edgebuild"
git clone -q --no-hardlinks "$repo" "$root/root/edgebuild"
git -C "$root/root/edgebuild" checkout -q "$commit"
say "clone of $commit ($(git log -1 --format=%s "$commit" | cut -c1-60))"

# A host behind a TLS-inspecting proxy trusts extra certificate authorities (/usr/local/share/ca-certificates);
# the root filesystem gets the same ones, and pip (which otherwise reads only its own bundle) the system store.
pip_env=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  in_root update-ca-certificates >/dev/null
  pip_env+=(PIP_CERT=/etc/ssl/certs/ca-certificates.crt)
  say "this host's extra certificate authorities are trusted inside: $(cd /usr/local/share/ca-certificates && ls ./*.crt | tr '\n' ' ')"
fi

# Torch wheels for pip, when this host has them in its find-links folder.
wheels=${EDGEBUILD_CHECK_WHEELS-$(pip config get global.find-links 2>/dev/null || echo "${PIP_FIND_LINKS:-}")}
if [[ -n $wheels ]] && compgen -G "$wheels/torch-*.whl" >/dev/null; then
  bind "$wheels" "$wheels" ro
  pip_env+=(PIP_FIND_LINKS="$wheels")
  say "pip finds links in $wheels (read-only): $(cd "$wheels" && ls torch-*.whl | tr '\n' ' ')"
fi

# 3. The README's commands, as written.
status=0
for cmd in "$build_cmd" "$test_cmd"; do
  say "+ $cmd"
  start=$(date +%s)
  in_root "${pip_env[@]}" bash -c "cd /root/edgebuild && $cmd" || status=$?
  say "exit status $status after $(($(date +%s) - start)) s"
  ((status == 0)) || break
done
exit "$status"
