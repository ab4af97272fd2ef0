// Command minio runs the pinned MinIO server (same entry point as upstream's minio binary), used by the media tests
// as a real S3-compatible server.
package main

import (
	"os"

	minio "github.com/minio/minio/cmd"
)

func main() {
	minio.Main(os.Args)
}
