package outbox

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Sender hands one message to a mail server.
//
// Send returns nil only once the server has accepted the message for every recipient: the
// outbox then marks it sent and never sends it again. A failure says whether to try again
// by its type: an *smtp.SMTPError (found with errors.As) with a 5xx code is permanent and
// the mail is marked failed; one with a 4xx code is temporary; any other error (network
// down, timeout, TLS trouble) is also treated as temporary. Send must return when ctx is
// done. The error text is stored and logged, so it must not contain the message.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// SMTPSender delivers over SMTP with the go-smtp client: to the embedded QA inbox on loopback,
// or to a relay.
type SMTPSender struct {
	// Addr is the server's host:port.
	Addr string
	// TLS, if set, makes STARTTLS mandatory: a server that does not offer it, or whose
	// certificate does not verify against TLS.RootCAs (or the system roots), gets nothing,
	// credentials included. There is no fallback to plain text. ServerName defaults to
	// Addr's host.
	TLS *tls.Config
	// Username and Password, if set, authenticate with AUTH PLAIN. They are sent only inside
	// TLS, or in plain text to a loopback Addr.
	Username, Password string
	// Timeout bounds one whole delivery, from dial to QUIT. Default 1 minute.
	Timeout time.Duration
	// LocalName is the EHLO name; default "localhost". With STARTTLS the first EHLO, before
	// TLS, always says "localhost" (go-smtp does not let it be changed there).
	LocalName string
}

// Send delivers msg to the server at s.Addr. See Sender for the contract.
func (s SMTPSender) Send(ctx context.Context, from string, to []string, msg []byte) (err error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr, err)
	}
	if s.Username != "" && s.TLS == nil && !isLoopback(host) {
		return fmt.Errorf("smtp %s: refusing to send credentials without TLS to a relay that is not on loopback", s.Addr)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		// A connection closed by ctx shows up as "use of closed network connection"; say why.
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
	}()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr, err)
	}
	// go-smtp's own timeouts reset the connection deadline per command, so ctx is enforced
	// by closing the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	if s.TLS != nil {
		cfg := s.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if c, err = smtp.NewClientStartTLS(conn, cfg); err != nil {
			conn.Close()
			return fmt.Errorf("smtp %s: starttls: %w", s.Addr, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = timeout
	c.SubmissionTimeout = timeout
	// EHLO now, explicitly: after STARTTLS it is what runs the TLS handshake, and go-smtp's
	// query methods (SupportsAuth) would swallow a handshake error.
	if err := c.Hello(cmp.Or(s.LocalName, "localhost")); err != nil {
		return fmt.Errorf("smtp %s: ehlo: %w", s.Addr, err)
	}

	if s.Username != "" {
		if state, secure := c.TLSConnectionState(); !(secure && state.HandshakeComplete) && !isLoopback(host) {
			return fmt.Errorf("smtp %s: refusing to send credentials without TLS", s.Addr)
		}
		if !c.SupportsAuth(sasl.Plain) {
			return fmt.Errorf("smtp %s: server does not offer AUTH PLAIN", s.Addr)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", s.Addr, err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr, err)
	}
	// The server has accepted the message. Whatever QUIT does, this delivery succeeded:
	// reporting an error now would make the outbox send it again.
	_ = c.Quit()
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describe turns a Send error into the text stored in last_error (the server's reply code and
// text, or the network error) and says whether it is permanent.
func describe(err error) (reply string, permanent bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		reply = fmt.Sprintf("%d", se.Code)
		if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
			reply += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		reply += " " + se.Message
		permanent = se.Code >= 500 && se.Code < 600
	} else {
		reply = err.Error()
	}
	return oneLine(maskDigits(reply), 300), permanent
}

// maskDigits hides runs of six or more digits: a relay's content filter may quote the
// subject in its reply, and the subject holds the code, which must not reach the
// database or the log.
func maskDigits(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j-i >= 6 {
			for k := i; k < j; k++ {
				b[k] = '#'
			}
		}
		if j == i {
			j++
		}
		i = j
	}
	return string(b)
}

// oneLine keeps stored and logged error text to one bounded line.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}
