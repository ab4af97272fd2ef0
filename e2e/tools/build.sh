#!/usr/bin/env bash
# Builds the pinned test tools from their Go modules into a cache outside the work tree and prints the bin directory.
#
#   e2e/tools/build.sh kubernetes|etcd|helm|promtool|minio|coredns
#                                                  -> prints  $LSO_CACHE/tools/<name>-<version>-<hash>/bin
#
# The cache key is the tool's version plus a hash of its wrapper module (go.mod, go.sum, Go files) and the Go
# version, so a changed pin builds a new entry and an unchanged one is never rebuilt. A `.complete` marker is written
# last: an interrupted build is redone, never half-used. Progress goes to stderr, the path alone to stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${1:?usage: build.sh kubernetes|etcd|helm|promtool|minio|coredns}
moddir="$here/$name"
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
esac
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 } $1 == m { print $2 }' "$moddir/go.mod" | head -n 1)
[ -n "$version" ] || { echo "build.sh: no version of $module in $moddir/go.mod" >&2; exit 1; }

mkdir -p "$cache_root"
# One build per tool at a time: a second caller waits here and then finds the finished entry.
exec 9>"$cache_root/$name.lock"
flock 9

hash=$( (cd "$moddir" && cat go.mod go.sum ./*.go; go env GOVERSION) | sha256sum | cut -c1-12)
dest="$cache_root/$name-$version-$hash"
if [ -f "$dest/.complete" ]; then
  echo "$dest/bin"
  exit 0
fi

rm -rf "$dest"
mkdir -p "$dest/bin"
echo "build.sh: building $name $version (cache miss: $dest); the first build takes minutes" >&2
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
    ;;
  minio)
    go build -trimpath -ldflags "-s -w" -o "$dest/bin/minio" .
    ;;
  coredns)
    # GitCommit shows in `coredns -version`; the module version stands in for the commit upstream stamps there.
    go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" \
      -o "$dest/bin/coredns" .
    ;;
esac
echo "$version" > "$dest/VERSION"
touch "$dest/.complete"
echo "build.sh: built $name $version in $(( $(date +%s) - start )) s" >&2
echo "$dest/bin"
