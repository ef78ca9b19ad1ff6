package main

// The exporter (--serve) scraped by a real Prometheus (Debian's prometheus package), both run in
// the lab's client namespace on its loopback, asked over Prometheus's HTTP API what it stored.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mtr-go/mtr-go/internal/netlab"
)

// The namespace is the lab's own, so fixed ports cannot meet anything else.
const (
	exporterAddr   = "127.0.0.1:9816"
	prometheusAddr = "127.0.0.1:9090"
	outsideAllow   = "192.0.2.1" // TEST-NET-1: outside --serve-allow, so never probed
)

// labClient is an HTTP client whose connections are dialled inside the lab's client namespace.
func labClient(lab *netlab.Lab) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				var c net.Conn
				err := lab.Run(func() error {
					var err error
					c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
					return err
				})
				return c, err
			},
		},
	}
}

// startInLab starts a long-running program in the lab's client namespace, stopped (SIGTERM) and
// waited for at the end of the test; its output goes to a file that is logged on failure.
func startInLab(t *testing.T, lab *netlab.Lab, name string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := lab.Command(context.Background(), name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("%s %v output:\n%s", name, args, out)
		}
		log.Close()
	})
}

// promSample is one series of an instant query's answer.
type promSample struct {
	labels map[string]string
	value  float64
}

// promQuery runs an instant PromQL query over Prometheus's HTTP API.
func promQuery(c *http.Client, q string) ([]promSample, error) {
	resp, err := c.Get("http://" + prometheusAddr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %v", q, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", q, r.Value)
		}
		out = append(out, promSample{labels: r.Metric, value: v})
	}
	return out, nil
}

// one returns the single value of a query, or false while there is none.
func one(t *testing.T, c *http.Client, q string) (float64, bool) {
	t.Helper()
	s, err := promQuery(c, q)
	if err != nil || len(s) != 1 {
		return 0, false
	}
	return s[0].value, true
}

