package inbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend makes a session per connection (go-smtp calls NewSession at EHLO, and again after
// STARTTLS).
type backend struct{ inbox *Inbox }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{inbox: b.inbox, conn: c}, nil
}

// session is one SMTP conversation. go-smtp calls its methods from the connection's single
// goroutine, so it needs no lock.
type session struct {
	inbox    *Inbox
	conn     *smtp.Conn
	authed   bool
	failures int
	from     string
	rcpts    []string
}

// Replies for our own failures. Their text is fixed: go-smtp would otherwise send an
// error's text to the client.
var (
	errStoreFailed = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Could not store the message, try again later"}
	errReadFailed  = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Could not read the message, try again later"}
)

// authRequired says whether the client must still authenticate. go-smtp leaves this check
// to the backend by design.
func (s *session) authRequired() bool {
	return s.inbox.opts.Username != "" && !s.authed
}

func (s *session) AuthMechanisms() []string {
	if s.inbox.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.inbox.opts.Username == "" {
		return nil, smtp.ErrAuthUnsupported
	}
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		// No proxy authentication: an authorization identity must be the user itself.
		ok := identity == "" || identity == username
		ok = equal(username, s.inbox.opts.Username) && ok
		ok = equal(password, s.inbox.opts.Password) && ok
		if ok {
			s.authed = true
			return nil
		}
		s.failures++
		s.inbox.log.Warn("smtp auth failed", "remote", s.conn.Conn().RemoteAddr().String(), "failures", s.failures)
		// go-smtp does not limit AUTH attempts itself. A session lasts the whole
		// connection here (STARTTLS happens before AUTH is allowed), so this count cannot
		// be reset by the client.
		if s.failures >= s.inbox.opts.Limits.MaxAuthFailures {
			s.conn.Close()
		}
		// ErrAuthFailed is 535, permanent; any other error would become a temporary 454.
		return smtp.ErrAuthFailed
	}), nil
}

// equal compares in constant time, also over the length (hashing first).
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.authRequired() {
		return smtp.ErrAuthRequired
	}
	s.from = from
	s.rcpts = nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.authRequired() {
		return smtp.ErrAuthRequired
	}
	// go-smtp enforces MaxRecipients before calling Rcpt.
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	if s.authRequired() {
		return smtp.ErrAuthRequired
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		// go-smtp matches its own errors by type assertion, not errors.As: return the
		// *SMTPError itself (552 for a message over MaxMessageBytes).
		var smtpErr *smtp.SMTPError
		if errors.As(err, &smtpErr) {
			return smtpErr
		}
		return errReadFailed
	}
	if !s.inbox.beginStore() {
		return errStoreFailed
	}
	defer s.inbox.endStore()
	if err := s.inbox.store(s.from, s.rcpts, raw); err != nil {
		s.inbox.log.Error("inbox could not store a message", "error", err)
		return errStoreFailed
	}
	return nil
}

func (s *session) Reset() {
	s.from = ""
	s.rcpts = nil
}

func (s *session) Logout() error { return nil }
