#!/usr/bin/env bash
# Loads the project's images into a containerd for the local node (kubelet's CRI namespace `k8s.io`).
#
#   e2e/images/import-images.sh [CONTAINERD_SOCKET]     (default: $CONTAINERD_ADDRESS or /run/containerd/containerd.sock)
#
# Builds what is missing first (e2e/images/build-images.sh, cached), then `ctr -n k8s.io image import` of each docker
# archive. The images keep their names (localhost/livestream-operator:<version>, localhost/livestream-transcoder:...),
# so pods reference them with imagePullPolicy: Never or IfNotPresent; nothing is pulled.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
address=${1:-${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}}
command -v ctr >/dev/null || { echo "import-images: ctr is missing (apt-get install -y containerd)" >&2; exit 1; }
[ -S "$address" ] || { echo "import-images: no containerd socket at $address" >&2; exit 1; }

"$here/build-images.sh" | while read -r tag id size archive; do
  echo "import-images: $tag ($id, $size) into $address" >&2
  ctr --address "$address" -n k8s.io image import "$archive" >&2
  echo "$tag $id"
done
