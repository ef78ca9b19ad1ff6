// Package cli turns mtr's command line (flags, MTR_OPTIONS, target names) into a Config, with
// mtr's short and long option names and one-line errors that say what is allowed.
package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mtr-go/mtr-go/internal/reverse"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

// Mode is how results are shown.
type Mode int

// The display modes; like mtr, the last display flag given wins.
const (
	ModeDefault Mode = iota // live UI on a terminal, report otherwise
	ModeReport
	ModeCurses
	ModeSplit
	ModeRaw
	ModeJSON
	ModeCSV
	ModeXML
	ModeMarkdown // --markdown: the report table for tickets and chat
	ModeHTML     // --html: a self-contained page with the report table
)

// Config is everything a run needs, as the user asked for it.
type Config struct {
	Targets []string
	Mode    Mode
	Wide    bool // -w
	Family  int  // 0 any, 4 or 6

	Count      int
	CountSet   bool // -c was given: live views (UI, split) stop after Count rounds, as in mtr
	Interval   time.Duration
	Timeout    time.Duration
	Grace      time.Duration
	First, Max int
	MaxUnknown int

	Size      int
	Pattern   int
	TOS       int
	Source    netip.Addr
	Interface string
	Mark      uint32

	NoDNS       bool
	ShowIPs     bool
	Fields      string
	DisplayMode int
	MPLS        bool
	// MaxPath (-E) is how many addresses of a load-balanced hop the live view and the reports
	// show, the latest first; mtr 0.96's default is 8.
	MaxPath int

	Protocol  vocab.Protocol // -u / -T, else ICMP
	Port      int            // -P; 0 = the protocol's default
	LocalPort int            // -L (UDP); 0 = the kernel picks
	Paris     bool           // --paris: one flow per run (UDP, TCP, SCTP)

	// Analyze (--analyze) appends the path analysis to the report, Markdown and HTML, and adds it
	// to JSON and XML, and opens the live view's analysis pane. Formats without a place for it (CSV,
	// split, raw) refuse it.
	Analyze bool
	// ReadReport is the saved report that --analyze FILE reads instead of tracing: its path, or
	// "-" for stdin; "" when tracing.
	ReadReport string

	// ASLookup (-y or -z given) shows field IPInfo of each address's AS lookup beside its host:
	// 0 AS (-z), 1 prefix, 2 country, 3 registry, 4 allocation date. Provider4/6 are the TXT
	// zones asked (--ipinfo_provider4/6); "" means Team Cymru's.
	ASLookup             bool
	IPInfo               int
	Provider4, Provider6 string

	// Serve is the exporter's configuration; Serve.Addr is "" unless --serve was given.
	Serve Serve

	// Reverse is the reverse trace to run beside the forward one (--reverse URL, --token-file,
	// --tls-ca); Reverse.URL is "" without --reverse. Its Request follows the forward trace's
	// options: protocol, port, count, packet size, and -i, but no faster than 1 s.
	Reverse reverse.Options

	// PacketHelper (--packet-helper) is a program speaking mtr-packet's protocol that sends the
	// probes instead of mtr-go's own sockets; "" for none (MTR_PACKET is read by the app).
	PacketHelper string

	// Privacy (--privacy N) masks this host's name and address and the addresses and names of
	// hops 1..N, the user's own network, in every view and format; 0 masks nothing.
	Privacy int
	// History (--history) lists the hosts the live view traced, newest first, and exits.
	History bool

	Help, Version bool
	// Completion is --completion's shell (bash, zsh, fish): print its completion script and exit.
	Completion string
}

// Serve is how mtr-go runs as a Prometheus exporter (--serve and its knobs).
type Serve struct {
	Addr  string         // --serve: the host:port to listen on
	Allow []netip.Prefix // --serve-allow: the targets /probe may trace; none: /probe is refused
	// LossWindow is how many of each hop's newest probes its loss ratio covers
	// (--serve-loss-window).
	LossWindow int
	MaxCount   int // --serve-max-count: the largest count= a /probe request may ask for
	MaxProbes  int // --serve-max-probes: /probe requests traced at once; more get 429

	// Token is --token-file's content: with it the server answers reverse traces (POST
	// /reverse), without it it refuses them all.
	Token string
	// TLSCert and TLSKey (--tls-cert, --tls-key) make the server speak https. Without them a
	// server with a token listens on loopback only, unless Insecure (--serve-insecure).
	TLSCert, TLSKey string
	Insecure        bool
}

