// Package reverse is the client half of a reverse trace: it asks an mtr-go responder (the
// --serve server) to trace back to the address the request came from, and streams the
// responder's results in as its probes are answered, so views can show both directions of a path.
package reverse

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/mtr-go/mtr-go/internal/vocab"
	"github.com/mtr-go/mtr-go/stats"
)

// Request is what a caller may choose of the responder's trace, within the responder's limits.
// It has no target: the responder only ever traces back to the address the request came from.
type Request struct {
	Protocol vocab.Protocol
	Port     int           // -P for UDP/TCP; 0 = the protocol's default
	Count    int           // rounds; 0 = the responder's default
	Interval time.Duration // 0 = the responder's default
	Size     int           // packet size (-s); 0 = default
}

// Options says where the responder is and how to reach it.
type Options struct {
	URL     string // http(s)://host:port of the responder (its --serve address)
	Token   string // the shared secret (--token-file's content, trimmed)
	CAFile  string // PEM file of the CA to check an https responder against (--tls-ca); "" = the system's roots
	Request Request
}

// Update is the reverse trace as it stands after one more answer (or round) streamed in.
type Update struct {
	Responder string         // where the reverse trace runs from, as the responder names itself
	Target    netip.Addr     // the address it traces back to: the caller as the responder sees it (a NAT's public address behind NAT)
	Local     netip.Addr     // this host's address on the connection to the responder: Target unless a NAT stands between
	Snapshot  stats.Snapshot // the reverse path's hops so far
	Rounds    int            // rounds completed
	Done      bool           // the responder finished its rounds; no more updates follow
	Err       error          // why the reverse trace stopped or never started (the forward trace goes on); last update
}

// Stream is a reverse trace in progress.
type Stream interface {
	// Updates delivers the trace's progress, newest last; closed after the update that is Done or
	// carries Err.
	Updates() <-chan Update
	// Close stops the stream (and asks the responder to stop tracing).
	Close() error
}

// TargetNote is what the views put after the address a reverse trace went to: the user's
// address as the responder sees it, and when that is not the address this host connected from
// (local; zero when not known), that a NAT stands in front of this host, and this host's own.
func TargetNote(target, local netip.Addr) string {
	if local.IsValid() && local != target {
		return fmt.Sprintf("(your address as the responder sees it: a NAT's, in front of this host's %s)", local)
	}
	return "(your address as the responder sees it)"
}
