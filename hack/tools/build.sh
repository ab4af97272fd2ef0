#!/usr/bin/env bash
# Builds the pinned test tools from their Go modules into a cache outside the work tree and prints the bin directory.
#
#   hack/tools/build.sh kubernetes|etcd|helm|promtool|minio|coredns|kwok|pause
#                                                  -> prints  $LSO_CACHE/tools/<name>-<version>-<hash>/bin
#
# The cache key is the tool's version plus a hash of its wrapper module (go.mod, go.sum, Go files) and the Go
# version, so a changed pin builds a new entry and an unchanged one is never rebuilt. A `.complete` marker is written
# last: an interrupted build is redone, never half-used. Progress goes to stderr, the path alone to stdout.
#
# pause (the pod sandbox's process) is C, not Go: it is compiled with gcc from build/pause/linux/pause.c of the
# pinned k8s.io/kubernetes module (hack/tools/kubernetes), so it follows that pin; its key hashes the source, the
# flags and the gcc version. <version> is `v<pause version>-<kubernetes version>`, as upstream's `pause -v` prints.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${1:?usage: build.sh kubernetes|etcd|helm|promtool|minio|coredns|kwok|pause}
case "$name" in
  pause) moddir="$here/kubernetes" ;;
  *) moddir="$here/$name" ;;
esac
[ -f "$moddir/go.mod" ] || { echo "build.sh: unknown tool '$name'" >&2; exit 2; }
cache_root=${LSO_CACHE:-$HOME/.cache/livestream-operator}/tools

# The pinned version is the one the wrapper module requires.
case "$name" in
  kubernetes) module=k8s.io/kubernetes ;;
  etcd) module=go.etcd.io/etcd/server/v3 ;;
  helm) module=helm.sh/helm/v4 ;;
  promtool) module=github.com/prometheus/prometheus ;;
  minio) module=github.com/minio/minio ;;
  coredns) module=github.com/coredns/coredns ;;
  kwok) module=sigs.k8s.io/kwok ;;
  pause) module=k8s.io/kubernetes ;;
esac
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 } $1 == m { print $2 }' "$moddir/go.mod" | head -n 1)
[ -n "$version" ] || { echo "build.sh: no version of $module in $moddir/go.mod" >&2; exit 1; }

mkdir -p "$cache_root"
# One build per tool at a time: a second caller waits here and then finds the finished entry.
exec 9>"$cache_root/$name.lock"
flock 9

if [ "$name" = pause ]; then
  # The source of the pinned module, from the Go module cache (downloaded once; go.sum of the wrapper verifies it).
  pause_src=$(cd "$moddir" && go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/build/pause
  [ -f "$pause_src/linux/pause.c" ] || { echo "build.sh: no build/pause/linux/pause.c in $module@$version" >&2; exit 1; }
  # The pause version the Makefile next to the source declares (TAG ?= 3.10.2): the image is tagged with it.
  pause_version=$(sed -n 's/^TAG ?= *\([0-9.]*\)$/\1/p' "$pause_src/Makefile")
  [ -n "$pause_version" ] || { echo "build.sh: no TAG in $pause_src/Makefile" >&2; exit 1; }
  version="v$pause_version-$version"
  # Upstream's flags (build/pause/Makefile: -Os -Wall -Werror -static -DVERSION=v$(TAG)-$(REV)), glibc's libc.a
  # (libc6-dev) instead of their cross-compiler image; stripped, since the image holds nothing else.
  cflags=(-Os -Wall -Werror -static -s "-DVERSION=$version")
  hash=$( (cat "$pause_src/linux/pause.c"; echo "${cflags[*]}"; gcc --version | head -n 1) | sha256sum | cut -c1-12)
else
  hash=$( (cd "$moddir" && cat go.mod go.sum ./*.go; go env GOVERSION) | sha256sum | cut -c1-12)
fi
dest="$cache_root/$name-$version-$hash"
if [ -f "$dest/.complete" ]; then
  echo "$dest/bin"
  exit 0
fi

rm -rf "$dest"
mkdir -p "$dest/bin"
echo "build.sh: building $name $version (cache miss: $dest); a first Go build takes minutes" >&2
start=$(date +%s)
cd "$moddir"
export CGO_ENABLED=${CGO_ENABLED:-0}
case "$name" in
  kubernetes)
    minor=$(echo "$version" | cut -d. -f2)
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    # kubelet needs cgo off for a static binary too; nothing here links C.
    go build -trimpath -ldflags "$ldflags" -o "$dest/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
    ;;
  etcd)
    go build -trimpath -ldflags "-s -w" -o "$dest/bin/etcd" .
    ;;
  helm)
    go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" -o "$dest/bin/helm" \
      helm.sh/helm/v4/cmd/helm
    ;;
  promtool)
    # remove_all_sd: promtool checks rules and queries; the service-discovery plugins (cloud SDKs) are not needed.
    go build -trimpath -tags remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
      -o "$dest/bin/promtool" github.com/prometheus/prometheus/cmd/promtool
    # The server for the e2e: API only (builtinassets off, no UI assets), kubernetes_sd_configs its only discovery.
    go build -trimpath -tags remove_all_sd,enable_kubernetes_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
      -o "$dest/bin/prometheus" github.com/prometheus/prometheus/cmd/prometheus
    ;;
  minio)
    go build -trimpath -ldflags "-s -w" -o "$dest/bin/minio" .
    ;;
  coredns)
    # GitCommit shows in `coredns -version`; the module version stands in for the commit upstream stamps there.
    go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" \
      -o "$dest/bin/coredns" .
    ;;
  kwok)
    # consts.Version is what `kwok --version` prints (upstream's hack/releases.sh stamps it the same way).
    go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${version#v}" -o "$dest/bin/kwok" \
      sigs.k8s.io/kwok/cmd/kwok
    # The kwok binary has no stages of its own (kwokctl writes them): the module's "fast" node and pod stages and
    # the lease heartbeat, beside the binary, for `kwok --config`.
    src=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
    mkdir -p "$dest/stages"
    cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" "$dest/stages/"
    ;;
  pause)
    command -v gcc >/dev/null || { echo "build.sh: gcc is missing (apt-get install -y gcc libc6-dev)" >&2; exit 1; }
    gcc "${cflags[@]}" -o "$dest/bin/pause" "$pause_src/linux/pause.c"
    ;;
esac
echo "$version" > "$dest/VERSION"
touch "$dest/.complete"
echo "build.sh: built $name $version in $(( $(date +%s) - start )) s" >&2
echo "$dest/bin"
