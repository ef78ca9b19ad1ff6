package cli

import (
	"fmt"
	"io"
)

// usage is mtr-go's --help: every option on one screen, grouped as an mtr user looks for them.
// pflag's generated help is not used: it does not fit a screen, and its bool-flag syntax changed
// between pflag releases.
const usage = `Usage: mtr-go [options] [HOST...]  trace every hop, like mtr; MTR_OPTIONS first
Output  -r --report        report after COUNT rounds  -w --report-wide  uncut
        -t --curses live UI (tty default)  -p --split  -l --raw  -j --json
        -C --csv -x --xml  --markdown --html  --analyze [FILE|-] --displaymode N
Hosts   -n --no-dns        addresses only             -b --show-ips name and IP
        -o --order FIELDS columns  -e --mpls MPLS  -E --max-display-path N (8)
        -y --ipinfo N      IP info (0-4)              -z --aslookup AS numbers
        --ipinfo_provider4 --ipinfo_provider6 DOMAIN  zones of -y/-z TXT lookups
Probes  -c --report-cycles COUNT  rounds (10)         -i --interval SECONDS (1)
        -4 --inet  -6 --inet6     address family      -f --first-ttl TTL    (1)
        -m --max-ttl TTL   largest TTL (30)           -U --max-unknown N    (12)
        -s --psize BYTES   size (64; -N: random)      -B --bitpattern N     (0)
        -Q --tos N         TOS/traffic class (0)      -a --address ADDR  source
        -I --interface NAME  send from NAME           -M --mark MARK     SO_MARK
        -u --udp -T --tcp -S --sctp --paris (1 flow)  -P --port -L --localport N
        -Z --timeout SECONDS  late answers (10)       -G --gracetime SECONDS (5)
Other   -F --filename FILE  -h --help  -v --version  --completion bash|zsh|fish
Serve   --serve HOST:PORT  /metrics, /probe, /reverse  --serve-allow CIDR,...
        --serve-loss-window N  --serve-max-count N  --serve-max-probes N
        /reverse: --token-file F  --tls-cert F --tls-key F  or --serve-insecure
Reverse --reverse URL --token-file F [--tls-ca CA.pem]  also trace back to here
Fields  L Loss% D Drop R Rcv S Snt N Last B Best A Avg W Wrst V StDev G Gmean
        J Jttr M Javg X Jmax I Jint (space) gap  Tickets --privacy N  --history
ICMP: sudo, setcap cap_net_raw+ep BINARY or --packet-helper PATH; -u/-T: none
`

// Usage writes the help text.
func Usage(w io.Writer) {
	fmt.Fprint(w, usage)
}
