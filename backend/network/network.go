// Package network finds the address a request comes from and reduces it to the
// "location" the server remembers: an IPv4 /24 or an IPv6 /48.
package network

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver reads the client address of a request. X-Forwarded-For is believed only when
// the direct peer is a trusted proxy; otherwise anyone could claim any network.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver parses the trusted proxies, each a CIDR ("10.0.0.0/8") or a single address.
func NewResolver(trustedProxies []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range trustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: not a CIDR or an address", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// FromTrustedProxy reports whether req's direct peer is a trusted proxy, whose
// X-Forwarded-* headers may be believed.
func (r *Resolver) FromTrustedProxy(req *http.Request) bool {
	peer := peerAddr(req.RemoteAddr)
	return peer.IsValid() && r.isTrusted(peer)
}

// ClientAddr is the address of the client behind req. Walking X-Forwarded-For from the
// right, it skips trusted proxies and stops at the first address that is not one: the
// entries further left were written by the client and prove nothing.
func (r *Resolver) ClientAddr(req *http.Request) netip.Addr {
	peer := peerAddr(req.RemoteAddr)
	if !peer.IsValid() || !r.isTrusted(peer) {
		return peer
	}
	hops := req.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		all = append(all, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(all) - 1; i >= 0; i-- {
		// Some proxies write "ip:port" or "[ipv6]:port"; peerAddr reads both.
		a := peerAddr(strings.TrimSpace(all[i]))
		if !a.IsValid() {
			break
		}
		client = a
		if !r.isTrusted(client) {
			break
		}
	}
	return client
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// Of reduces an address to its network: the /24 of an IPv4 address, the /48 of an IPv6
// one, as households and offices are usually given. An invalid address maps to "unknown".
func Of(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}
