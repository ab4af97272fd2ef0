#!/usr/bin/env bash
# Prints a directory holding the Prometheus Operator CRDs the chart uses (PodMonitor, ServiceMonitor, PrometheusRule),
# the released YAMLs at the version pinned in go.mod beside this script (go.sum checks them):
#
#   kubectl apply --server-side -f "$(hack/tools/prometheus-operator-crds/crds.sh)"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=github.com/prometheus-operator/prometheus-operator
version=$(awk -v m="$module" '$1 == "require" && $2 == m { print $3 }' "$here/go.mod")
[ -n "$version" ] || { echo "crds.sh: no version of $module in $here/go.mod" >&2; exit 1; }
exec "$here/../module-files.sh" prometheus-operator-crds "$here" "$module" "$version" example/prometheus-operator-crd \
  monitoring.coreos.com_podmonitors.yaml monitoring.coreos.com_servicemonitors.yaml \
  monitoring.coreos.com_prometheusrules.yaml
