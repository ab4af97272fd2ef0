#!/usr/bin/env bash
# Prints a directory holding cert-manager's Certificate CRD (the chart's gateway.tls.certManager renders one), copied
# from the published Go module source at the version below, for the chart's server-side dry-run:
#
#   kubectl apply --server-side -f "$(hack/tools/cert-manager-crds/crds.sh)"
#
# The version is pinned here rather than in a go.mod: nothing is built from the module. `go mod download` outside a
# module checks the zip against the checksum database (GOSUMDB), so the YAML is exactly the released one. Cached
# outside the work tree like build.sh's tools; progress on stderr, the path alone on stdout.
set -euo pipefail

module=github.com/cert-manager/cert-manager
version=v1.21.2
kinds=(certificates)

dest=${LSO_CACHE:-$HOME/.cache/livestream-operator}/tools/cert-manager-crds-$version
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
echo "crds.sh: fetching $module $version" >&2
# Outside any module (an empty folder), so no go.mod is consulted or written.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$(cd "$work" && go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src/deploy/crds" ] || { echo "crds.sh: no CRD folder in $src" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
for k in "${kinds[@]}"; do
  cp "$src/deploy/crds/cert-manager.io_$k.yaml" "$dest/"
done
chmod u+w "$dest"/*.yaml
touch "$dest/.complete"
echo "$dest"
