// Package message builds the emails the account server sends: sign-in codes and security notices.
package message

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	netmail "net/mail"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

// KindHeader names the header that says what an email is for, so the QA inbox can find code
// emails without parsing brand-specific subjects.
const KindHeader = "X-Shoplogin-Kind"

// Values of KindHeader.
const (
	KindCode   = "signin-code"
	KindNotice = "notice"
)

// ErrInvalid is returned (wrapped, naming the field) when a value cannot go into an email:
// a header value with a line break or control character, an address that is not a bare
// addr-spec, a malformed code. The offending value is never echoed: it may be hostile.
var ErrInvalid = errors.New("invalid email field")

// Brand is the text and sender that make an email look like the vendor's. Empty fields take
// the defaults of DefaultBrand.
type Brand struct {
	// Product names the account in subjects and bodies. Default "Image Line Account".
	Product string
	// FromName is the sender's display name; empty sends the bare address, as the seed shows.
	FromName string
	// FromAddress is the sender's address. Default "no-reply@shoplogin.localhost".
	FromAddress string
	// Rand supplies the randomness of Message-IDs; nil means crypto/rand. (MIME boundaries
	// come from go-message, which always uses crypto/rand.)
	Rand io.Reader
}

const (
	defaultProduct     = "Image Line Account"
	defaultFromAddress = "no-reply@shoplogin.localhost"
)

// DefaultBrand reproduces the seed article's emails.
func DefaultBrand() Brand {
	return Brand{Product: defaultProduct, FromAddress: defaultFromAddress}
}

func (b Brand) withDefaults() Brand {
	if b.Product == "" {
		b.Product = defaultProduct
	}
	if b.FromAddress == "" {
		b.FromAddress = defaultFromAddress
	}
	if b.Rand == nil {
		b.Rand = rand.Reader
	}
	return b
}

// CodeSubject is the subject of a sign-in code email. With the default brand it is, to the
// character, the one the seed article tells users to look for.
func (b Brand) CodeSubject(code string) string {
	b = b.withDefaults()
	return b.Product + " | Two Factor Authentication code ( " + code + " ) [Action Required]"
}

// CodeEmail is what a sign-in code email says.
type CodeEmail struct {
	To         string        // bare address, e.g. "ann@example.com"
	Code       string        // six ASCII digits
	DeviceName string        // the device asking, as it named itself (sanitised, not trusted)
	Network    string        // the network asking, e.g. "203.0.113.0/24"
	ValidFor   time.Duration // how long the code works
	Sent       time.Time     // the Date header; from the caller's clock
}

// Notice is a security notice: 2FA turned on or off, password changed, a sign-up attempt on an
// existing address.
type Notice struct {
	To      string // bare address
	Subject string // one line
	Text    string // plain text; blank lines separate paragraphs
	Sent    time.Time
}

var codeRE = regexp.MustCompile(`^[0-9]{6}$`)

// Code builds a sign-in code email: multipart/alternative with a text and an HTML part, each
// showing the code, its validity, who is asking, and what to do if it was not the user.
func (b Brand) Code(e CodeEmail) ([]byte, error) {
	b = b.withDefaults()
	if !codeRE.MatchString(e.Code) {
		return nil, fmt.Errorf("build code email: code: %w", ErrInvalid)
	}
	if e.ValidFor <= 0 {
		return nil, fmt.Errorf("build code email: valid for: %w", ErrInvalid)
	}
	data := codeData{
		Product:  b.Product,
		Code:     e.Code,
		ValidFor: humanDuration(e.ValidFor),
		Device:   bodyValue(e.DeviceName),
		Network:  bodyValue(e.Network),
		When:     e.Sent.UTC().Format("2006-01-02 15:04 MST"),
		From:     b.FromAddress,
	}
	msg, err := b.build(e.To, b.CodeSubject(e.Code), KindCode, e.Sent, codeText, codeHTML, data)
	if err != nil {
		return nil, fmt.Errorf("build code email: %w", err)
	}
	return msg, nil
}

