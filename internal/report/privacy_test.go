package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/mtr-go/mtr-go/internal/analyze"
	"github.com/mtr-go/mtr-go/internal/vocab"
)

// TestPrivacyEveryFormat writes the ECMP path (hop 2 answers from two addresses) with hops 1-2
// masked in every format: nothing of hops 1-2 or of the local host may be left, hop 3 and the
// destination stay, and the masked hops keep their rows.
func TestPrivacyEveryFormat(t *testing.T) {
	names := mapNames(map[string]string{
		"198.18.0.2":   "gw.home.lab",
		"198.18.1.2":   "isp-edge.lab",
		"198.18.101.2": "isp-edge2.lab",
		"198.18.3.2":   "server.example.org",
	})
	raw := fakeECMP(t)
	snap := vocab.Mask(raw, 2)
	a := analyze.Analyze(analyze.Input{Snapshot: snap})
	o := Options{LocalHost: vocab.Hidden, ShowIPs: true, MPLS: true, Analysis: &a}
	c := formatCase{name: "privacy", snap: snap, names: names, meta: testMeta, opts: o}
	secret := []string{"198.18.0.2", "198.18.1.2", "198.18.101.2", "gw.home", "isp-edge"}
	outputs := map[string][]byte{}
	for _, f := range formats {
		var b bytes.Buffer
		if err := f.write(&b, c); err != nil {
			t.Fatal(err)
		}
		outputs[f.name] = b.Bytes()
	}
	var b bytes.Buffer
	if err := Text(&b, snap, names, o); err != nil {
		t.Fatal(err)
	}
	outputs["text"] = b.Bytes()
	b.Reset()
	if err := NewSplit(&b, true).Update(snap, names); err != nil {
		t.Fatal(err)
	}
	outputs["split"] = b.Bytes()

	for name, out := range outputs {
		s := string(out)
		for _, x := range secret {
			if strings.Contains(s, x) {
				t.Errorf("%s: %q is still there:\n%s", name, x, s)
			}
		}
		if !strings.Contains(s, "(hidden)") || !strings.Contains(s, "server.example.org") {
			t.Errorf("%s: no (hidden) or no destination:\n%s", name, s)
		}
	}
	if n := strings.Count(string(outputs["text"]), "(hidden)"); n != 4 { // HOST:, hop 1, hop 2's two addresses
		t.Errorf("text report: %d times (hidden), want 4:\n%s", n, outputs["text"])
	}

	// JSON keeps the structure: as many hubs as without privacy, each masked field a string.
	var masked, plain struct {
		Report struct {
			Hubs []map[string]any `json:"hubs"`
		} `json:"report"`
	}
	b.Reset()
	if err := JSON(&b, raw, names, testMeta, Options{LocalHost: "vm"}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &plain); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(outputs["json"], &masked); err != nil {
		t.Fatal(err)
	}
	if len(masked.Report.Hubs) != len(plain.Report.Hubs) || len(masked.Report.Hubs) < 3 {
		t.Fatalf("hubs: %d masked, %d plain", len(masked.Report.Hubs), len(plain.Report.Hubs))
	}
	for i, h := range masked.Report.Hubs[:2] {
		if h["host"] != "(hidden)" || h["ip"] != "(hidden)" || h["Snt"] != plain.Report.Hubs[i]["Snt"] {
			t.Errorf("hub %d: %v", i+1, h)
		}
	}
}

// TestPrivacyRaw masks the raw stream's replies by TTL as the app does.
func TestPrivacyRaw(t *testing.T) {
	var b bytes.Buffer
	r := NewRaw(&b, mapNames(map[string]string{"198.18.0.2": "gw.home.lab"}))
	for ttl, from := range []string{"198.18.0.2", "198.18.3.2"} {
		r.Sent(ttl+1, uint16(ttl))
		r.Reply(ttl+1, uint16(ttl), vocab.MaskAddr(netip.MustParseAddr(from), ttl+1, 1), 0)
	}
	if s := b.String(); strings.Contains(s, "198.18.0.2") || strings.Contains(s, "gw.home") || !strings.Contains(s, "h 0 (hidden)") || !strings.Contains(s, "h 1 198.18.3.2") {
		t.Errorf("raw stream:\n%s", s)
	}
}
