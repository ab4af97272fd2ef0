// Pins the Prometheus Operator release whose CRDs (PodMonitor, ServiceMonitor, PrometheusRule) the tests apply
// before the chart's monitoring objects. Nothing is built: crds.sh copies the YAMLs out of the module source.
// Do not run `go mod tidy` here: nothing imports the module, so tidy would drop the pin.
module livestream-operator/e2e/tools/prometheus-operator-crds

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.85.0