// TestLabPrometheusScrapesTheExporter: a lab path whose hop 2 throttles half of its ICMP answers
// and whose router 4 drops 30 % of what it forwards (real loss at hops 4, 5 and the destination)
// is traced by mtr-go --serve; Prometheus scrapes /metrics every second, and /probe for an
// allowed target and one outside --serve-allow. PromQL over its API then returns each hop's loss
// near the one set.
func TestLabPrometheusScrapesTheExporter(t *testing.T) {
	netlab.Require(t, netlab.Tool("prometheus", "prometheus"))
	lab := netlab.New(t, netlab.Spec{Routers: 5, Throttle: map[int]int{2: 50}, LossFrom: 4, LossPercent: 30})
	target := lab.Target4.String()

	startInLab(t, lab, binary(t), "--serve", exporterAddr, "--serve-allow", "198.18.0.0/15,2001:db8::/32",
		"-n", "-i", "0.05", "--serve-loss-window", "200", target)

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mtr-go
    static_configs:
      - targets: [%q]
  - job_name: mtr-go-probe
    metrics_path: /probe
    params:
      protocol: [icmp]
      count: [3]
    scrape_interval: 2s
    scrape_timeout: 2s
    static_configs:
      - targets: [%q, %q]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: %q
`, exporterAddr, target, outsideAllow, exporterAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startInLab(t, lab, "prometheus", "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+prometheusAddr,
		"--log.level=warn")

	c := labClient(lab)
	// The loss window is the newest 200 probes per hop: wait until Prometheus has scraped a
	// full window at the last lossy hop (at -i 0.05, about 10 s of probing).
	deadline := time.Now().Add(90 * time.Second)
	for {
		if v, ok := one(t, c, `mtrgo_probes_sent_total{job="mtr-go",ttl="5"}`); ok && v >= 210 {
			break
		}
		if time.Now().After(deadline) {
			s, err := promQuery(c, `{job=~"mtr-go.*"}`)
			t.Fatalf("Prometheus has no full loss window after 90 s (%d series, %v)", len(s), err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Each hop's loss ratio as Prometheus stored it. The window holds 200 probes, so a binomial
	// loss of p has a standard deviation of at most 3.5 points: ±0.15 is beyond 4 of them.
	want := map[string]float64{"1": 0, "2": 0.5, "3": 0, "4": 0.3, "5": 0.3, "6": 0.3}
	samples, err := promQuery(c, `mtrgo_loss_ratio{job="mtr-go"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range samples {
		got[s.labels["ttl"]] = s.value
		if s.labels["target"] != target {
			t.Errorf("series %v: target label, want %s", s.labels, target)
		}
	}
	for ttl, w := range want {
		v, ok := got[ttl]
		tol := 0.15
		if w == 0 {
			tol = 0.03 // a clean hop: at most a late answer or two
		}
		if !ok || v < w-tol || v > w+tol {
			t.Errorf("mtrgo_loss_ratio at TTL %s: %v (present %v), want %v ± %v", ttl, v, ok, w, tol)
		}
	}
	t.Logf("loss by TTL from PromQL: %v", got)
	if v, ok := one(t, c, `mtrgo_destination_loss_ratio{job="mtr-go"}`); !ok || v < 0.15 || v > 0.45 {
		t.Errorf("mtrgo_destination_loss_ratio: %v (present %v), want 0.3 ± 0.15", v, ok)
	}
	if v, ok := one(t, c, `mtrgo_destination_ttl{job="mtr-go"}`); !ok || v != 6 {
		t.Errorf("mtrgo_destination_ttl: %v (present %v), want 6", v, ok)
	}
	// The RTT histogram counts every answer: its count at a clean hop equals the answers counter.
	if v, ok := one(t, c, `mtrgo_rtt_seconds_count{job="mtr-go",ttl="1"} - mtrgo_probes_answered_total{job="mtr-go",ttl="1"}`); !ok || v != 0 {
		t.Errorf("RTT histogram count minus answers at TTL 1: %v (present %v), want 0", v, ok)
	}
	if fs, err := promQuery(c, `mtrgo_analysis_finding{job="mtr-go"}`); err != nil || len(fs) == 0 {
		t.Errorf("no analysis findings stored (%v)", err)
	} else {
		kinds := map[string]string{}
		for _, f := range fs {
			kinds[f.labels["kind"]] = f.labels["ttl"]
		}
		if kinds["rate-limited"] != "2" || kinds["loss-starts"] != "4" {
			t.Errorf("findings %v, want rate-limited at TTL 2 and loss-starts at TTL 4", kinds)
		}
	}

	// The README's alert fires on this path: 30 % real loss at the destination, not its own
	// throttling.
	alert := readmeAlertExpr(t)
	fired, err := promQuery(c, alert)
	byJob := map[string]string{}
	for _, f := range fired {
		byJob[f.labels["job"]] = f.labels["target"]
	}
	if err != nil || byJob["mtr-go"] != target {
		t.Errorf("README's alert %q: %v (%v), want it to fire for %s", alert, fired, err, target)
	}

	// /probe: the allowed target is traced and answers; the one outside --serve-allow is refused
	// (Prometheus records the scrape as failed, with the 403).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		okUp, _ := one(t, c, fmt.Sprintf(`up{job="mtr-go-probe",instance=%q}`, target))
		success, _ := one(t, c, fmt.Sprintf(`probe_success{job="mtr-go-probe",instance=%q}`, target))
		dest, _ := one(t, c, fmt.Sprintf(`mtrgo_destination_ttl{job="mtr-go-probe",instance=%q}`, target))
		refusedUp, refusedSeen := one(t, c, fmt.Sprintf(`up{job="mtr-go-probe",instance=%q}`, outsideAllow))
		if okUp == 1 && success == 1 && dest == 6 && refusedSeen && refusedUp == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/probe through Prometheus: up %v, probe_success %v, destination TTL %v; outside the allow list: up %v (seen %v)",
				okUp, success, dest, refusedUp, refusedSeen)
		}
	}
	if _, ok := one(t, c, fmt.Sprintf(`probe_success{instance=%q}`, outsideAllow)); ok {
		t.Errorf("a refused /probe stored probe_success")
	}

	// The refusal as a scraper sees it: 403 and one line saying why.
	resp, err := c.Get("http://" + exporterAddr + "/probe?target=" + outsideAllow)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Equal(body, []byte(`target "192.0.2.1" (192.0.2.1) is outside --serve-allow`+"\n")) {
		t.Errorf("/probe outside the allow list: %d %q", resp.StatusCode, body)
	}
	// IPv6, over UDP, straight from the exporter: its own registry, the destination reached.
	resp, err = c.Get("http://" + exporterAddr + "/probe?protocol=udp&count=2&target=" + lab.Target6.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// The destination is 6 hops away; on this lossy path both of a count=2 trace's probes at
	// TTL 6 may be lost, and then it first answers at 7 or later: never nearer than 6.
	destTTL := regexp.MustCompile(fmt.Sprintf(`(?m)^mtrgo_destination_ttl\{target=%q\} (\d+)$`, lab.Target6)).FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "\nprobe_success 1\n") ||
		destTTL == nil || atoi(destTTL[1]) < 6 {
		t.Errorf("/probe of %s over UDP: %d\n%s", lab.Target6, resp.StatusCode, body)
	}

	resp, err = c.Get("http://" + exporterAddr + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/-/healthy: %d", resp.StatusCode)
	}
}

// readmeYAML returns the README's yaml blocks: the Prometheus configuration, then the rules.
func readmeYAML(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(b), "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, block)
	}
	if len(blocks) != 2 {
		t.Fatalf("README has %d yaml blocks, want the scrape configuration and the alert rule", len(blocks))
	}
	return blocks
}

// readmeAlertExpr is the expression of the README's alert rule.
func readmeAlertExpr(t *testing.T) string {
	t.Helper()
	_, rest, ok := strings.Cut(readmeYAML(t)[1], "expr: |\n")
	expr, _, ok2 := strings.Cut(rest, "for:")
	if !ok || !ok2 {
		t.Fatal("README's alert rule has no expr: | ... for:")
	}
	return strings.Join(strings.Fields(expr), " ")
}

