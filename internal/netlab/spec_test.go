package netlab

import (
	"strings"
	"testing"
	"time"
)

func TestSpecValidation(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"zero value is 5 clean routers", Spec{}, ""},
		{"every fault at once", Spec{Routers: 6, Throttle: map[int]int{2: 40}, LossFrom: 5, LossPercent: 15, SilentDest: true, ThrottleDest: 30, Loop: 3, Dead: 6, NoRoute: 4, DNS: true}, ""},
		{"too many routers", Spec{Routers: MaxRouters + 1}, "Routers"},
		{"throttle beyond the chain", Spec{Routers: 3, Throttle: map[int]int{4: 10}}, "Throttle hop"},
		{"throttle over 100 %", Spec{Throttle: map[int]int{1: 101}}, "Throttle[1]"},
		{"destination throttle over 100 %", Spec{ThrottleDest: 101}, "ThrottleDest"},
		{"destination throttle negative", Spec{ThrottleDest: -1}, "ThrottleDest"},
		{"loss percent negative", Spec{LossFrom: 1, LossPercent: -1}, "LossPercent"},
		{"loop at the first router", Spec{Loop: 1}, "Loop"},
		{"dead beyond the chain", Spec{Routers: 2, Dead: 3}, "Dead"},
		{"slow answer beyond the chain", Spec{Routers: 3, SlowAnswer: map[int]time.Duration{4: time.Second}}, "SlowAnswer hop"},
		{"slow answer without delay", Spec{SlowAnswer: map[int]time.Duration{2: 0}}, "SlowAnswer[2]"},
		{"slow answer over 30 s", Spec{SlowAnswer: map[int]time.Duration{2: time.Minute}}, "SlowAnswer[2]"},
		{"fresh IPv6 with a loop", Spec{FreshIPv6: true, Loop: 3}, "FreshIPv6"},
		{"loop and no route on one router", Spec{Loop: 3, NoRoute: 3}, "both on router 3"},
		{"asymmetric return behind a NAT", Spec{Routers: 5, ReturnVia: 3, ReturnLoss: 30, NAT: 1}, ""},
		{"return through router 1 parts nowhere", Spec{ReturnVia: 1}, "ReturnVia"},
		{"return beyond the chain", Spec{Routers: 3, ReturnVia: 4}, "ReturnVia"},
		{"return loss over 100 %", Spec{ReturnVia: 2, ReturnLoss: 101}, "ReturnLoss"},
		{"return loss without a return router", Spec{ReturnLoss: 10}, "needs ReturnVia"},
		{"return with ECMP", Spec{Routers: 5, ReturnVia: 3, ECMP: 1}, "ReturnVia cannot"},
		{"NAT beyond the chain", Spec{Routers: 2, NAT: 3}, "NAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.spec.normalize()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
			case err == nil && s.Routers < 1:
				t.Fatalf("Routers = %d after normalize", s.Routers)
			}
		})
	}
}

func TestAddressing(t *testing.T) {
	tests := []struct {
		link  int
		right bool
		v4    string
		v6    string
	}{
		{0, false, "198.18.0.1", "2001:db8::1"},
		{0, true, "198.18.0.2", "2001:db8::2"},
		{5, true, "198.18.5.2", "2001:db8:5::2"},
		{250, false, "198.18.250.1", "2001:db8:fa::1"},
	}
	for _, tt := range tests {
		if got := linkAddr4(tt.link, tt.right).String(); got != tt.v4 {
			t.Errorf("linkAddr4(%d, %v) = %s, want %s", tt.link, tt.right, got, tt.v4)
		}
		if got := linkAddr6(tt.link, tt.right).String(); got != tt.v6 {
			t.Errorf("linkAddr6(%d, %v) = %s, want %s", tt.link, tt.right, got, tt.v6)
		}
	}
	if got := linkPrefix6(3).String(); got != "2001:db8:3::/64" {
		t.Errorf("linkPrefix6(3) = %s", got)
	}
}

// TestReversePath checks the trace from the destination that each shape of lab promises, by
// hand: router k answers the destination from 198.18.k.1, rx from 198.19.2.2.
func TestReversePath(t *testing.T) {
	tests := []struct {
		name   string
		spec   Spec
		public string
		want   string
	}{
		{"symmetric", Spec{Routers: 3}, "198.18.0.1",
			"198.18.3.1 198.18.2.1 198.18.1.1 198.18.0.1"},
		{"return through rx from router 3", Spec{Routers: 5, ReturnVia: 3}, "198.18.0.1",
			"198.18.5.1 198.18.4.1 198.18.3.1 198.19.2.2 198.18.1.1 198.18.0.1"},
		{"return through rx from router 2", Spec{Routers: 2, ReturnVia: 2}, "198.18.0.1",
			"198.18.2.1 198.19.2.2 198.18.1.1 198.18.0.1"},
		{"NAT at router 2", Spec{Routers: 4, NAT: 2}, "198.18.2.1",
			"198.18.4.1 198.18.3.1 198.18.2.1"},
		{"NAT at router 1 behind rx", Spec{Routers: 5, ReturnVia: 4, NAT: 1}, "198.18.1.1",
			"198.18.5.1 198.18.4.1 198.19.2.2 198.18.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := tt.spec.normalize()
			if err != nil {
				t.Fatal(err)
			}
			l := &Lab{Spec: spec}
			if spec.ReturnVia > 0 {
				l.Return4, l.Return6 = returnAddr4(0, true), returnAddr6(0, true)
			}
			l.reversePath()
			var got []string
			for _, a := range l.Reverse4 {
				got = append(got, a.String())
			}
			if strings.Join(got, " ") != tt.want || l.Public4.String() != tt.public {
				t.Errorf("Reverse4 = %v to %v, want %s to %s", got, l.Public4, tt.want, tt.public)
			}
			if len(l.Reverse6) != len(l.Reverse4) || l.Reverse6[len(l.Reverse6)-1] != l.Public6 {
				t.Errorf("Reverse6 = %v, Public6 %v", l.Reverse6, l.Public6)
			}
		})
	}
}