// Defaults and limits of the exporter's knobs. The loss window cannot exceed the rounds a hop
// remembers (stats.HistoryLen, 200); 100 probes is 100 s at -i 1, short enough to follow an
// incident and long enough that one lost probe is 1 %.
const (
	DefaultMaxPath    = 8
	DefaultLossWindow = 100
	MaxLossWindow     = 200
	DefaultMaxCount   = 100
	DefaultMaxProbes  = 4
)

// Errors for the cases main handles apart from plain failures.
var (
	errHelp = errors.New("help requested")
)

// IsHelp reports whether Parse stopped because help or the version was asked for.
func IsHelp(err error) bool { return errors.Is(err, errHelp) }

type flagSet struct {
	fs  *pflag.FlagSet
	cfg *Config
	// raw values validated after parsing, so errors can name the range
	interval, timeout, grace   string
	count, psize, bitpattern   int
	tos, first, max, maxUnk    int
	port, localport, ipinfo    int
	displaymode, maxPath       int
	address, filename, mark    string
	report, wide, curses       bool
	split, raw, json, csv, xml bool
	markdown, html             bool
	v4, v6, udp, tcp, sctp     bool
	aslookup, paris            bool
	provider4, provider6       string
	serve, serveAllow          string
	lossWindow, serveMaxCount  int
	serveMaxProbes             int
	reverseURL, tokenFile      string
	tlsCA, tlsCert, tlsKey     string
	serveInsecure              bool
	order                      []string // -o given several times: the last wins
	seen                       []string // long names of the flags given, in command-line order
}

