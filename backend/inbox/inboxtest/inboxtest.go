// Package inboxtest starts a QA inbox on loopback for tests, and makes test TLS certificates.
package inboxtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"path/filepath"
	"testing"
	"time"

	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
)

// Start opens an inbox in t.TempDir() and serves it on 127.0.0.1 on a free port. It returns
// the inbox and its address; the inbox is closed when the test ends.
func Start(t testing.TB, clk clock.Clock, opts inbox.Options) (*inbox.Inbox, string) {
	t.Helper()
	return StartAt(t, clk, opts, "127.0.0.1:0")
}

// StartAt is Start listening on addr, e.g. a port a test saw refused while "the relay was down".
func StartAt(t testing.TB, clk clock.Clock, opts inbox.Options, addr string) (*inbox.Inbox, string) {
	t.Helper()
	ib, err := inbox.Open(context.Background(), filepath.Join(t.TempDir(), "inbox.db"), clk, Logger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		ib.Close()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ib.Serve(l) }()
	t.Cleanup(func() {
		if err := ib.Close(); err != nil {
			t.Errorf("close inbox: %v", err)
		}
		// ErrClosed: the test ended before Serve started.
		if err := <-served; err != nil && !errors.Is(err, inbox.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ib, l.Addr().String()
}

// Logger writes to the test's output, shown only for failures or with -v.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// Certificate makes a self-signed certificate for "localhost" and 127.0.0.1, valid from an hour
// ago for a day. It returns a server TLS config using it and a pool trusting only it, for a
// client to pin.
func Certificate(t testing.TB) (server *tls.Config, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shoplogin test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, roots
}
