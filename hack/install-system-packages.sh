#!/usr/bin/env bash
# Installs the Debian packages the project's targets call, for `make test`, `make demo` and CI alike (the one list).
#
#   hack/install-system-packages.sh [--dry-run] [test|all]
#
# test: what `make test` runs (unit, kube and media tiers: ffmpeg, Redis, Chromium, nginx, wrk).
# all (default): test plus the local node and the images (`make tools`, `images`, `node-up`, `e2e`, `demo`).
# Checks with one dpkg-query call (well under a second when everything is there, and then needs neither root nor the
# network); otherwise runs `apt-get update` once and installs only what is missing, printing each package, its
# version and the time taken. --dry-run prints what it would install and changes nothing. LSO_DPKG_ADMINDIR points
# the check at another dpkg database (an empty one simulates a fresh machine for --dry-run).
# Go is not a Debian package here: it builds the test tools and is expected at /usr/local/go/bin (or on PATH).
set -euo pipefail

# package               tier  who calls it
list='
ca-certificates         test  npm, the Go module proxy, Debian mirror over TLS
openssl                 test  certificates of the local control plane (hack/cluster/pki.ts)
curl                    test  the commands of the README and the runbooks (no script calls it)
procps                  test  pgrep and ps: finding and stopping the processes tests start
iproute2                test  ip: addresses of the local cluster and the node
util-linux              test  flock (tool and image build locks), mount, umount
time                    test  /usr/bin/time: CPU of the ladder benchmark
ffmpeg                  test  the ladder, publishers in tests and the demo, ffprobe in checks
redis-server            test  the report stream of the media tier (brings redis-cli)
postgresql              test  the session history store tests (initdb, postgres: test/support/postgres-process.ts)
chromium                test  hls.js playing in headless Chromium
nginx-light             test  the origin benchmark baseline
wrk                     test  the origin benchmark load
gcc                     all   the static pause binary (hack/tools/build.sh pause)
libc6-dev               all   libc.a for the static pause binary
containerd              all   the local node runtime, ctr for importing images
runc                    all   the OCI runtime of containerd and podman run
containernetworking-plugins all the CNI bridge of the local node
iptables                all   kube-proxy Service rules, pod masquerade
debootstrap             all   the images base root filesystems
podman                  all   builds, saves and runs the images
buildah                 all   podman builds
'

usage() { echo "usage: hack/install-system-packages.sh [--dry-run] [test|all]" >&2; exit 2; }
dry_run=false
tier=all
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=true ;;
    test | all) tier=$arg ;;
    *) usage ;;
  esac
done
say() { echo "system packages: $*" >&2; }
ms() { date +%s%N | cut -c1-13; }
start=$(ms)

# Go first: without it nothing else helps (the kube tier and the node build their binaries from Go modules).
if ! PATH="$PATH:/usr/local/go/bin" command -v go >/dev/null; then
  say "Go is missing: install it at /usr/local/go (the tool builds need it; https://go.dev/doc/install), then re-run"
  exit 1
fi
command -v npm >/dev/null || { say "npm is missing: install Node.js and npm (npm ci brings the Node 24 runtime)"; exit 1; }

wanted=()
while read -r package level _; do
  [ -n "$package" ] || continue
  if [ "$tier" = all ] || [ "$level" = test ]; then wanted+=("$package"); fi
done <<<"$list"

# One dpkg-query for the whole list; a package dpkg has never heard of prints nothing and counts as missing.
admindir=()
[ -z "${LSO_DPKG_ADMINDIR:-}" ] || admindir=("--admindir=$LSO_DPKG_ADMINDIR")
installed=$(dpkg-query "${admindir[@]}" -W -f '${Package} ${db:Status-Abbrev}\n' "${wanted[@]}" 2>/dev/null || true)
missing=()
for p in "${wanted[@]}"; do
  awk -v p="$p" '$1 == p && $2 == "ii" { found = 1 } END { exit !found }' <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#wanted[@]} packages of tier '$tier' are installed ($(($(ms) - start)) ms)"
  exit 0
fi
for p in "${missing[@]}"; do
  say "missing $p: $(awk -v p="$p" '$1 == p { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' <<<"$list")"
done
if $dry_run; then
  say "--dry-run: would run apt-get update and apt-get install --no-install-recommends ${missing[*]}"
  exit 0
fi
[ "$(id -u)" = 0 ] || {
  say "${#missing[@]} packages are missing and installing them needs root: run as root (or sudo $0 $tier)"
  exit 1
}

export DEBIAN_FRONTEND=noninteractive
log=${TMPDIR:-/tmp}/lso-install-system-packages.log
say "installing ${#missing[@]} packages with apt-get (a fresh machine takes a few minutes; log: $log)"
apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
if ! { "${apt[@]}" update && "${apt[@]}" install --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  say "apt-get failed (full log: $log)"
  exit 1
fi
for p in "${missing[@]}"; do say "installed $(dpkg-query -W -f '${Package} ${Version}' "$p")"; done
say "${#missing[@]} packages installed in $((($(ms) - start) / 1000)) s"
