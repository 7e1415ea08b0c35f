package httpapi

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP metrics of one process.
type Metrics struct {
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	observers sync.Map // observerKey: prometheus.Observer, bound once
}

type observerKey struct {
	route, method string
	status        int
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "chirper",
			Name:      "http_request_duration_seconds",
			Help:      "Time to answer HTTP requests, by route template, method and status.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "chirper",
			Name:      "http_requests_in_flight",
			Help:      "HTTP requests being answered now.",
		}),
	}
	reg.MustRegister(m.duration, m.inFlight)
	return m
}

// observer returns the duration histogram of one route, method and
// status, bound to its labels the first time it is asked for.
func (m *Metrics) observer(route, method string, status int) prometheus.Observer {
	k := observerKey{route, method, status}
	if o, ok := m.observers.Load(k); ok {
		return o.(prometheus.Observer)
	}
	o := m.duration.WithLabelValues(route, method, strconv.Itoa(status))
	m.observers.Store(k, o)
	return o
}
