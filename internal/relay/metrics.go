package relay

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	alexCalls   *prometheus.HistogramVec
	uploadBytes prometheus.Counter
	inflight    prometheus.Gauge
	// rejected counts requests refused before they authenticated, which leave no
	// audit row; reason is a fixed word (enrol_code_unknown, bad_token, ...).
	rejected     *prometheus.CounterVec
	connsRefused prometheus.Counter
	auditPruned  prometheus.Counter
}

// newMetrics registers the relay's metrics on reg (a fresh registry when nil, so
// tests can run several servers in one process). Labels never carry connector or
// patient data: only operation and status.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clinicpro_relay_requests_total",
			Help: "Requests by operation and HTTP status."}, []string{"op", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clinicpro_relay_request_seconds",
			Help: "Request duration by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"op"}),
		alexCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clinicpro_relay_alex_seconds",
			Help: "ALEX call duration by operation and outcome.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"op", "outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "clinicpro_relay_upload_bytes_total",
			Help: "Document bytes received."}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "clinicpro_relay_inflight_requests",
			Help: "Requests being handled."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clinicpro_relay_rejected_total",
			Help: "Requests refused before they authenticated (not audited), by operation and reason."}, []string{"op", "reason"}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "clinicpro_relay_connections_refused_total",
			Help: "Connections closed on accept because their address already held max_conns_per_ip."}),
		auditPruned: prometheus.NewCounter(prometheus.CounterOpts{Name: "clinicpro_relay_audit_pruned_total",
			Help: "Audit rows deleted because they were older than audit_retention."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.alexCalls, m.uploadBytes, m.inflight, m.rejected, m.connsRefused, m.auditPruned} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AdminHandler serves /metrics (and /healthz) for the admin listener, which must not
// be reachable from the internet.
func AdminHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// NewMetricsRegistry returns a registry with the Go and process collectors, for the
// relay binary.
func NewMetricsRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}
