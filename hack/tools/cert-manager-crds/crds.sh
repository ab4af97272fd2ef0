#!/usr/bin/env bash
# Prints a directory holding cert-manager's Certificate CRD (the chart's gateway.tls.certManager renders one), the
# released YAML at the version below, for the chart's server-side dry-run:
#
#   kubectl apply --server-side -f "$(hack/tools/cert-manager-crds/crds.sh)"
#
# The version is pinned here rather than in a go.mod: nothing is built from the module (the checksum database
# checks it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$here/../module-files.sh" cert-manager-crds - github.com/cert-manager/cert-manager v1.21.2 deploy/crds \
  cert-manager.io_certificates.yaml
