package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"strings"
)

// chartColors are the lines' colours, in the order of the result files.
var chartColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// runChart writes an SVG of the latency distribution of one step of each result file:
// latency against percentile on the usual HDR axis, where each tick is ten times closer
// to 100%, so that the tail is as visible as the median.
func runChart(args []string) error {
	fs := flag.NewFlagSet("chatchat-bench chart", flag.ContinueOnError)
	out := fs.String("o", "latency.svg", "SVG file to write")
	rate := fs.Float64("rate", 0, "the step of this rate from each file (default each file's first)")
	title := fs.String("title", "End-to-end latency by percentile", "chart title")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("chart: name one or more result files")
	}
	var lines []chartLine
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		var res runResult
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("chart: %s: %w", path, err)
		}
		for _, s := range res.Steps {
			if *rate == 0 || s.Rate == *rate {
				lines = append(lines, chartLine{label: fmt.Sprintf("%s %s %.0f msg/s: p99 %.1f ms", res.Target, res.Preset, s.Rate, s.Latency.P99), curve: s.Latency.Curve})
				break
			}
		}
	}
	if len(lines) == 0 {
		return errors.New("chart: no step matches")
	}
	if err := os.WriteFile(*out, []byte(latencySVG(*title, lines)), 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

type chartLine struct {
	label string
	curve [][2]float64 // [percentile, ms]
}

// latencySVG draws the lines: x is -log10(1 - p/100), capped at 99.999%; y is log10 ms.
func latencySVG(title string, lines []chartLine) string {
	const (
		w, h                 = 760, 440
		left, right, top, bo = 70, 20, 40, 120
		maxX                 = 5.0 // 99.999%
	)
	pw, ph := float64(w-left-right), float64(h-top-bo)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		for _, pt := range l.curve {
			v := math.Max(pt[1], 0.01)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yhi <= ylo {
		yhi = ylo + 1
	}
	xOf := func(p float64) float64 {
		x := 0.0
		if p >= 100 {
			x = maxX
		} else {
			x = math.Min(maxX, -math.Log10(1-p/100))
		}
		return float64(left) + x/maxX*pw
	}
	yOf := func(ms float64) float64 {
		v := math.Log10(math.Max(ms, 0.01))
		return float64(top) + ph - (v-ylo)/(yhi-ylo)*ph
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15">%s</text>`+"\n", left, html.EscapeString(title))
	for i, lbl := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		x := float64(left) + float64(i)/maxX*pw
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
			x, top, x, float64(top)+ph, x, float64(top)+ph+16, lbl)
	}
	for e := ylo; e <= yhi; e++ {
		y := yOf(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s ms</text>`+"\n",
			left, y, float64(left)+pw, y, left-6, y+4, trimFloat(math.Pow(10, e)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">percentile</text>`+"\n", float64(left)+pw/2, float64(top)+ph+34)
	for i, l := range lines {
		col := chartColors[i%len(chartColors)]
		var pts []string
		for _, pt := range l.curve {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(pt[0]), yOf(pt[1])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		ly := float64(top) + ph + 56 + float64(i)*18
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="14" height="4" fill="%s"/><text x="%d" y="%.1f">%s</text>`+"\n",
			left, ly-4, col, left+20, ly+1, html.EscapeString(l.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
