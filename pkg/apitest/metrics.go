package apitest

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Metric reads one sample, such as `chirper_cache_hits_total{cache="chirps"}`,
// from the /metrics of an admin listener.
func Metric(tb testing.TB, adminURL, name string) float64 {
	tb.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return f
		}
	}
	tb.Fatalf("no metric %s", name)
	return 0
}
