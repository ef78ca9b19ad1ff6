package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mtr-go/mtr-go/probe"
)

func TestParseDefaultsAreMtrs(t *testing.T) {
	cfg, err := Parse("", []string{"example.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Count != 10 || cfg.Interval != time.Second || cfg.Max != 30 || cfg.First != 1 ||
		cfg.MaxUnknown != 12 || cfg.Size != 64 || cfg.Fields != "LS NABWV" || cfg.Grace != 5*time.Second ||
		cfg.Timeout != 10*time.Second || cfg.Mode != ModeDefault || len(cfg.Targets) != 1 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		args  []string
		check func(*Config) bool
	}{
		{"combined shorthands", "", []string{"-rwc", "5", "h"}, func(c *Config) bool { return c.Mode == ModeReport && c.Wide && c.Count == 5 }},
		{"attached value", "", []string{"-c3", "h"}, func(c *Config) bool { return c.Count == 3 }},
		{"fractional interval", "", []string{"-i", "0.2", "h"}, func(c *Config) bool { return c.Interval == 200*time.Millisecond }},
		{"flags after the host", "", []string{"h", "--report", "-n"}, func(c *Config) bool { return c.Mode == ModeReport && c.NoDNS }},
		{"last display flag wins", "", []string{"-r", "--json", "h"}, func(c *Config) bool { return c.Mode == ModeJSON }},
		{"last display flag wins, other way", "", []string{"--json", "-r", "h"}, func(c *Config) bool { return c.Mode == ModeReport }},
		{"markdown", "", []string{"--markdown", "h"}, func(c *Config) bool { return c.Mode == ModeMarkdown }},
		{"html after json wins", "", []string{"-j", "--html", "h"}, func(c *Config) bool { return c.Mode == ModeHTML }},
		{"csv after html wins", "", []string{"--html", "-C", "h"}, func(c *Config) bool { return c.Mode == ModeCSV }},
		{"-w after --csv is a wide report, as in mtr", "", []string{"--csv", "-w", "h"}, func(c *Config) bool { return c.Mode == ModeReport && c.Wide }},
		{"-w before --csv is a wide CSV", "", []string{"-w", "--csv", "h"}, func(c *Config) bool { return c.Mode == ModeCSV && c.Wide }},
		{"split from MTR_OPTIONS, json on argv", "-p", []string{"-j", "h"}, func(c *Config) bool { return c.Mode == ModeJSON }},
		{"MTR_OPTIONS first, argv wins", "-c 7 -n", []string{"-c", "2", "h"}, func(c *Config) bool { return c.Count == 2 && c.NoDNS }},
		{"order", "", []string{"-o", "LDRSNBAWVGJMXI", "h"}, func(c *Config) bool { return c.Fields == "LDRSNBAWVGJMXI" }},
		{"source address", "", []string{"-a", "2001:db8::1", "h"}, func(c *Config) bool { return c.Source.String() == "2001:db8::1" }},
		{"family", "", []string{"-6", "h"}, func(c *Config) bool { return c.Family == 6 }},
		{"several targets", "", []string{"a", "b"}, func(c *Config) bool { return len(c.Targets) == 2 }},
		{"no target is localhost", "", nil, func(c *Config) bool { return c.Targets[0] == "localhost" }},
		{"bit pattern above 255 is random", "", []string{"-B", "300", "h"}, func(c *Config) bool { return c.Pattern == 300 }},
		{"hex mark", "", []string{"-M", "0x10", "h"}, func(c *Config) bool { return c.Mark == 16 }},
		{"upper-case hex mark", "", []string{"--mark", "0XfF", "h"}, func(c *Config) bool { return c.Mark == 255 }},
		{"negative size is random up to it", "", []string{"-s", "-1000", "h"}, func(c *Config) bool { return c.Size == -1000 }},
		{"max display path default", "", []string{"h"}, func(c *Config) bool { return c.MaxPath == 8 }},
		{"max display path", "", []string{"-E", "2", "h"}, func(c *Config) bool { return c.MaxPath == 2 }},
		{"max display path long", "", []string{"--max-display-path=20", "h"}, func(c *Config) bool { return c.MaxPath == 20 }},
		{"braille display mode", "", []string{"--displaymode", "3", "h"}, func(c *Config) bool { return c.DisplayMode == 3 }},
		{"mark on TCP probes", "", []string{"-T", "-M", "7", "h"}, func(c *Config) bool { return c.Mark == 7 }},
		{"udp with ports", "", []string{"-u", "-P", "53", "-L", "40000", "h"}, func(c *Config) bool {
			return c.Protocol == probe.UDPProbes && c.Port == 53 && c.LocalPort == 40000
		}},
		{"tcp keeps the default port for the prober", "", []string{"-T", "h"}, func(c *Config) bool { return c.Protocol == probe.TCPProbes && c.Port == 0 }},
		{"paris with udp", "", []string{"-u", "--paris", "h"}, func(c *Config) bool { return c.Paris && c.Protocol == probe.UDPProbes }},
		{"sctp keeps the default port for the prober", "", []string{"-S", "h"}, func(c *Config) bool { return c.Protocol == probe.SCTPProbes && c.Port == 0 }},
		{"sctp with a port, paris", "", []string{"--sctp", "-P", "9899", "--paris", "h"}, func(c *Config) bool {
			return c.Protocol == probe.SCTPProbes && c.Port == 9899 && c.Paris
		}},
		{"icmp is the default", "", []string{"h"}, func(c *Config) bool { return c.Protocol == probe.ICMPProbes && !c.Paris }},
		{"no analysis unless asked", "", []string{"-r", "h"}, func(c *Config) bool { return !c.Analyze }},
		{"analyze a report", "", []string{"-r", "--analyze", "h"}, func(c *Config) bool { return c.Analyze && c.Mode == ModeReport }},
		{"analyze JSON", "", []string{"--analyze", "-j", "h"}, func(c *Config) bool { return c.Analyze && c.Mode == ModeJSON }},
		{"analyze from MTR_OPTIONS", "--analyze", []string{"--html", "h"}, func(c *Config) bool { return c.Analyze && c.Mode == ModeHTML }},
		{"analyze in the live view", "", []string{"-t", "--analyze", "h"}, func(c *Config) bool { return c.Analyze && c.Mode == ModeCurses }},
		{"privacy in every format", "", []string{"--privacy", "2", "-j", "h"}, func(c *Config) bool { return c.Privacy == 2 && c.Mode == ModeJSON }},
		{"no privacy unless asked", "", []string{"h"}, func(c *Config) bool { return c.Privacy == 0 && !c.History }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse(tc.env, tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("got %+v", cfg)
			}
		})
	}
}

