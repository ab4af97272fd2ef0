#!/usr/bin/env bash
# Makes a base image rootfs with debootstrap (no registry, no pulls) and prints the path of its tarball.
#
#   hack/images/build-base.sh operator|transcoder|redis|postgres -> prints  $LSO_CACHE/images/base-<flavor>-<hash>/rootfs.tar
#
# operator:   Debian bookworm minbase + ca-certificates
# transcoder: the same + ffmpeg (no Recommends)
# redis:      Debian bookworm minbase + redis-server (and redis-cli), for the chart's bundled Redis (its default
#             image, redis:*-alpine, cannot be pulled here). The package's `redis` user is renumbered to 999:999, the
#             uid the chart runs it as (and the official images use); /data exists, owned by it.
# postgres:   Debian bookworm minbase + postgresql-15, for the chart's bundled session-history database
#             (hack/images/postgres.Dockerfile runs it as 10001 with its own entrypoint).
# All: apt caches and lists removed, docs/man/locales dropped, user and group 10001 (`app`, home /tmp, no login).
# Node is not in the base: the Dockerfiles copy the repo's Node 24 binary (node_modules/node) on top.
#
# The cache key hashes this script, the package list and the mirror, so a changed list builds a new entry and an
# unchanged one is never rebuilt. `.complete` is written last: an interrupted build is redone, never half-used.
# Progress goes to stderr, the path alone to stdout; packages.tsv next to rootfs.tar lists the installed packages
# and versions. Needs root (debootstrap) and the Debian mirror apt uses.
set -euo pipefail

flavor=${1:?usage: build-base.sh operator|transcoder|redis|postgres}
case "$flavor" in
  operator) packages=ca-certificates ;;
  transcoder) packages=ca-certificates,ffmpeg ;;
  redis) packages=redis-server ;;
  postgres) packages=postgresql-15 ;;
  *) echo "build-base.sh: unknown flavor '$flavor' (operator|transcoder|redis|postgres)" >&2; exit 2 ;;
esac
suite=bookworm
uid=10001

# The mirror apt already uses here (deb822 URIs: or a one-line `deb URL bookworm`), so no other host is contacted.
mirror=${LSO_DEBIAN_MIRROR:-$(
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '/^URIs:/ && $2 ~ /\/debian\/?$/ { print $2; exit } /^deb / && $3 == "bookworm" { print $2; exit }' || true
)}
mirror=${mirror:-http://deb.debian.org/debian}

cache_root=${LSO_CACHE:-$HOME/.cache/livestream-operator}/images
mkdir -p "$cache_root"
exec 9>"$cache_root/base-$flavor.lock"
flock 9

hash=$( (cat "${BASH_SOURCE[0]}"; echo "$suite $packages $mirror") | sha256sum | cut -c1-12)
dest="$cache_root/base-$flavor-$hash"
if [ -f "$dest/.complete" ]; then
  echo "$dest/rootfs.tar"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "build-base.sh: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
root="$dest/rootfs"
start=$(date +%s)
echo "build-base.sh: debootstrap --variant=minbase $suite + $packages from $mirror (cache miss: $dest)" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$dest/debootstrap.log" 2>&1 || {
  tail -n 20 "$dest/debootstrap.log" >&2
  exit 1
}

# Runtime-only content: no package caches or lists, no docs beyond copyright notices, no man pages or locales.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/debootstrap
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
# The non-root user the containers run as; HOME is /tmp, which the pod mounts writable.
echo "app:x:$uid:$uid:livestream-operator:/tmp:/usr/sbin/nologin" >>"$root/etc/passwd"
echo "app:x:$uid:" >>"$root/etc/group"
echo "app:!:$(($(date +%s) / 86400)):0:99999:7:::" >>"$root/etc/shadow"
if [ "$flavor" = redis ]; then
  # The chart runs redis-server as 999:999 (runAsUser, fsGroup): give the package's system user that id, so the
  # files the package owns (/var/lib/redis, /etc/redis) and the image's USER agree with the pod. Renumbered by
  # rewriting the entries and chown-ing by the old numbers (no chroot, no usermod in the rootfs).
  old_uid=$(awk -F: '$1 == "redis" { print $3 }' "$root/etc/passwd")
  old_gid=$(awk -F: '$1 == "redis" { print $3 }' "$root/etc/group")
  if awk -F: '$3 == 999 && $1 != "redis" { found = 1 } END { exit !found }' "$root/etc/passwd" "$root/etc/group"; then
    echo "build-base.sh: uid or gid 999 is taken in the redis rootfs" >&2
    exit 1
  fi
  find "$root" -xdev -uid "$old_uid" -exec chown -h 999 {} +
  find "$root" -xdev -gid "$old_gid" -exec chgrp -h 999 {} +
  sed -i "s/^redis:x:$old_uid:$old_gid:/redis:x:999:999:/" "$root/etc/passwd"
  sed -i "s/^redis:x:$old_gid:/redis:x:999:/" "$root/etc/group"
  # Redis's working directory; the pod mounts an emptyDir over it, a plain `podman run` writes here.
  install -d -m 0750 -o 999 -g 999 "$root/data"
fi
# No machine identity or host resolver baked in: the runtime provides them.
: >"$root/etc/machine-id"
rm -f "$root/etc/resolv.conf" "$root/etc/hostname"

# The installed packages and their versions, for image tags and for telling what a base holds without unpacking it.
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\t${Version}\n' >"$dest/packages.tsv"
tar --numeric-owner --xattrs -C "$root" -cf "$dest/rootfs.tar" .
rm -rf "$root"
touch "$dest/.complete"
echo "build-base.sh: $flavor base $(du -m "$dest/rootfs.tar" | cut -f1) MB in $(($(date +%s) - start)) s" >&2
echo "$dest/rootfs.tar"
