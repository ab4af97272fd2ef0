#!/usr/bin/env bash
# Prints a directory holding the Prometheus Operator CRDs the chart uses (PodMonitor, ServiceMonitor, PrometheusRule),
# copied from the published Go module source at the version pinned in go.mod beside this script:
#
#   kubectl apply --server-side -f "$(hack/tools/prometheus-operator-crds/crds.sh)"
#
# `go mod download` checks the module against go.sum, so the YAMLs are exactly the released ones. Cached outside the
# work tree like build.sh's tools; progress on stderr, the path alone on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=github.com/prometheus-operator/prometheus-operator
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 }' "$here/go.mod")
[ -n "$version" ] || { echo "crds.sh: no version of $module in $here/go.mod" >&2; exit 1; }
kinds=(podmonitors servicemonitors prometheusrules)

dest=${LSO_CACHE:-$HOME/.cache/livestream-operator}/tools/prometheus-operator-crds-$version
if [ -f "$dest/.complete" ]; then
  echo "$dest"
  exit 0
fi
echo "crds.sh: fetching $module $version" >&2
src=$(cd "$here" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src/example/prometheus-operator-crd" ] || { echo "crds.sh: no CRD folder in $src" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest"
for k in "${kinds[@]}"; do
  cp "$src/example/prometheus-operator-crd/monitoring.coreos.com_$k.yaml" "$dest/"
done
chmod u+w "$dest"/*.yaml
touch "$dest/.complete"
echo "$dest"