func TestParseErrorsSayWhatIsAllowed(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "unknown option --bogus"},
		{[]string{"-c"}, "needs a value"},
		{[]string{"-c", "x"}, `invalid value "x"`},
		{[]string{"-c", "0"}, "-c/--report-cycles: value out of range (1-2147483647): 0"},
		{[]string{"-i", "0"}, "-i/--interval: value out of range"},
		{[]string{"-i", "-1"}, "-i/--interval: value out of range"},
		{[]string{"-i", "soon"}, "not a number of seconds"},
		{[]string{"-i", "0.0000000001"}, "-i/--interval: 0.0000000001 seconds is shorter than a nanosecond"},
		{[]string{"-m", "300"}, "-m/--max-ttl: value out of range (1-255): 300"},
		{[]string{"-f", "9", "-m", "5"}, "larger than -m/--max-ttl"},
		{[]string{"-s", "5000"}, "-s/--psize: value out of range (28-4470, or -4470 to -28 for random): 5000"},
		{[]string{"-s", "-5000"}, "-s/--psize: value out of range (28-4470, or -4470 to -28 for random): -5000"},
		{[]string{"-s", "-10"}, "-s/--psize: value out of range"},
		{[]string{"-s", "0"}, "-s/--psize: value out of range"},
		{[]string{"-E", "0"}, "-E/--max-display-path: value out of range (1-255): 0"},
		{[]string{"-M", "0x1g"}, "-M/--mark: value out of range"},
		{[]string{"-Q", "256"}, "-Q/--tos: value out of range (0-255): 256"},
		{[]string{"-P", "70000"}, "-P/--port: value out of range (1-65535): 70000"},
		{[]string{"-L", "80"}, "-L/--localport: value out of range (1024-65535): 80"},
		{[]string{"--displaymode", "4"}, "--displaymode: value out of range (0-3): 4"},
		{[]string{"-o", "LZ"}, "-o/--order:"},
		{[]string{"-a", "nowhere"}, "-a/--address: not an IP address"},
		{[]string{"-4", "-6"}, "mutually exclusive"},
		{[]string{"-u", "-T"}, "mutually exclusive"},
		{[]string{"--paris"}, "--paris needs -u (UDP), -T (TCP) or -S (SCTP)"},
		{[]string{"-S", "-T"}, "-u, -T and -S are mutually exclusive"},
		{[]string{"-y", "7"}, "-y/--ipinfo: value out of range (0-4): 7"},
		{[]string{"--ipinfo_provider4", "bad name;rm"}, `--ipinfo_provider4: not a domain name: "bad name;rm"`},
		{[]string{"--ipinfo_provider6", "a..b"}, "--ipinfo_provider6: not a domain name"},
		{[]string{"-U", "0"}, "-U/--max-unknown: value out of range (1-255): 0"},
		{[]string{"-G", "0"}, "-G/--gracetime: value out of range"},
		{[]string{"--analyze", "-C"}, "--analyze works with the live view, -r, -j, -x, --markdown and --html"},
		{[]string{"-p", "--analyze"}, "--analyze works with"},
		{[]string{"--analyze=maybe"}, `invalid value "maybe" for --analyze`},
		{[]string{"-p", "--reverse", "https://r.test:9100"}, "--reverse works with the live view, -r, -j, -x, -C, --markdown and --html, not with -p or -l"},
		{[]string{"-l", "--reverse", "https://r.test:9100"}, "not with -p or -l"},
		{[]string{"--reverse", "https://r.test:9100", "second.test"}, "--reverse traces one path back: give one target, not 2"},
		{[]string{"--reverse", "ftp://r.test"}, `--reverse: want http(s)://HOST[:PORT] of a responder (mtr-go --serve): "ftp://r.test"`},
		{[]string{"--reverse", "r.test:9100"}, "--reverse: want http(s)://HOST[:PORT]"},
		{[]string{"--reverse", "https://"}, "--reverse: want http(s)://HOST[:PORT]"},
		{[]string{"--privacy", "-1"}, "--privacy: value out of range (0-255): -1"},
		{[]string{"--privacy", "x"}, `invalid value "x" for --privacy`},
		{[]string{"--privacy", "1", "--serve", ":9816"}, "--privacy hides hops in views and reports; --serve has neither"},
		{[]string{"--privacy", "2", "--reverse", "https://r.test:9100", "h"}, "--privacy cannot hide your network in the --reverse trace"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := Parse("", append([]string{"h"}, tc.args...), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestHelpFitsAScreenAndListsEveryOption(t *testing.T) {
	_, err := Parse("", []string{"--help"}, nil)
	if !IsHelp(err) {
		t.Fatalf("--help: %v", err)
	}
	var b bytes.Buffer
	Usage(&b)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("help has %d lines, more than a 24-line screen", len(lines))
	}
	for _, l := range lines {
		if len(l) > 80 {
			t.Errorf("help line wider than 80 columns: %q", l)
		}
	}
	newFlagSet(&Config{}).fs.VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(b.String(), "--"+f.Name) {
			t.Errorf("help does not mention --%s", f.Name)
		}
	})
}

