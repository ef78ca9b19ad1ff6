package netlab

import (
	"encoding/json"
	"fmt"
)

// Drops returns how many packets the lab's interfaces have dropped so far, received and sent,
// over every namespace. On a path without faults a probe can be lost in the lab only there
// (a veth drops what it sends when its peer's backlog is full), so a program that reports
// loss while Drops stays the same lost the answers itself. Compare two calls: a lab may drop a
// packet or two while it comes up (a veth that sends before its peer is up).
func (l *Lab) Drops() (uint64, error) {
	var total uint64
	for _, ns := range l.allNamespaces() {
		out, err := run("", "ip", "-n", ns, "-s", "-j", "link", "show")
		if err != nil {
			return 0, err
		}
		n, err := linkDrops([]byte(out))
		if err != nil {
			return 0, fmt.Errorf("netlab: interfaces of %s: %w", ns, err)
		}
		total += n
	}
	return total, nil
}

// linkDrops adds up the received and sent drops of every interface in `ip -s -j link show`.
func linkDrops(b []byte) (uint64, error) {
	var links []struct {
		Stats64 *struct {
			RX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"rx"`
			TX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(b, &links); err != nil {
		return 0, fmt.Errorf("ip -s -j link: %w", err)
	}
	var total uint64
	for _, l := range links {
		if l.Stats64 == nil {
			return 0, fmt.Errorf("ip -s -j link: an interface without stats64")
		}
		total += l.Stats64.RX.Dropped + l.Stats64.TX.Dropped
	}
	return total, nil
}
