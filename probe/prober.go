package probe

import (
	"errors"
	"net/netip"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
)

// Prober is what every kind of probe (raw ICMP, unprivileged ICMP, UDP, TCP) offers the
// scheduler: send one probe with a sequence and a TTL, and deliver the answers matched to our
// probes, tagged with that sequence.
type Prober interface {
	// Send sends one probe and returns the time just before it left, taken in user space; an
	// answer's Reply.Sent, when set, is the kernel's later and truer send time.
	Send(seq uint16, ttl int) (time.Time, error)
	// Replies delivers answers to our probes only; it is closed once Close has stopped reading.
	Replies() <-chan Reply
	// LocalAddr is the source address in use, or the zero Addr when not known.
	LocalAddr() netip.Addr
	// Close releases the sockets and waits for the readers to stop.
	Close() error
}

// Protocol is the kind of packet a probe is; the type lives in vocab so the views can name it
// without importing the probers.
type Protocol = vocab.Protocol

// The probe protocols (mtr's default, -u, -T and -S).
const (
	ICMPProbes = vocab.ICMPProbes
	UDPProbes  = vocab.UDPProbes
	TCPProbes  = vocab.TCPProbes
	SCTPProbes = vocab.SCTPProbes
)

// Classic UDP probes use destination ports from where traceroute's range starts, so hosts and
// firewalls that answer (or let through) traceroute answer us too. The port of each probe is
// udpBasePort plus its sequence (as mtr carries its sequence in the port), which is what makes
// classic mode walk every ECMP branch and lets an 8-byte quote name the probe.
const (
	udpBasePort = 33434
	udpSeqs     = 1<<16 - udpBasePort // ports 33434..65535
	defaultTCP  = 80
)

// defaultTimeout is how long a TCP probe waits for its answer when Config.Timeout is 0 (mtr -Z).
const defaultTimeout = 10 * time.Second

// ErrNoPrivilege is wrapped by the error OpenProber returns for ICMP when neither raw sockets
// (root or CAP_NET_RAW) nor unprivileged ping sockets (net.ipv4.ping_group_range) are allowed.
var ErrNoPrivilege = errors.New("no permission to open raw or unprivileged ICMP sockets")

// Sequencer is implemented by probers that tell apart fewer than 65536 probes at once, because
// the sequence travels in a field with fewer values (classic UDP carries it in the destination
// port). Sequences returns n: the scheduler then uses only sequence numbers 0..n-1, never reuses
// one whose probe may still be answered, and refuses an interval so short that more than n
// probes would be outstanding within the timeout. A prober without it has all 65536.
type Sequencer interface {
	Sequences() int
}

// sequences is the sequence space a prober for cfg offers (see Sequencer); the raw TCP prober
// says it for itself, since the unprivileged one it falls back to has all 65536.
func (cfg Config) sequences() int {
	switch {
	case cfg.Protocol == UDPProbes && cfg.Port == 0 && !cfg.Paris:
		return udpSeqs // the sequence travels in the destination port
	case (cfg.Protocol == TCPProbes || cfg.Protocol == SCTPProbes) && !cfg.Paris:
		return tcpClassicPorts // raw SYNs and INITs carry it in the source port
	}
	return 1 << 16
}
