//go:build tools

// Package tools pins the commands this module builds: promtool, and the Prometheus server the e2e scrapes the
// node's pods with (same module, so the rules and queries are checked and evaluated by the same version).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