// Notice builds a security notice email.
func (b Brand) Notice(n Notice) ([]byte, error) {
	b = b.withDefaults()
	var paras []string
	for p := range strings.SplitSeq(strings.ReplaceAll(n.Text, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(sanitiseBody(p)); p != "" {
			paras = append(paras, p)
		}
	}
	data := noticeData{Product: b.Product, Paragraphs: paras, From: b.FromAddress}
	msg, err := b.build(n.To, n.Subject, KindNotice, n.Sent, noticeText, noticeHTML, data)
	if err != nil {
		return nil, fmt.Errorf("build notice email: %w", err)
	}
	return msg, nil
}

// build writes the header and both parts. Every header value is checked here, in one place,
// so no caller can smuggle a line break into the header block.
func (b Brand) build(to, subject, kind string, sent time.Time, text *texttemplate.Template, html *htmltemplate.Template, data any) ([]byte, error) {
	if err := checkAddress(to); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if err := checkAddress(b.FromAddress); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	for _, f := range []struct{ name, value string }{
		{"from name", b.FromName}, {"product", b.Product}, {"subject", subject},
	} {
		if err := checkHeaderText(f.value); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if subject == "" {
		return nil, fmt.Errorf("subject: %w", ErrInvalid)
	}
	if sent.IsZero() {
		return nil, fmt.Errorf("date: %w", ErrInvalid)
	}
	id, err := b.messageID()
	if err != nil {
		return nil, err
	}

	// go-message inserts each field at the top, so they are set last-first to read
	// Date, From, To, Subject... in the output.
	var h mail.Header
	h.Set(KindHeader, kind)
	// RFC 3834: tells auto-responders (vacation replies) not to answer a no-reply sender.
	h.Set("Auto-Submitted", "auto-generated")
	h.SetMessageID(id)
	h.SetSubject(subject)
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	h.SetAddressList("From", []*mail.Address{{Name: b.FromName, Address: b.FromAddress}})
	h.SetDate(sent)

	var buf bytes.Buffer
	w, err := mail.CreateInlineWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	if err := writePart(w, "text/plain", func(pw io.Writer) error { return text.Execute(pw, data) }); err != nil {
		return nil, err
	}
	if err := writePart(w, "text/html", func(pw io.Writer) error { return html.Execute(pw, data) }); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writePart(w *mail.InlineWriter, contentType string, body func(io.Writer) error) error {
	var h mail.InlineHeader
	h.SetContentType(contentType, map[string]string{"charset": "utf-8"})
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if err := body(pw); err != nil {
		pw.Close()
		return err
	}
	return pw.Close()
}

// messageID is random on the left and the sender's domain on the right (RFC 5322 3.6.4),
// so that it is unique without revealing the host name.
func (b Brand) messageID() (string, error) {
	var r [15]byte
	if _, err := io.ReadFull(b.Rand, r[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	domain := b.FromAddress[strings.LastIndexByte(b.FromAddress, '@')+1:]
	return strings.ToLower(base32.StdEncoding.EncodeToString(r[:])) + "@" + domain, nil
}

// checkAddress accepts only a bare addr-spec ("ann@example.com"): no display name, no
// comments, no line breaks. net/mail does the RFC 5322 parsing; requiring the parsed address
// to equal the input rejects everything it would have reinterpreted.
func checkAddress(s string) error {
	if s == "" || len(s) > 254 || checkHeaderText(s) != nil {
		return ErrInvalid
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s, "@") {
		return ErrInvalid
	}
	return nil
}

// checkHeaderText refuses what could end a header line or confuse a mail client: control
// characters (C0, DEL, C1 including NEL), Unicode line and paragraph separators, invalid UTF-8,
// and "=?", which starts an RFC 2047 encoded word: printable ASCII is written as is, so a
// literal "=?utf-8?q?=0D=0A?=" would reach the reader's client as a line break. It also
// refuses leading, trailing and doubled spaces, which folding and lenient unfolding (net/mail
// among others) do not preserve: what is sent is then exactly what is read.
func checkHeaderText(s string) error {
	if !utf8.ValidString(s) || strings.Contains(s, "=?") ||
		strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		return ErrInvalid
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ErrInvalid
		}
	}
	return nil
}

// bodyValue makes a caller-supplied value (a device name the client chose) safe to show in a
// body line: no line breaks or control characters, a bounded length, "unknown" if empty.
// It does not refuse: a sign-in must not fail because a device has an odd name.
func bodyValue(s string) string {
	s = strings.TrimSpace(strings.Join(strings.Fields(sanitiseBody(s)), " "))
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// sanitiseBody drops control characters other than newline and tab, and invalid UTF-8.
func sanitiseBody(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// humanDuration says "10 minutes", "1 minute", "1 hour" or "90 seconds".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64((d+time.Second-1)/time.Second), "second")
	}
}

// codeInText finds the code in a code email's subject or text: the first run of exactly six
// digits standing alone.
var codeInText = regexp.MustCompile(`(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)`)

// FindCode returns the sign-in code in a code email, looking in the subject first and then in
// the text part. It is how the QA inbox reads codes, kept here beside the template that puts
// them there.
func FindCode(subject, text string) (string, bool) {
	for _, s := range []string{subject, text} {
		if m := codeInText.FindStringSubmatch(s); m != nil {
			return m[1], true
		}
	}
	return "", false
}
