//go:build tools

// Package tools pins kwok, which runs pods on fake nodes (no container runs) so that a fleet benchmark on two cores
// sees thousands of channels' Deployments become Running pods.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