func TestTargetsFromFile(t *testing.T) {
	cfg, err := Parse("", []string{"-F", "-", "first"}, strings.NewReader(" a.test \n\nb.test\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Targets, ",") != "first,a.test,b.test" {
		t.Errorf("targets %v", cfg.Targets)
	}
}

func TestIPInfo(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, -1},
		{[]string{"-z"}, 0},
		{[]string{"-y", "3"}, 3},
		{[]string{"-y", "0"}, 0},
		{[]string{"-z", "-y", "2"}, 2}, // the last wins, as in mtr
		{[]string{"-y", "2", "-z"}, 0},
	}
	for _, tc := range tests {
		cfg, err := Parse("", append([]string{"h"}, tc.args...), nil)
		got := -1
		if err == nil && cfg.ASLookup {
			got = cfg.IPInfo
		}
		if got != tc.want {
			t.Errorf("%v: IPInfo = %v, %v; want %d", tc.args, cfg, err, tc.want)
		}
	}
	cfg, err := Parse("", []string{"-z", "--ipinfo_provider4", "as.example.net.", "--ipinfo_provider6=as6.example.net", "h"}, nil)
	if err != nil || cfg.Provider4 != "as.example.net" || cfg.Provider6 != "as6.example.net" {
		t.Errorf("providers: %+v, %v", cfg, err)
	}
}

// TestAnalyzeFile: after --analyze, "-", a path or an existing file is a saved report to read,
// anything else a host to trace.
func TestAnalyzeFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.txt")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	tests := []struct {
		args []string
		read string // "" when tracing
	}{
		{[]string{"--analyze", "-"}, "-"},
		{[]string{"--analyze", file}, file},
		{[]string{"--analyze", "report.txt"}, "report.txt"},
		{[]string{"-r", "--analyze", "./report.txt"}, "./report.txt"},
		{[]string{"--analyze", "-r", "example.com"}, ""},
		{[]string{"--analyze", "-r", "report.txt", "h"}, ""}, // two targets: tracing
		{[]string{"report.txt"}, ""},                         // no --analyze: a host
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cfg, err := Parse("", tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ReadReport != tc.read {
				t.Errorf("ReadReport %q, want %q (targets %q)", cfg.ReadReport, tc.read, cfg.Targets)
			}
		})
	}
	if _, err := Parse("", []string{"--analyze", "-j", file}, nil); err == nil || !strings.Contains(err.Error(), "--analyze FILE prints the analysis as text") {
		t.Errorf("-j with a report to read: error %v", err)
	}
}