func newFlagSet(cfg *Config) *flagSet {
	f := &flagSet{cfg: cfg}
	fs := pflag.NewFlagSet("mtr-go", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	fs.BoolVarP(&cfg.Help, "help", "h", false, "print this help and exit")
	fs.BoolVarP(&cfg.Version, "version", "v", false, "print the version and exit")
	fs.BoolVar(&cfg.History, "history", false, "list the hosts the live view traced, newest first, and exit")
	fs.IntVar(&cfg.Privacy, "privacy", 0, "hide this host and the addresses and names of hops 1 to `N`")
	fs.StringVar(&cfg.Completion, "completion", "", "print the completion script for `SHELL` (bash, zsh or fish) and exit")
	fs.BoolVarP(&f.v4, "inet", "4", false, "use IPv4 only")
	fs.BoolVarP(&f.v6, "inet6", "6", false, "use IPv6 only")
	fs.StringVarP(&f.filename, "filename", "F", "", "read target names from `FILE` (- for stdin)")
	fs.BoolVarP(&f.report, "report", "r", false, "report mode: run COUNT rounds, print a table")
	fs.BoolVarP(&f.wide, "report-wide", "w", false, "wide report: never cut host names")
	fs.IntVarP(&f.count, "report-cycles", "c", 10, "number of rounds to send (`COUNT`)")
	fs.BoolVarP(&f.json, "json", "j", false, "output JSON")
	fs.BoolVarP(&f.xml, "xml", "x", false, "output XML")
	fs.BoolVarP(&f.csv, "csv", "C", false, "output CSV")
	fs.BoolVarP(&f.raw, "raw", "l", false, "output the raw event stream")
	fs.BoolVar(&f.markdown, "markdown", false, "output the report as a Markdown table")
	fs.BoolVar(&f.html, "html", false, "output the report as an HTML page")
	fs.BoolVar(&cfg.Analyze, "analyze", false, "append findings, whom to contact and a conclusion")
	fs.BoolVarP(&f.split, "split", "p", false, "split-UI line output for scripts")
	fs.BoolVarP(&f.curses, "curses", "t", false, "full-screen terminal UI")
	fs.IntVar(&f.displaymode, "displaymode", 0, "initial display `MODE` of the UI (0-3)")
	fs.BoolVarP(&cfg.NoDNS, "no-dns", "n", false, "do not resolve host names")
	fs.BoolVarP(&cfg.ShowIPs, "show-ips", "b", false, "show IP numbers beside host names")
	fs.StringArrayVarP(&f.order, "order", "o", nil, "fields to show, in order (`FIELDS`, default \""+vocab.DefaultFields+"\")")
	fs.IntVarP(&f.ipinfo, "ipinfo", "y", -1, "show IP information (`N` 0-4)")
	fs.BoolVarP(&f.aslookup, "aslookup", "z", false, "show AS numbers")
	fs.StringVar(&f.provider4, "ipinfo_provider4", "", "TXT `DOMAIN` for IPv4 AS lookups (default origin.asn.cymru.com)")
	fs.StringVar(&f.provider6, "ipinfo_provider6", "", "TXT `DOMAIN` for IPv6 AS lookups (default origin6.asn.cymru.com)")
	fs.StringVarP(&f.interval, "interval", "i", "1", "`SECONDS` between rounds")
	fs.IntVarP(&f.psize, "psize", "s", 64, "packet size in `BYTES`, IP header included")
	fs.IntVarP(&f.bitpattern, "bitpattern", "B", 0, "payload fill byte `NUMBER` (0-255, above: random)")
	fs.IntVarP(&f.tos, "tos", "Q", 0, "type of service / traffic class `NUMBER` (0-255)")
	fs.BoolVarP(&cfg.MPLS, "mpls", "e", false, "show MPLS labels")
	fs.IntVarP(&f.maxPath, "max-display-path", "E", DefaultMaxPath, "show at most `N` addresses of a load-balanced hop")
	fs.StringVarP(&cfg.Interface, "interface", "I", "", "send from interface `NAME`")
	fs.StringVarP(&f.address, "address", "a", "", "send from source `ADDRESS`")
	fs.IntVarP(&f.first, "first-ttl", "f", 1, "first `TTL` to probe")
	fs.IntVarP(&f.max, "max-ttl", "m", 30, "largest `TTL` to probe")
	fs.IntVarP(&f.maxUnk, "max-unknown", "U", 12, "end a round after `NUMBER` silent hops")
	fs.BoolVarP(&f.udp, "udp", "u", false, "use UDP probes")
	fs.BoolVarP(&f.tcp, "tcp", "T", false, "use TCP SYN probes")
	fs.BoolVarP(&f.sctp, "sctp", "S", false, "use SCTP INIT probes")
	fs.IntVarP(&f.port, "port", "P", 0, "target `PORT` for TCP/UDP/SCTP")
	fs.IntVarP(&f.localport, "localport", "L", 0, "source `PORT` for UDP")
	fs.BoolVar(&f.paris, "paris", false, "keep every probe on one flow (UDP, TCP, SCTP): one route through load balancers")
	fs.StringVarP(&f.timeout, "timeout", "Z", "10", "`SECONDS` an unanswered probe may still be answered")
	fs.StringVarP(&f.grace, "gracetime", "G", "5", "longest wait in `SECONDS` for answers after the last round")
	fs.StringVarP(&f.mark, "mark", "M", "", "set SO_MARK `MARK` on probes")
	fs.StringVar(&cfg.PacketHelper, "packet-helper", "", "probe through `PATH`, a program speaking mtr-packet's protocol (mtr-go-packet, mtr-packet); also MTR_PACKET")
	fs.StringVar(&f.serve, "serve", "", "run as a Prometheus exporter listening on `HOST:PORT` (/metrics, /probe)")
	fs.StringVar(&f.serveAllow, "serve-allow", "", "`CIDR,...` that /probe may trace (none: /probe is refused)")
	fs.IntVar(&f.lossWindow, "serve-loss-window", DefaultLossWindow, "newest `PROBES` per hop that the exported loss ratio covers")
	fs.IntVar(&f.serveMaxCount, "serve-max-count", DefaultMaxCount, "largest count= a /probe request may ask (`N`)")
	fs.IntVar(&f.serveMaxProbes, "serve-max-probes", DefaultMaxProbes, "/probe requests traced at once (`N`); more are answered 429")
	fs.StringVar(&f.reverseURL, "reverse", "", "also trace back from the responder at `URL` (an mtr-go --serve) to here")
	fs.StringVar(&f.tokenFile, "token-file", "", "the reverse-trace token, read from `FILE` (--reverse and --serve)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "check an https --reverse responder against the CA in `FILE` (PEM)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "--serve https with the certificate in `FILE` (PEM)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "--serve https with the key in `FILE` (PEM)")
	fs.BoolVar(&f.serveInsecure, "serve-insecure", false, "--serve reverse traces over plain HTTP off loopback (the token crosses in clear)")
	f.fs = fs
	return f
}

// Parse reads MTR_OPTIONS (env, may be "") and then args (argv without the program name).
// stdin serves -F -.
func Parse(env string, args []string, stdin io.Reader) (*Config, error) {
	cfg := &Config{}
	f := newFlagSet(cfg)
	all := append(strings.Fields(env), args...)
	err := f.fs.ParseAll(all, func(fl *pflag.Flag, value string) error {
		f.seen = append(f.seen, fl.Name)
		return f.fs.Set(fl.Name, value)
	})
	if err != nil {
		return nil, flagError(err)
	}
	if cfg.Completion != "" {
		if !slices.Contains(Shells, cfg.Completion) {
			return nil, fmt.Errorf("--completion: unknown shell %q (bash, zsh or fish)", cfg.Completion)
		}
		return cfg, errHelp
	}
	if cfg.Help || cfg.Version || cfg.History {
		return cfg, errHelp
	}
	if err := f.finish(stdin); err != nil {
		return nil, err
	}
	return cfg, nil
}

// flagError turns pflag's errors into one line.
func flagError(err error) error {
	var notExist *pflag.NotExistError
	var needValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	switch {
	case errors.As(err, &notExist):
		return fmt.Errorf("unknown option %s (see --help)", dashed(notExist.GetSpecifiedName()))
	case errors.As(err, &needValue):
		return fmt.Errorf("option %s needs a value (see --help)", dashed(needValue.GetSpecifiedName()))
	case errors.As(err, &invalid):
		return fmt.Errorf("invalid value %q for --%s", invalid.GetValue(), invalid.GetFlag().Name)
	}
	return err
}

// dashed writes an option name as the user typed it.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func (f *flagSet) changed(name string) bool { return f.fs.Changed(name) }

// rangeErr is the one message for every out-of-range number.
func rangeErr(flag string, v any, lo, hi string) error {
	return fmt.Errorf("%s: value out of range (%s-%s): %v", flag, lo, hi, v)
}

func checkRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return rangeErr(flag, v, strconv.Itoa(lo), strconv.Itoa(hi))
	}
	return nil
}

