#!/usr/bin/env bash
# Builds the project's images and the cluster images the local node needs with podman, on the project's own
# debootstrap bases or FROM scratch, and exports each as a docker archive into the cache (for
# `ctr -n k8s.io image import` on the node: hack/images/import-images.sh). Nothing is pulled from a registry.
#
#   hack/images/build-images.sh [--oci] [IMAGE...]  -> one line per image on stdout:  <tag> <image id> <size MB> <archive>
#
# --oci (what `make images` passes) also writes an OCI archive per image to a stable path, for other clusters:
# ${LSO_OCI_DIR:-$LSO_CACHE/images/oci}/livestream-<image>.oci.tar, and prints how kind, k3d and containerd import
# them. The operator, transcoder and gateway archives carry the chart's default references (values.yaml, as the kubelet
# resolves them: docker.io/library/livestream-operator:<version>), so a plain `helm install` finds them; the others
# keep their localhost/ names (the chart's Redis default is pullable; see the chart README for ours).
#
# IMAGE is operator, transcoder, gateway, pause, redis, minio or postgres; default all, in that order:
#   localhost/livestream-operator:<package.json version>, localhost/livestream-transcoder:<same>
#   localhost/livestream-gateway:<same>           on the transcoder's base (ffmpeg for WHIP), staged with contract/ and gateway/ only
#   localhost/livestream-pause:<pause version>   the pod sandbox image (containerd's sandbox_image), upstream's
#                                                 pause.c from the pinned k8s.io/kubernetes (hack/tools/build.sh pause)
#   localhost/livestream-redis:<redis version>   Debian's redis-server (hack/images/build-base.sh redis), uid 999: the
#                                                 chart's bundled Redis (redis.image.repository/tag)
#   localhost/livestream-minio:<module version>  the MinIO server from hack/tools/build.sh minio, FROM scratch
#   localhost/livestream-postgres:<version>      Debian's PostgreSQL (hack/images/build-base.sh postgres), uid 10001:
#                                                 the chart's history database (history.postgres.image)
#
# Cached: the bases by hack/images/build-base.sh, the binaries by hack/tools/build.sh; the production node_modules by a
# hash of package-lock.json; each image by a hash of its base (or binary), its Dockerfile and the staged context. An
# unchanged tree rebuilds nothing (and reloads the archive into podman if the podman store lost the image). Progress
# goes to stderr.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)
cache_root=${LSO_CACHE:-$HOME/.cache/livestream-operator}/images
node_bin="$repo/node_modules/node/bin/node"
# Builds run no container (no RUN steps), so podman needs no --runtime here; `podman run` does (runc: see NOTES.md).
podman=(podman)

log() { echo "build-images: $*" >&2; }
ms() { date +%s%N | cut -c1-13; }
all=(operator transcoder gateway pause redis minio postgres)
oci_dir=
if [ "${1:-}" = --oci ]; then
  oci_dir=${LSO_OCI_DIR:-$cache_root/oci}
  shift
fi
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")
for w in "${wanted[@]}"; do
  case " ${all[*]} " in *" $w "*) ;; *) log "unknown image '$w' (${all[*]})"; exit 2 ;; esac
