// Command coredns runs the pinned CoreDNS server (same entry point as upstream's coredns binary) with its default
// plugin set (plugin.cfg: kubernetes, forward, cache, errors, health, ready, loop, reload, loadbalance, log, ...):
// the cluster DNS of the local single-node Kubernetes the end-to-end tests bring up.
package main

import (
	_ "github.com/coredns/coredns/core/plugin" // the default plugins, registered in plugin.cfg order
	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