// seconds parses a positive (possibly fractional) number of seconds.
func seconds(flag, s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: not a number of seconds: %q", flag, s)
	}
	if v <= 0 || v > 86400 {
		return 0, fmt.Errorf("%s: value out of range (more than 0, up to 86400 seconds): %s", flag, s)
	}
	d := time.Duration(v * float64(time.Second))
	if d <= 0 {
		// Shorter than a nanosecond: not silently mtr-go's default, nor a zero wait.
		return 0, fmt.Errorf("%s: %s seconds is shorter than a nanosecond", flag, s)
	}
	return d, nil
}

func (f *flagSet) finish(stdin io.Reader) error {
	cfg := f.cfg
	// The display flags all set one mode; like mtr, the last one given wins.
	cfg.Mode = f.lastMode()
	cfg.Wide = f.wide
	if cfg.Privacy < 0 || cfg.Privacy > 255 {
		return fmt.Errorf("--privacy: value out of range (0-255): %d", cfg.Privacy)
	}
	if cfg.Privacy > 0 && f.serve != "" {
		return errors.New("--privacy hides hops in views and reports; --serve has neither")
	}
	if cfg.Privacy > 0 && f.reverseURL != "" {
		// The trace back ends in the user's own network and names this host's public address.
		return errors.New("--privacy cannot hide your network in the --reverse trace, which ends there; use one of them")
	}
	if args := f.fs.Args(); cfg.Analyze && len(args) == 1 && f.filename == "" && isReportFile(args[0]) {
		switch cfg.Mode {
		case ModeDefault, ModeReport, ModeCurses:
		default:
			return errors.New("--analyze FILE prints the analysis as text; -j, -x, -C, -p, -l, --markdown and --html are for tracing")
		}
		if f.changed("reverse") {
			return errors.New("--reverse traces; --analyze FILE reads a saved report")
		}
		cfg.ReadReport, cfg.Targets = args[0], nil
		return nil
	}
	if cfg.Analyze {
		switch cfg.Mode {
		case ModeCSV, ModeSplit, ModeRaw:
			return errors.New("--analyze works with the live view, -r, -j, -x, --markdown and --html, not with -C, -p or -l")
		}
	}

	if f.v4 && f.v6 {
		return errors.New("-4 and -6 are mutually exclusive")
	}
	switch {
	case f.v4:
		cfg.Family = 4
	case f.v6:
		cfg.Family = 6
	}
	if n := btoi(f.udp) + btoi(f.tcp) + btoi(f.sctp); n > 1 {
		return errors.New("-u, -T and -S are mutually exclusive")
	}
	switch {
	case f.udp:
		cfg.Protocol = vocab.UDPProbes
	case f.tcp:
		cfg.Protocol = vocab.TCPProbes
	case f.sctp:
		cfg.Protocol = vocab.SCTPProbes
	}
	if f.changed("port") {
		if err := checkRange("-P/--port", f.port, 1, 65535); err != nil {
			return err
		}
		cfg.Port = f.port
	}
	if f.changed("localport") {
		if err := checkRange("-L/--localport", f.localport, 1024, 65535); err != nil {
			return err
		}
		cfg.LocalPort = f.localport
	}
	if f.paris {
		if cfg.Protocol == vocab.ICMPProbes {
			return errors.New("--paris needs -u (UDP), -T (TCP) or -S (SCTP) probes")
		}
		cfg.Paris = true
	}
	if f.changed("ipinfo") {
		if err := checkRange("-y/--ipinfo", f.ipinfo, 0, 4); err != nil {
			return err
		}
	}
	// As in mtr, the last of -y and -z given wins.
	for _, name := range f.seen {
		switch name {
		case "ipinfo":
			cfg.ASLookup, cfg.IPInfo = true, f.ipinfo
		case "aslookup":
			if f.aslookup {
				cfg.ASLookup, cfg.IPInfo = true, 0
			}
		}
	}
	for _, p := range []struct {
		opt string
		val *string
		out *string
	}{{"--ipinfo_provider4", &f.provider4, &cfg.Provider4}, {"--ipinfo_provider6", &f.provider6, &cfg.Provider6}} {
		if *p.val == "" {
			continue
		}
		if err := checkDomain(p.opt, *p.val); err != nil {
			return err
		}
		*p.out = strings.TrimSuffix(*p.val, ".")
	}
	if err := checkRange("-c/--report-cycles", f.count, 1, math.MaxInt32); err != nil {
		return err
	}
	cfg.Count = f.count
	cfg.CountSet = f.changed("report-cycles")
	var err error
	if cfg.Interval, err = seconds("-i/--interval", f.interval); err != nil {
		return err
	}
	if cfg.Timeout, err = seconds("-Z/--timeout", f.timeout); err != nil {
		return err
	}
	if cfg.Grace, err = seconds("-G/--gracetime", f.grace); err != nil {
		return err
	}
	// A negative size is mtr's "random size per probe, up to that many bytes".
	if (f.psize < 28 || f.psize > 4470) && (f.psize > -28 || f.psize < -4470) {
		return rangeErr("-s/--psize", f.psize, "28", "4470, or -4470 to -28 for random")
	}
	cfg.Size = f.psize
	if f.bitpattern < 0 {
		return rangeErr("-B/--bitpattern", f.bitpattern, "0", "255, or more for random")
	}
	cfg.Pattern = f.bitpattern
	if err := checkRange("-Q/--tos", f.tos, 0, 255); err != nil {
		return err
	}
	cfg.TOS = f.tos
	if err := checkRange("-m/--max-ttl", f.max, 1, 255); err != nil {
		return err
	}
	if err := checkRange("-f/--first-ttl", f.first, 1, 255); err != nil {
		return err
	}
	if f.first > f.max {
		return fmt.Errorf("-f/--first-ttl %d is larger than -m/--max-ttl %d", f.first, f.max)
	}
	cfg.First, cfg.Max = f.first, f.max
	if err := checkRange("-U/--max-unknown", f.maxUnk, 1, 255); err != nil {
		return err
	}
	cfg.MaxUnknown = f.maxUnk
	if err := checkRange("-E/--max-display-path", f.maxPath, 1, 255); err != nil {
		return err
	}
	cfg.MaxPath = f.maxPath
	if err := checkRange("--displaymode", f.displaymode, 0, 3); err != nil {
		return err
	}
	cfg.DisplayMode = f.displaymode
	if f.address != "" {
		a, err := netip.ParseAddr(f.address)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("-a/--address: not an IP address: %q", f.address)
		}
		cfg.Source = a.Unmap()
	}
	if f.mark != "" {
		m, err := strconv.ParseUint(f.mark, 0, 32)
		if err != nil {
			return rangeErr("-M/--mark", f.mark, "0", "4294967295")
		}
		cfg.Mark = uint32(m)
	}
	cfg.Fields = vocab.DefaultFields
	if len(f.order) > 0 {
		cfg.Fields = f.order[len(f.order)-1]
	}
	if _, err := vocab.ParseFields(cfg.Fields); err != nil {
		return fmt.Errorf("-o/--order: %w", err)
	}

	cfg.Targets = f.fs.Args()
	if f.filename != "" {
		names, err := readTargets(f.filename, stdin)
		if err != nil {
			return err
		}
		cfg.Targets = append(cfg.Targets, names...)
	}
	if f.serve != "" || f.changed("serve") {
		if f.changed("reverse") || f.changed("tls-ca") {
			return errors.New("--reverse and --tls-ca are the client's; --serve answers reverse traces")
		}
		return f.finishServe()
	}
	for _, name := range []string{"serve-allow", "serve-loss-window", "serve-max-count", "serve-max-probes", "tls-cert", "tls-key", "serve-insecure"} {
		if f.changed(name) {
			return fmt.Errorf("--%s needs --serve", name)
		}
	}
	if err := f.finishReverse(); err != nil {
		return err
	}
	if len(cfg.Targets) == 0 {
		cfg.Targets = []string{"localhost"}
	}
	return f.finishReverse()
}