done
want() { case " ${wanted[*]} " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

command -v podman >/dev/null || { log "podman is missing (apt-get install -y podman buildah)"; exit 1; }
mkdir -p "$cache_root" ${oci_dir:+"$oci_dir"}
exec 9>"$cache_root/build-images.lock"
flock 9

# Imports a debootstrap base (hack/images/build-base.sh FLAVOR) into podman once and prints its reference, which is
# tagged with the base's cache hash: a rebuilt base gets a new reference, hence new image keys.
base() {
  local rootfs hash ref
  rootfs=$("$repo/hack/images/build-base.sh" "$1")
  hash=$(basename "$(dirname "$rootfs")" | sed 's/.*-//')
  ref="localhost/livestream-base-$1:$hash"
  if ! "${podman[@]}" image exists "$ref"; then
    log "importing $rootfs as $ref"
    "${podman[@]}" import --quiet "$rootfs" "$ref" >/dev/null
  fi
  echo "$ref"
}

# Builds images/NAME.Dockerfile from context CTX as TAG unless an image or archive with build key KEY exists, then
# prints the image's line. The key is a label on the image and part of the archive's name. Extra arguments go to
# `podman build` (--build-arg BASE=...).
image() {
  local name=$1 tag=$2 key=$3 ctx=$4 t have archive id size
  shift 4
  t=$(ms)
  archive="$cache_root/livestream-$name-${tag##*:}-$key.docker.tar"
  have=$("${podman[@]}" image inspect --format '{{index .Labels "dev.livestream-operator.build-key"}}' "$tag" \
    2>/dev/null || true)
  if [ "$have" = "$key" ] && [ -f "$archive" ]; then
    log "$tag up to date (key $key)"
  elif [ -f "$archive" ]; then
    log "loading $tag from $archive"
    "${podman[@]}" load --quiet -i "$archive" >/dev/null
  else
    log "building $tag (key $key)"
    "${podman[@]}" build --quiet --pull=never "$@" --label "dev.livestream-operator.build-key=$key" \
      -f "$repo/hack/images/$name.Dockerfile" -t "$tag" "$ctx" >/dev/null
    rm -f "$cache_root/livestream-$name-${tag##*:}-"*.docker.tar
    "${podman[@]}" save --quiet --format docker-archive -o "$archive.tmp" "$tag"
    mv "$archive.tmp" "$archive"
  fi
  id=$("${podman[@]}" image inspect --format '{{.Id}}' "$tag" | cut -c1-12)
  size=$(("$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")" / 1000000))
  [ -z "$oci_dir" ] || oci_archive "$name" "$tag" "$key"
  log "$tag ready in $(($(ms) - t)) ms"
  echo "$tag $id ${size}MB $archive"
}

# The reference the chart's values.yaml gives SECTION's image by default, as containerd's CRI resolves it (a bare
# name is docker.io/library/NAME), with TAG's tag; empty when the chart has no such image.
chart_ref() {
  local repository
  repository=$(awk -v s="$1:" '/^[^ #]/ { top = $1 } top == s && /^  image:/ { img = 1; next }
    img && /^    repository:/ { print $2; exit } /^  [^ ]/ { img = 0 }' "$repo/charts/livestream-operator/values.yaml")
  [ -n "$repository" ] || return 0
  case "$repository" in
    */*) case "${repository%%/*}" in *.* | *:* | localhost) ;; *) repository="docker.io/$repository" ;; esac ;;
    *) repository="docker.io/library/$repository" ;;
  esac
  echo "$repository:${2##*:}"
}

# Writes $oci_dir/livestream-NAME.oci.tar for TAG unless its .key names this build KEY already. The operator,
# transcoder and gateway archives are named with the chart's default reference (tagged in podman for the save, then
# untagged).
oci_archive() {
  local name=$1 tag=$2 key=$3 file="$oci_dir/livestream-$1.oci.tar" ref=$2
  case "$name" in operator | transcoder | gateway) ref=$(chart_ref "$name" "$tag") && ref=${ref:-$tag} ;; esac
  if [ -f "$file" ] && [ "$(cat "$file.key" 2>/dev/null)" = "$key $ref" ]; then return 0; fi
  log "writing $file ($ref)"
  [ "$ref" = "$tag" ] || "${podman[@]}" tag "$tag" "$ref"
  "${podman[@]}" save --quiet --format oci-archive -o "$file.tmp" "$ref"
  [ "$ref" = "$tag" ] || "${podman[@]}" untag "$ref" "$ref"
  mv "$file.tmp" "$file"
  echo "$key $ref" >"$file.key"
}

# A reproducible hash of a staged context directory (names, modes, contents; not times or the host's owners).
tree_hash() { tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "${@:2}" . | sha256sum | cut -c1-12; }

if want operator || want transcoder || want gateway; then
  [ -x "$node_bin" ] || { log "$node_bin is missing: run make deps"; exit 1; }
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

  # A build context DIR: the node binary and app/ (package.json for "type": "module", the sources SRC... without
  # tests or benchmarks, production node_modules hard-linked from the cache). Prints its hash.
  stage() {
    local dir=$1
    rm -rf "$dir" && mkdir -p "$dir/app"
    cp "$node_bin" "$dir/node"
    cp "$repo/package.json" "$dir/app/"
    tar -C "$repo" -cf - --exclude='*.test.ts' --exclude='__golden__' "${@:2}" | tar -C "$dir/app" -xf -
    cp -al "$prod/node_modules" "$dir/app/node_modules"
    tree_hash "$dir"
  }

  # KIND from context CTX (hash CTX_HASH) on the base FLAVOR.
  node_image() {
    local kind=$1 ctx=$2 ctx_hash=$3 base_ref key
    base_ref=$(base "$4")
    key=$( (echo "${base_ref##*:} $ctx_hash"; cat "$repo/hack/images/$kind.Dockerfile") | sha256sum | cut -c1-12)
    image "$kind" "localhost/livestream-$kind:$version" "$key" "$ctx" --build-arg "BASE=$base_ref"
  }

  if want operator || want transcoder; then
    ctx="$cache_root/context"
    ctx_hash=$(stage "$ctx" contract/src operator/src transcoder/src)
    for kind in operator transcoder; do
      if want "$kind"; then node_image "$kind" "$ctx" "$ctx_hash" "$kind"; fi
    done
    rm -rf "$ctx"
  fi
  if want gateway; then
    # The gateway imports only contract/ (the lint's boundary), so nothing else is staged.
    ctx="$cache_root/context-gateway"
    ctx_hash=$(stage "$ctx" contract/src gateway/src)
    # The transcoder's base: its ffmpeg runs each WHIP session's media bridge (Opus to AAC, RTMP to the channel).
    node_image gateway "$ctx" "$ctx_hash" transcoder
    rm -rf "$ctx"
  fi
fi

# The binaries' cache entries are named <tool>-<version>-<hash of their sources and toolchain>: that name stands
# for the binary in the image keys (hashing a 100 MB binary on every run would cost more than it tells).
if want pause; then
  bin=$("$repo/hack/tools/build.sh" pause)
  # VERSION is v<pause version>-<kubernetes version> (v3.10.2-v1.36.3); the tag is the pause version, as upstream's.
  pause_version=$(sed 's/^v//; s/-.*//' "$bin/../VERSION")
  ctx="$cache_root/context-pause"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$bin/pause" "$ctx/pause"
  key=$( (basename "$(dirname "$bin")"; cat "$repo/hack/images/pause.Dockerfile") | sha256sum | cut -c1-12)
  image pause "localhost/livestream-pause:$pause_version" "$key" "$ctx"
  rm -rf "$ctx"
fi

if want redis; then
  base_ref=$(base redis)
  # Tagged with Debian's upstream version of redis-server (5:7.0.15-1~deb12u7 -> 7.0.15), from the base's list.
  redis_version=$(awk -F'\t' '$1 == "redis-server" { v = $2; sub(/^[0-9]+:/, "", v); sub(/-[^-]*$/, "", v); print v }' \
    "$cache_root/base-redis-${base_ref##*:}/packages.tsv")
  [ -n "$redis_version" ] || { log "no redis-server in the redis base's packages.tsv"; exit 1; }
  ctx="$cache_root/context-redis"
  rm -rf "$ctx" && mkdir -p "$ctx"
  key=$( (echo "${base_ref##*:}"; cat "$repo/hack/images/redis.Dockerfile") | sha256sum | cut -c1-12)
  image redis "localhost/livestream-redis:$redis_version" "$key" "$ctx" --build-arg "BASE=$base_ref"
  rm -rf "$ctx"
fi

if want minio; then
  bin=$("$repo/hack/tools/build.sh" minio)
  ctx="$cache_root/context-minio"
  rm -rf "$ctx" && mkdir -p "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/data"
  # FROM scratch: the files a static Go server still looks for. A passwd entry for its uid (Go's os/user reads
  # /etc/passwd when cgo is off), /tmp writable by anyone (HOME), /data for the uid (mode kept by COPY).
  printf 'root:x:0:0:root:/root:/sbin/nologin\nminio:x:10001:10001:minio:/tmp:/sbin/nologin\n' >"$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\nminio:x:10001:\n' >"$ctx/rootfs/etc/group"
  chmod 1777 "$ctx/rootfs/tmp"
  chmod 0750 "$ctx/data"
  key=$( (basename "$(dirname "$bin")"; tree_hash "$ctx"; cat "$repo/hack/images/minio.Dockerfile") | sha256sum | cut -c1-12)
  cp -l "$bin/minio" "$ctx/minio" 2>/dev/null || cp "$bin/minio" "$ctx/minio"
  image minio "localhost/livestream-minio:$(cat "$bin/../VERSION")" "$key" "$ctx"
  rm -rf "$ctx"
fi

if want postgres; then
  base_ref=$(base postgres)
  # The server package is postgresql-<major>; tagged with Debian's upstream version (15.18-0+deb12u1 -> 15.18).
  read -r pg_major pg_version < <(awk -F'\t' '$1 ~ /^postgresql-[0-9]+$/ { m = substr($1, 12); v = $2
    sub(/^[0-9]+:/, "", v); sub(/-[^-]*$/, "", v); print m, v; exit }' "$cache_root/base-postgres-${base_ref##*:}/packages.tsv")
  [ -n "${pg_version:-}" ] || { log "no postgresql-<major> in the postgres base's packages.tsv"; exit 1; }
  ctx="$cache_root/context-postgres"
  rm -rf "$ctx" && mkdir -p "$ctx/data"
  chmod 0700 "$ctx/data"
  cp "$repo/hack/images/postgres-entrypoint.sh" "$ctx/"
  key=$( (echo "${base_ref##*:} $pg_major"; cat "$repo/hack/images/postgres.Dockerfile" "$ctx/postgres-entrypoint.sh") |
    sha256sum | cut -c1-12)
  image postgres "localhost/livestream-postgres:$pg_version" "$key" "$ctx" --build-arg "BASE=$base_ref" \
    --build-arg "PG_MAJOR=$pg_major"
  rm -rf "$ctx"
fi

if [ -n "$oci_dir" ]; then
  log "OCI archives in $oci_dir; import them into the cluster's nodes with one of:"
  for w in "${wanted[@]}"; do log "  kind load image-archive $oci_dir/livestream-$w.oci.tar [--name CLUSTER]"; done
  log "  k3d image import $oci_dir/*.oci.tar [-c CLUSTER]"
  log "  ctr -n k8s.io images import $oci_dir/livestream-<image>.oci.tar   (on each containerd node)"
fi
