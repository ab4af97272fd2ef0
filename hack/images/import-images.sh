#!/usr/bin/env bash
# Loads the project's images into a containerd for the local node (kubelet's CRI namespace `k8s.io`).
#
#   hack/images/import-images.sh [CONTAINERD_SOCKET [IMAGE...]]
#                         (socket default: $CONTAINERD_ADDRESS or /run/containerd/containerd.sock; IMAGE default: all)
#
# Builds what is missing first (hack/images/build-images.sh, cached), then `ctr -n k8s.io image import` of each docker
# archive: the operator, transcoder and gateway, the sandbox image (localhost/livestream-pause:<pause version>, containerd's
# sandbox_image), Redis (the chart's redis.image), MinIO and PostgreSQL (the chart's history.postgres.image). The
# images keep their names (checked with containerd 1.6.20: the `localhost/name:tag` of podman's docker archive stays as
# is, and the CRI plugin adds its sha256:<id> reference), so pods reference them with imagePullPolicy: Never or
# IfNotPresent; nothing is pulled.
# Prints `<tag> <image id>` per image.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
address=${1:-${CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}}
command -v ctr >/dev/null || { echo "import-images: ctr is missing (apt-get install -y containerd)" >&2; exit 1; }
[ -S "$address" ] || { echo "import-images: no containerd socket at $address" >&2; exit 1; }

"$here/build-images.sh" "${@:2}" | while read -r tag id size archive; do
  echo "import-images: $tag ($id, $size) into $address" >&2
  ctr --address "$address" -n k8s.io image import "$archive" >&2
  echo "$tag $id"
done
