package network

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestNetworkIsTheSlash24OrSlash48(t *testing.T) {
	cases := map[string]string{
		"203.0.113.77":          "203.0.113.0/24",
		"::ffff:203.0.113.77":   "203.0.113.0/24",
		"2001:db8:1234:5678::1": "2001:db8:1234::/48",
		"127.0.0.1":             "127.0.0.0/24",
		"fe80::1%eth0":          "fe80::/48",
	}
	for in, want := range cases {
		if got := Of(netip.MustParseAddr(in)); got != want {
			t.Errorf("Of(%s) = %s, want %s", in, got, want)
		}
	}
	if got := Of(netip.Addr{}); got != "unknown" {
		t.Errorf("Of(invalid) = %s", got)
	}
}

func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	r, err := NewResolver([]string{"127.0.0.1/32", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer, xff, want string
	}{
		{"direct client", "198.51.100.1:5000", "", "198.51.100.1"},
		{"untrusted peer's header ignored", "198.51.100.1:5000", "203.0.113.9", "198.51.100.1"},
		{"trusted proxy", "127.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"chain of proxies", "127.0.0.1:5000", "203.0.113.9, 10.1.2.3", "203.0.113.9"},
		{"spoofed left entry ignored", "127.0.0.1:5000", "1.2.3.4, 203.0.113.9", "203.0.113.9"},
		{"garbage stops the walk", "127.0.0.1:5000", "203.0.113.9, nonsense", "127.0.0.1"},
		{"ipv6 peer", "[2001:db8::1]:443", "", "2001:db8::1"},
		{"entries with ports", "127.0.0.1:5000", "203.0.113.9:51234, [2001:db8::7]:443", "2001:db8::7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.peer
			if c.xff != "" {
				req.Header.Set("X-Forwarded-For", c.xff)
			}
			if got := r.ClientAddr(req); got.String() != c.want {
				t.Errorf("ClientAddr = %s, want %s", got, c.want)
			}
		})
	}
}

func TestNewResolverRejectsBadProxies(t *testing.T) {
	if _, err := NewResolver([]string{"not-an-ip"}); err == nil {
		t.Fatal("accepted a bad trusted proxy")
	}
	if _, err := NewResolver([]string{"192.168.1.7"}); err != nil {
		t.Fatalf("refused a single address: %v", err)
	}
}
