package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// latency is a latency distribution in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	// Curve is the percentile distribution for the chart: [percentile, ms] pairs.
	Curve [][2]float64 `json:"curve,omitempty"`
}

// stepResult is one rate step's outcome.
type stepResult struct {
	Rate             float64 `json:"rate"` // messages per second offered
	Sent             int64   `json:"sent"`
	Failed           int64   `json:"failed"`
	Late             int64   `json:"lateSends"` // sends that started >100 ms after due: the generator fell behind
	Expected         int64   `json:"expected"`
	Delivered        int64   `json:"delivered"`
	Lost             int64   `json:"lost"`
	Duplicated       int64   `json:"duplicated"`
	Seconds          float64 `json:"seconds"`
	DeliveriesPerSec float64 `json:"deliveriesPerSec"`
	Latency          latency `json:"latencyMs"`
	ServerCPUSeconds float64 `json:"serverCpuSeconds"`
	ServerCPUPerM    float64 `json:"serverCpuSecondsPerMillionDeliveries"`
	ServerCPUPercent float64 `json:"serverCpuPercent"`
	GenCPUSeconds    float64 `json:"generatorCpuSeconds"`
	GenCPUPercent    float64 `json:"generatorCpuPercent"`
	ServerRSSMiB     float64 `json:"serverRssMiB"`
	// Sustained: nothing lost or failed, p99 under the bound, and the sender kept up.
	Sustained bool `json:"sustained"`
}

// runResult is the JSON result file of one run.
type runResult struct {
	Target     string       `json:"target"`
	Preset     string       `json:"preset"`
	Config     config       `json:"config"`
	Conditions conditions   `json:"conditions"`
	Idle       *idleResult  `json:"idle,omitempty"`
	Steps      []stepResult `json:"steps,omitempty"`
	// BestSustained is the highest deliveries/s of a sustained step.
	BestSustained float64        `json:"bestSustainedDeliveriesPerSec"`
	LostConns     int64          `json:"lostConnections"`
	History       *historyResult `json:"history,omitempty"`
}

type conditions struct {
	Start       time.Time `json:"start"`
	LoadBefore  string    `json:"loadAvgBefore"`
	LoadAfter   string    `json:"loadAvgAfter"`
	NumCPU      int       `json:"numCpu"`
	GoVersion   string    `json:"goVersion"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	ServerPIDs  []int     `json:"serverPids"`
	Connections int       `json:"connections"`
}

// idleResult is the idle scenario's measure: memory per connection and CPU at rest.
type idleResult struct {
	Connections      int     `json:"connections"`
	RSSBeforeMiB     float64 `json:"rssBeforeMiB"`
	RSSAfterMiB      float64 `json:"rssAfterMiB"`
	KiBPerConn       float64 `json:"kibPerConnection"`
	HoldSeconds      float64 `json:"holdSeconds"`
	ServerCPUPercent float64 `json:"serverCpuPercentAtRest"`
	GenKiBPerConn    float64 `json:"generatorKibPerConnection"`
}

func (r *runner) result(s *stepStats, before, after procSample, start, sendEnd, end time.Time, gen time.Duration) stepResult {
	h := s.merged()
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	lat := latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(h.Max()) / 1000}
	for _, q := range []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100} {
		lat.Curve = append(lat.Curve, [2]float64{q, ms(q)})
	}
	secs := end.Sub(start).Seconds()
	cpu := (after.cpu - before.cpu).Seconds()
	res := stepResult{
		Rate: s.rate, Sent: s.sent.Load(), Failed: s.failed.Load(), Late: s.late.Load(),
		Expected: s.expected.Load(), Delivered: s.uniq.Load(), Duplicated: s.dups.Load(),
		Seconds: secs, Latency: lat,
		ServerCPUSeconds: cpu, ServerCPUPercent: 100 * cpu / secs,
		GenCPUSeconds: gen.Seconds(), GenCPUPercent: 100 * gen.Seconds() / secs,
		ServerRSSMiB: float64(after.rssKiB) / 1024,
	}
	res.Lost = max(0, res.Expected-res.Delivered)
	// Deliveries per second over the sending window: a server that falls behind shows
	// it as latency and, past the drain time, as losses.
	res.DeliveriesPerSec = float64(res.Delivered) / sendEnd.Sub(start).Seconds()
	if res.Delivered > 0 {
		res.ServerCPUPerM = cpu / float64(res.Delivered) * 1e6
	}
	res.Sustained = res.Lost == 0 && res.Failed == 0 && res.Duplicated == 0 && res.Delivered > 0 &&
		lat.P99 < r.cfg.P99Bound.Seconds()*1000 && float64(res.Late) < 0.01*float64(res.Sent+1)
	return res
}

func newConditions(pids []int, conns int) conditions {
	return conditions{
		Start: time.Now().UTC(), LoadBefore: loadAvg(), NumCPU: runtime.NumCPU(),
		GoVersion: runtime.Version(), GOMAXPROCS: runtime.GOMAXPROCS(0), ServerPIDs: pids, Connections: conns,
	}
}

// printTable writes the run's final table.
func printTable(w io.Writer, res *runResult) {
	fmt.Fprintf(w, "\n== %s %s: %d connections, load before %s, after %s\n", res.Target, res.Preset,
		res.Conditions.Connections, res.Conditions.LoadBefore, res.Conditions.LoadAfter)
	if id := res.Idle; id != nil {
		fmt.Fprintf(w, "idle: %d connections, server RSS %.1f -> %.1f MiB = %.1f KiB/connection; server CPU at rest %.1f%% of a core; generator %.1f KiB/connection\n",
			id.Connections, id.RSSBeforeMiB, id.RSSAfterMiB, id.KiBPerConn, id.ServerCPUPercent, id.GenKiBPerConn)
	}
	if len(res.Steps) > 0 {
		fmt.Fprintf(w, "%8s %9s %10s %6s %5s %10s %8s %8s %8s %8s %8s %8s %9s %8s %7s %s\n",
			"msg/s", "sent", "delivered", "lost", "dups", "deliv/s", "p50ms", "p90ms", "p99ms", "p99.9ms", "maxms",
			"srvCPU%", "cpuS/Mdel", "genCPU%", "rssMiB", "ok")
		for _, s := range res.Steps {
			ok := "yes"
			if !s.Sustained {
				ok = "NO"
			}
			fmt.Fprintf(w, "%8.0f %9d %10d %6d %5d %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.0f %9.2f %8.0f %7.0f %s\n",
				s.Rate, s.Sent, s.Delivered, s.Lost, s.Duplicated, s.DeliveriesPerSec, s.Latency.P50, s.Latency.P90,
				s.Latency.P99, s.Latency.P999, s.Latency.Max, s.ServerCPUPercent, s.ServerCPUPerM, s.GenCPUPercent, s.ServerRSSMiB, ok)
		}
		fmt.Fprintf(w, "best sustained: %.0f deliveries/s (p99 < %s, nothing lost)\n", res.BestSustained, res.Config.P99Bound)
	}
	if h := res.History; h != nil {
		fmt.Fprintf(w, "history: %d reconnects, %d missed messages replayed (%d lost, %d dups); recovery p50 %.1f ms p99 %.1f ms max %.1f ms; server CPU %.2f s\n",
			h.Reconnects, h.Replayed, h.Lost, h.Duplicated, h.Recovery.P50, h.Recovery.P99, h.Recovery.Max, h.ServerCPUSeconds)
	}
	if res.LostConns > 0 {
		fmt.Fprintf(w, "LOST CONNECTIONS: %d\n", res.LostConns)
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