// finishServe checks the exporter's options. The exporter traces its targets without end, so
// -c is refused rather than ignored (/probe takes count= per request), and it is a view of its
// own, so no other display option applies. It may have no target at all: /probe only.
func (f *flagSet) finishServe() error {
	cfg := f.cfg
	addr, err := listenAddr(f.serve)
	if err != nil {
		return err
	}
	if f.changed("report-cycles") {
		return errors.New("--serve traces its targets without end: -c does not apply (a /probe request says count=)")
	}
	if cfg.Mode != ModeDefault || f.wide || f.changed("displaymode") {
		return errors.New("--serve is a view of its own: -r, -w, -t, -p, -l, -j, -x, -C, --markdown, --html and --displaymode do not apply")
	}
	cfg.Serve = Serve{Addr: addr}
	if f.changed("serve-allow") {
		if cfg.Serve.Allow, err = ParseAllow(f.serveAllow); err != nil {
			return err
		}
	}
	if err := checkRange("--serve-loss-window", f.lossWindow, 1, MaxLossWindow); err != nil {
		return err
	}
	if err := checkRange("--serve-max-count", f.serveMaxCount, 1, 10000); err != nil {
		return err
	}
	if err := checkRange("--serve-max-probes", f.serveMaxProbes, 1, 1000); err != nil {
		return err
	}
	cfg.Serve.LossWindow, cfg.Serve.MaxCount, cfg.Serve.MaxProbes = f.lossWindow, f.serveMaxCount, f.serveMaxProbes
	if f.tokenFile != "" {
		if cfg.Serve.Token, err = readToken(f.tokenFile); err != nil {
			return err
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	cfg.Serve.TLSCert, cfg.Serve.TLSKey, cfg.Serve.Insecure = f.tlsCert, f.tlsKey, f.serveInsecure
	// Given twice, a target would be two sets of series with the same labels.
	seen := map[string]bool{}
	targets := cfg.Targets[:0]
	for _, t := range cfg.Targets {
		if !seen[t] {
			seen[t] = true
			targets = append(targets, t)
		}
	}
	cfg.Targets = targets
	return nil
}

// finishReverse checks the client's options of a reverse trace and fills its request from the
// forward trace's options.
func (f *flagSet) finishReverse() error {
	cfg := f.cfg
	if !f.changed("reverse") {
		for _, name := range []string{"token-file", "tls-ca"} {
			if f.changed(name) {
				return fmt.Errorf("--%s needs --reverse URL (or, for --token-file, --serve)", name)
			}
		}
		return nil
	}
	if err := reverse.CheckURL(f.reverseURL); err != nil {
		return err
	}
	// Split and raw are streams of one path's lines that scripts read line by line: lines of
	// another path would be taken for its hops.
	switch cfg.Mode {
	case ModeSplit, ModeRaw:
		return errors.New("--reverse works with the live view, -r, -j, -x, -C, --markdown and --html, not with -p or -l (one path's stream)")
	}
	if len(cfg.Targets) > 1 {
		return fmt.Errorf("--reverse traces one path back: give one target, not %d", len(cfg.Targets))
	}
	if f.tokenFile == "" {
		return errors.New("--reverse needs --token-file FILE: the responder answers only callers with its token")
	}
	token, err := readToken(f.tokenFile)
	if err != nil {
		return err
	}
	req := reverse.Request{Protocol: cfg.Protocol, Port: cfg.Port, Count: cfg.Count}
	if f.changed("interval") {
		// Faster rounds than mtr allows an unprivileged user are not the far end's to give.
		req.Interval = max(cfg.Interval, time.Second)
	}
	if f.changed("psize") && cfg.Size > 0 {
		// A random size (-s -N) stays with the forward trace: the far end's sizes are its own.
		req.Size = cfg.Size
	}
	cfg.Reverse = reverse.Options{URL: f.reverseURL, Token: token, CAFile: f.tlsCA, Request: req}
	return nil
}

// maxToken bounds --token-file: a secret, not a document.
const maxToken = 1024

// readToken reads --token-file: one line of visible ASCII (it travels in an HTTP header),
// surrounding white space ignored.
func readToken(name string) (string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxToken+1))
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	if len(b) > maxToken {
		return "", fmt.Errorf("--token-file %s: longer than %d bytes", name, maxToken)
	}
	tok := strings.TrimSpace(string(b))
	switch {
	case tok == "":
		return "", fmt.Errorf("--token-file %s: empty", name)
	case strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r > '~' }):
		return "", fmt.Errorf("--token-file %s: the token must be one word of printable ASCII", name)
	}
	return tok, nil
}

