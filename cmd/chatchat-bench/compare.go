package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
)

// runCompare prints, as a Markdown table, ChatChat's results next to the peer's: memory
// per idle connection, server CPU per million deliveries at the same offered load, the
// highest sustained deliveries/s, and p99 at a rate both servers carry; then one verdict
// line per target of the performance issue.
func runCompare(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chatchat-bench compare", flag.ContinueOnError)
	ccIdle := fs.String("idle", "", "ChatChat's idle result")
	peerIdle := fs.String("peer-idle", "", "the peer's idle result")
	ccB := fs.String("broadcast", "", "ChatChat's broadcast result")
	peerB := fs.String("peer-broadcast", "", "the peer's broadcast result")
	cpuRate := fs.Float64("cpu-rate", 500, "the offered rate at which CPU per million deliveries is compared")
	p99Rate := fs.Float64("p99-rate", 100, "the offered rate at which p99 is compared")
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := func(p string) (*runResult, error) {
		if p == "" {
			return nil, errors.New("compare: -idle, -peer-idle, -broadcast and -peer-broadcast are required")
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
		var r runResult
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("compare: %s: %w", p, err)
		}
		return &r, nil
	}
	var rs [4]*runResult
	for i, p := range []string{*ccIdle, *peerIdle, *ccB, *peerB} {
		r, err := load(p)
		if err != nil {
			return err
		}
		rs[i] = r
	}
	ci, pi, cb, pb := rs[0], rs[1], rs[2], rs[3]
	if ci.Idle == nil || pi.Idle == nil {
		return errors.New("compare: an idle result has no idle section")
	}
	step := func(r *runResult, rate float64) *stepResult {
		for i := range r.Steps {
			if r.Steps[i].Rate == rate {
				return &r.Steps[i]
			}
		}
		return nil
	}
	cpuC, cpuP := step(cb, *cpuRate), step(pb, *cpuRate)
	latC, latP := step(cb, *p99Rate), step(pb, *p99Rate)

	fmt.Fprintf(out, "| measure | ChatChat | %s | ratio | target | verdict |\n|---|---|---|---|---|---|\n", pb.Target)
	row := func(name string, c, p float64, unit string, target string, pass bool, ok bool) {
		if !ok {
			fmt.Fprintf(out, "| %s | – | – | – | %s | NOT MEASURED |\n", name, target)
			return
		}
		v := "MISS"
		if pass {
			v = "PASS"
		}
		fmt.Fprintf(out, "| %s | %.2f %s | %.2f %s | %.2f | %s | %s |\n", name, c, unit, p, unit, ratio(c, p), target, v)
	}
	row(fmt.Sprintf("server memory per idle connection (%d conns)", ci.Idle.Connections),
		ci.Idle.KiBPerConn, pi.Idle.KiBPerConn, "KiB", "≤ 0.5×", ci.Idle.KiBPerConn <= 0.5*pi.Idle.KiBPerConn, true)
	if cpuC != nil && cpuP != nil {
		row(fmt.Sprintf("server CPU-s per million deliveries at %.0f msg/s", *cpuRate),
			cpuC.ServerCPUPerM, cpuP.ServerCPUPerM, "s", "≤ 0.67×", cpuC.ServerCPUPerM <= cpuP.ServerCPUPerM*2/3 && cpuC.Lost == 0, true)
	} else {
		row(fmt.Sprintf("server CPU-s per million deliveries at %.0f msg/s", *cpuRate), 0, 0, "", "≤ 0.67×", false, false)
	}
	row("highest sustained deliveries/s (p99 < bound, 0 lost)", cb.BestSustained, pb.BestSustained, "/s", "≥ 1.5×",
		cb.BestSustained >= 1.5*pb.BestSustained && cb.BestSustained > 0, true)
	if latC != nil && latP != nil {
		row(fmt.Sprintf("p99 end-to-end at %.0f msg/s", *p99Rate), latC.Latency.P99, latP.Latency.P99, "ms", "≤ 1×",
			latC.Latency.P99 <= latP.Latency.P99 && latC.Lost == 0, true)
	} else {
		row(fmt.Sprintf("p99 end-to-end at %.0f msg/s", *p99Rate), 0, 0, "", "≤ 1×", false, false)
	}
	fmt.Fprintf(out, "\nconditions: ChatChat runs load %s → %s; %s runs load %s → %s\n",
		cb.Conditions.LoadBefore, cb.Conditions.LoadAfter, pb.Target, pb.Conditions.LoadBefore, pb.Conditions.LoadAfter)
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
