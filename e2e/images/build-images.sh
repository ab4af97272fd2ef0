#!/usr/bin/env bash
# Builds the operator and transcoder images with podman on the project's own debootstrap bases, and exports each as
# a docker archive into the cache (for `ctr -n k8s.io image import` on the node: e2e/images/import-images.sh).
#
#   e2e/images/build-images.sh            -> one line per image on stdout:  <tag> <image id> <size MB> <archive>
#
# Cached: the bases by images/build-base.sh; the production node_modules by a hash of package-lock.json; each image
# by a hash of its base, its Dockerfile and the staged context. An unchanged tree rebuilds nothing (and reloads the
# archive into podman if the podman store lost the image). Progress goes to stderr.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)
cache_root=${LSO_CACHE:-$HOME/.cache/livestream-operator}/images
node_bin="$repo/node_modules/node/bin/node"
# podman on this VM cannot raise rlimits beyond the hard limits (see NOTES.md).
podman=(podman)
run_limits=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

log() { echo "build-images: $*" >&2; }
ms() { date +%s%N | cut -c1-13; }
command -v podman >/dev/null || { log "podman is missing (apt-get install -y podman buildah)"; exit 1; }
[ -x "$node_bin" ] || { log "$node_bin is missing: run make deps"; exit 1; }
mkdir -p "$cache_root"
exec 9>"$cache_root/build-images.lock"
flock 9

# Production node_modules, once per lockfile: `npm ci --omit=dev` in a staging dir, from npm's local cache.
lock_hash=$( (cat "$repo/package-lock.json" "$repo/package.json"; "$node_bin" --version) | sha256sum | cut -c1-12)
prod="$cache_root/node-modules-prod-$lock_hash"
if [ ! -f "$prod/.complete" ]; then
  t=$(ms)
  log "npm ci --omit=dev into $prod"
  rm -rf "$prod" && mkdir -p "$prod"
  cp "$repo/package.json" "$repo/package-lock.json" "$prod/"
  (cd "$prod" && PATH="$repo/node_modules/.bin:$PATH" npm ci --omit=dev --ignore-scripts --prefer-offline \
    --no-audit --no-fund --loglevel=error >&2)
  touch "$prod/.complete"
  log "production node_modules: $(du -sm "$prod/node_modules" | cut -f1) MB in $(($(ms) - t)) ms"
fi

# The build context: the node binary and app/ (package.json for "type": "module", the sources without tests or
# benchmarks, production node_modules hard-linked from the cache).
ctx="$cache_root/context"
rm -rf "$ctx" && mkdir -p "$ctx/app"
cp "$node_bin" "$ctx/node"
cp "$repo/package.json" "$ctx/app/"
tar -C "$repo" -cf - --exclude='*.test.ts' --exclude='bench-*' --exclude='testing' --exclude='__golden__' operator/src transcoder/src |
  tar -C "$ctx/app" -xf -
cp -al "$prod/node_modules" "$ctx/app/node_modules"
ctx_hash=$(tar -C "$ctx" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | sha256sum | cut -c1-12)

for kind in operator transcoder; do
  t=$(ms)
  rootfs=$("$repo/images/build-base.sh" "$kind")
  base_hash=$(basename "$(dirname "$rootfs")" | sed 's/.*-//')
  base_ref="localhost/livestream-base-$kind:$base_hash"
  if ! "${podman[@]}" image exists "$base_ref"; then
    log "importing $rootfs as $base_ref"
    "${podman[@]}" import --quiet "$rootfs" "$base_ref" >/dev/null
  fi

  tag="localhost/livestream-$kind:$version"
  key=$( (echo "$base_hash $ctx_hash"; cat "$repo/images/$kind.Dockerfile") | sha256sum | cut -c1-12)
  archive="$cache_root/livestream-$kind-$version-$key.docker.tar"
  have=$("${podman[@]}" image inspect --format '{{index .Labels "dev.livestream-operator.build-key"}}' "$tag" 2>/dev/null ||
    true)
  if [ "$have" = "$key" ] && [ -f "$archive" ]; then
    log "$tag up to date (key $key)"
  elif [ -f "$archive" ]; then
    log "loading $tag from $archive"
    "${podman[@]}" load --quiet -i "$archive" >/dev/null
  else
    log "building $tag on $base_ref (key $key)"
    "${podman[@]}" build --quiet --pull=never --build-arg "BASE=$base_ref" \
      --label "dev.livestream-operator.build-key=$key" -f "$repo/images/$kind.Dockerfile" -t "$tag" "$ctx" >/dev/null
    rm -f "$cache_root/livestream-$kind-$version-"*.docker.tar
    "${podman[@]}" save --quiet --format docker-archive -o "$archive.tmp" "$tag"
    mv "$archive.tmp" "$archive"
  fi
  id=$("${podman[@]}" image inspect --format '{{.Id}}' "$tag" | cut -c1-12)
  size=$(("$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")" / 1000000))
  log "$tag ready in $(($(ms) - t)) ms"
  echo "$tag $id ${size}MB $archive"
done
rm -rf "$ctx"