// listenAddr checks --serve's HOST:PORT. An empty host would listen on every interface; it is
// allowed (":9116"), since that is what a user who types it wants, but the port is required.
func listenAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("--serve: want HOST:PORT (e.g. 127.0.0.1:9816 or [::1]:9816): %q", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("--serve: port %q is not a number 0-65535", port)
	}
	if host != "" && !strings.ContainsAny(host, "%") {
		if _, err := netip.ParseAddr(host); err != nil && checkDomain("--serve", host) != nil {
			return "", fmt.Errorf("--serve: %q is neither an IP address nor a host name", host)
		}
	}
	return s, nil
}

// ParseAllow reads --serve-allow: comma-separated prefixes (198.18.0.0/15, 2001:db8::/32) or
// single addresses, which stand for themselves alone.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("--serve-allow: not an address or CIDR prefix: %q", item)
		}
		if p.Addr().Is4In6() {
			// ::ffff:198.18.0.0/111 means 198.18.0.0/15 to a user; targets are unmapped.
			if p.Bits() < 96 {
				return nil, fmt.Errorf("--serve-allow: %q mixes IPv4-mapped and IPv6 addresses", item)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, errors.New("--serve-allow: no prefix given (leave it out to refuse every /probe)")
	}
	return out, nil
}

// isReportFile tells a saved report from a host after --analyze: "-" (stdin), a path with a
// slash, or an existing file. No host name holds a slash; a host that shares its name with a
// file in the current directory is rare enough that the file wins (trace it from elsewhere).
func isReportFile(arg string) bool {
	if arg == "-" || strings.ContainsRune(arg, '/') {
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && fi.Mode().IsRegular()
}

// lastMode finds the display flag given last on the command line.
func (f *flagSet) lastMode() Mode {
	mode := ModeDefault
	flags := map[string]Mode{
		"report": ModeReport, "report-wide": ModeReport, "curses": ModeCurses, "split": ModeSplit,
		"raw": ModeRaw, "json": ModeJSON, "csv": ModeCSV, "xml": ModeXML,
		"markdown": ModeMarkdown, "html": ModeHTML,
	}
	for _, name := range f.seen {
		if m, ok := flags[name]; ok {
			mode = m
		}
	}
	return mode
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func readTargets(name string, stdin io.Reader) ([]string, error) {
	var r io.Reader = stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("-F/--filename: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-F/--filename: %w", err)
	}
	return out, nil
}

// checkDomain refuses a provider that is not a DNS name: it is joined to reversed addresses and
// asked as is.
func checkDomain(opt, d string) error {
	d = strings.TrimSuffix(d, ".")
	bad := len(d) == 0 || len(d) > 200
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			bad = true
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				bad = true
			}
		}
	}
	if bad {
		return fmt.Errorf("%s: not a domain name: %q", opt, d)
	}
	return nil
}
