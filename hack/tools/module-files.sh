#!/usr/bin/env bash
# Prints a cached directory holding files copied from a published Go module's source (the CRDs of the projects the
# chart renders objects of, for server-side dry-runs). `go mod download` checks the module's zip: against go.sum when
# run in the directory of a go.mod that requires it, else against the checksum database. Cached outside the work
# tree by name and version like build.sh's tools; progress on stderr, the path alone on stdout.
#
#   module-files.sh <cache name> <go.mod dir, or - for none> <module> <version> <folder in the module> <file>...
set -euo pipefail

name=$1 moddir=$2 module=$3 version=$4 folder=$5
shift 5
dest=${LSO_CACHE:-$HOME/.cache/livestream-operator}/tools/$name-$version
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
echo "module-files.sh: fetching $module $version" >&2
if [ "$moddir" = - ]; then
  # Outside any module (an empty folder), so no go.mod is consulted or written.
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  src=$(cd "$work" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
else
  src=$(cd "$moddir" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
fi
[ -d "$src/$folder" ] || { echo "module-files.sh: no $folder in $src" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
for f in "$@"; do cp "$src/$folder/$f" "$dest/"; done
chmod u+w "$dest"/*
touch "$dest/.complete"
echo "$dest"