// TestLabREADMEPrometheusConfig: the README's scrape configuration and alert rule are what
// Prometheus's own checker accepts.
func TestLabREADMEPrometheusConfig(t *testing.T) {
	netlab.Require(t, netlab.Tool("promtool", "prometheus"))
	dir := t.TempDir()
	for i, check := range []string{"config", "rules"} {
		f := filepath.Join(dir, check+".yml")
		if err := os.WriteFile(f, []byte(readmeYAML(t)[i]), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("promtool", "check", check, f).CombinedOutput(); err != nil {
			t.Errorf("promtool check %s on the README's block: %v\n%s", check, err, out)
		}
	}
}

// TestLabExporterAsTheUnitRunsIt runs the systemd unit's ExecStart as the unit would: an
// unprivileged user whose only capability is CAP_NET_RAW (ambient, bounding set CAP_NET_RAW,
// no new privileges), by setpriv(1) in the lab. The exporter opens its sockets with it, then
// holds no capability at all, and serves its target's metrics; /probe is refused, as the unit
// gives no --serve-allow.
func TestLabExporterAsTheUnitRunsIt(t *testing.T) {
	netlab.Require(t, netlab.Tool("setpriv", "util-linux"))
	lab := netlab.New(t, netlab.Spec{Routers: 2})

	// A directory the unprivileged user can read: the binary and the targets file.
	dir, err := os.MkdirTemp("", "mtrgo-unit")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mtr-go"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "targets"), []byte(lab.Target4.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("../../internal/server/mtr-go.service")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, l := range strings.Split(string(unit), "\n") {
		if cmd, ok := strings.CutPrefix(l, "ExecStart="); ok {
			args = strings.Fields(cmd)
		}
	}
	if len(args) == 0 {
		t.Fatal("no ExecStart in the unit")
	}
	args[0] = filepath.Join(dir, "mtr-go")
	for i := range args {
		if args[i] == "/etc/mtr-go/targets" {
			args[i] = filepath.Join(dir, "targets")
		}
	}
	setpriv := []string{"--reuid", "65534", "--regid", "65534", "--clear-groups",
		"--inh-caps", "-all,+net_raw", "--ambient-caps", "+net_raw", "--bounding-set", "-all,+net_raw", "--no-new-privs"}

	// start runs the exporter with args as the unit would, until the test ends.
	start := func(args []string) *exec.Cmd {
		log, err := os.Create(filepath.Join(t.TempDir(), "exporter.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := lab.Command(context.Background(), "setpriv", append(slices.Clone(setpriv), args...)...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			out, _ := os.ReadFile(log.Name())
			t.Logf("mtr-go %v:\n%s", args[1:], out)
		})
		return cmd
	}
	cmd := start(args)

	i := slices.Index(args, "--serve")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("the unit's ExecStart has no --serve ADDR: %v", args)
	}
	addr := args[i+1]
	c := labClient(lab)
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := c.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			if strings.Contains(body, fmt.Sprintf(`mtrgo_destination_ttl{target=%q} 3`, lab.Target4)) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no destination in /metrics after 30 s:\n%s", body)
		}
	}
	// ip netns exec and setpriv exec the exporter in place: the process started is mtr-go.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "Uid":
			if f := strings.Fields(v); len(f) == 0 || f[0] != "65534" {
				t.Errorf("runs as uid %q", v)
			}
		case "CapInh", "CapPrm", "CapEff", "CapAmb":
			if strings.TrimSpace(v) != "0000000000000000" {
				t.Errorf("%s %s: a capability left after the sockets were open", k, strings.TrimSpace(v))
			}
		}
	}
	resp, err := c.Get("http://" + addr + "/probe?target=" + lab.Target4.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "without --serve-allow") {
		t.Errorf("/probe under the unit's options: %d %q", resp.StatusCode, b)
	}

	// With --serve-allow (the README's `systemctl edit`), /probe traces after the capability is
	// gone, over every protocol and family, through the raw sockets opened at start (SCTP has no
	// unprivileged fallback at all): ICMP does
	// not need ping sockets, which are off in this namespace.
	if err := lab.Command(context.Background(), "sysctl", "-qw", "net.ipv4.ping_group_range=1 0").Run(); err != nil {
		t.Fatal(err)
	}
	allowArgs := slices.Clone(args)
	allowArgs[i+1] = "127.0.0.1:9817"
	allowArgs = append(allowArgs, "--serve-allow", "198.18.0.0/15,2001:db8::/32")
	start(allowArgs)
	for _, target := range []netip.Addr{lab.Target4, lab.Target6} {
		for _, proto := range []string{"icmp", "udp", "tcp", "sctp"} {
			url := fmt.Sprintf("http://127.0.0.1:9817/probe?target=%s&protocol=%s&count=2", target, proto)
			var status int
			var body string
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				resp, err := c.Get(url)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status, body = resp.StatusCode, string(b)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %v", url, err)
				}
			}
			if status != http.StatusOK || !strings.Contains(body, "\nprobe_success 1\n") {
				t.Errorf("%s as the unit runs it, with --serve-allow and no ping sockets: %d\n%s", url, status, body)
			}
		}
	}
}

// atoi is strconv.Atoi for digits a regexp matched.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
