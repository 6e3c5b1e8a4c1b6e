package message_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"shoplogin/backend/message"
)

var sent = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func codeEmail() message.CodeEmail {
	return message.CodeEmail{
		To:         "ann@example.com",
		Code:       "004217",
		DeviceName: "Ann's Studio PC",
		Network:    "203.0.113.0/24",
		ValidFor:   10 * time.Minute,
		Sent:       sent,
	}
}

// intendedHeaders is the whole header block of every email we send: anything else would be
// a header the caller smuggled in.
var intendedHeaders = []string{
	"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "X-Shoplogin-Kind",
}

// parsed is a built email read back with net/mail (headers) and go-message (parts).
type parsed struct {
	header netmail.Header
	text   string
	html   string
}

func parse(t testing.TB, raw []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the email: %v", err)
	}
	p := parsed{header: m.Header}
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the email: %v", err)
	}
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read part body: %v", err)
		}
		ct, _, _ := part.Header.(*mail.InlineHeader).ContentType()
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

// checkHeaderSet fails unless the header holds exactly the intended fields, once each.
func checkHeaderSet(t testing.TB, h netmail.Header) {
	t.Helper()
	got := slices.Sorted(maps.Keys(h))
	if !slices.Equal(got, intendedHeaders) {
		t.Fatalf("header fields = %q, want %q", got, intendedHeaders)
	}
	for k, v := range h {
		if len(v) != 1 {
			t.Fatalf("header %s appears %d times", k, len(v))
		}
	}
}

func TestCodeSubjectIsTheSeedsToTheCharacter(t *testing.T) {
	got := message.DefaultBrand().CodeSubject("123456")
	want := "Image Line Account | Two Factor Authentication code ( 123456 ) [Action Required]"
	if got != want {
		t.Fatalf("subject = %q\nwant      %q", got, want)
	}
	if got := (message.Brand{}).CodeSubject("123456"); got != want {
		t.Fatalf("zero Brand subject = %q, want the default", got)
	}
}

func TestCodeEmailHasExactlyTheIntendedHeaders(t *testing.T) {
	raw, err := message.DefaultBrand().Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	checkHeaderSet(t, p.header)

	dec := new(mimeDecoder)
	checks := []struct{ field, want string }{
		{"Subject", "Image Line Account | Two Factor Authentication code ( 004217 ) [Action Required]"},
		{"X-Shoplogin-Kind", message.KindCode},
		{"Auto-Submitted", "auto-generated"},
		{"Mime-Version", "1.0"},
	}
	for _, c := range checks {
		if got := dec.decode(p.header.Get(c.field)); got != c.want {
			t.Errorf("%s = %q, want %q", c.field, got, c.want)
		}
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(sent) {
		t.Errorf("Date = %v (%v), want %v", d, err, sent)
	}
	if to, err := p.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "ann@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := p.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@shoplogin.localhost" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if id := p.header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@shoplogin.localhost>") {
		t.Errorf("Message-Id = %q", id)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestCodeEmailShowsCodeValidityRequesterAndAdviceInBothParts(t *testing.T) {
	raw, err := message.DefaultBrand().Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	for name, body := range map[string]string{"text": p.text, "html": p.html} {
		for _, want := range []string{
			"004217", "valid for 10 minutes", "203.0.113.0/24", "If this was not you",
			"no-reply@shoplogin.localhost", "spam", "Whitelist",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s part lacks %q", name, want)
			}
		}
	}
	if !strings.Contains(p.text, "Ann's Studio PC") || !strings.Contains(p.html, "Ann&#39;s Studio PC") {
		t.Error("device name missing or not escaped as expected")
	}
}

func TestDeviceNameCannotInjectMarkupOrLines(t *testing.T) {
	e := codeEmail()
	e.DeviceName = "<script>alert(1)</script>\r\nBcc: eve@example.com"
	raw, err := message.DefaultBrand().Code(e)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	checkHeaderSet(t, p.header)
	if strings.Contains(p.html, "<script>") {
		t.Error("device name reached the HTML unescaped")
	}
	if strings.Contains(p.text, "\nBcc:") {
		t.Error("device name broke a line in the text part")
	}
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	brand := message.DefaultBrand()
	cases := []struct {
		name  string
		brand func(*message.Brand)
		email func(*message.CodeEmail)
	}{
		{"To with CRLF Bcc", nil, func(e *message.CodeEmail) { e.To = "ann@example.com\r\nBcc: x@example.com" }},
		{"To with bare LF", nil, func(e *message.CodeEmail) { e.To = "ann@example.com\nBcc: x@example.com" }},
		{"To with display name", nil, func(e *message.CodeEmail) { e.To = "Eve <eve@example.com>" }},
		{"To with two addresses", nil, func(e *message.CodeEmail) { e.To = "ann@example.com, eve@example.com" }},
		{"To with NUL", nil, func(e *message.CodeEmail) { e.To = "ann@example.com\x00" }},
		{"To empty", nil, func(e *message.CodeEmail) { e.To = "" }},
		{"To without domain", nil, func(e *message.CodeEmail) { e.To = "ann" }},
		{"product with CRLF", func(b *message.Brand) { b.Product = "Shop\r\nBcc: x@example.com" }, nil},
		{"from name with NEL", func(b *message.Brand) { b.FromName = "Shop\u0085Bcc: x" }, nil},
		{"from name with line separator", func(b *message.Brand) { b.FromName = "Shop\u2028x" }, nil},
		{"product with doubled space", func(b *message.Brand) { b.Product = "Image  Line" }, nil},
		{"from address with CR", func(b *message.Brand) { b.FromAddress = "a@b\rc" }, nil},
		{"code not six digits", nil, func(e *message.CodeEmail) { e.Code = "12345\r\nBcc: x" }},
		{"code with letters", nil, func(e *message.CodeEmail) { e.Code = "12a456" }},
		{"no validity", nil, func(e *message.CodeEmail) { e.ValidFor = 0 }},
		{"no date", nil, func(e *message.CodeEmail) { e.Sent = time.Time{} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, e := brand, codeEmail()
			if c.brand != nil {
				c.brand(&b)
			}
			if c.email != nil {
				c.email(&e)
			}
			raw, err := b.Code(e)
			if !errors.Is(err, message.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid; built:\n%s", err, raw)
			}
			if strings.Contains(err.Error(), "Bcc") || strings.Contains(err.Error(), "eve@") {
				t.Errorf("error echoes the hostile value: %v", err)
			}
		})
	}
}

func TestNoticeSubjectWithLineBreakIsRefused(t *testing.T) {
	_, err := message.DefaultBrand().Notice(message.Notice{
		To: "ann@example.com", Subject: "Password changed\r\nBcc: eve@example.com", Text: "x", Sent: sent,
	})
	if !errors.Is(err, message.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestNoticeCarriesItsTextAndKind(t *testing.T) {
	raw, err := message.DefaultBrand().Notice(message.Notice{
		To:      "ann@example.com",
		Subject: "Two-factor authentication was turned off",
		Text:    "Two-factor authentication was turned off for your account.\n\nIt happened from 203.0.113.0/24 & <Ann's PC>.",
		Sent:    sent,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	checkHeaderSet(t, p.header)
	if got := p.header.Get("X-Shoplogin-Kind"); got != message.KindNotice {
		t.Errorf("kind = %q", got)
	}
	if got := p.header.Get("Subject"); got != "Two-factor authentication was turned off" {
		t.Errorf("subject = %q", got)
	}
	if !strings.Contains(p.text, "It happened from 203.0.113.0/24 & <Ann's PC>.") {
		t.Errorf("text part:\n%s", p.text)
	}
	if !strings.Contains(p.html, "<p>It happened from 203.0.113.0/24 &amp; &lt;Ann&#39;s PC&gt;.</p>") {
		t.Errorf("html part:\n%s", p.html)
	}
	if _, ok := message.FindCode(p.header.Get("Subject"), p.text); ok {
		t.Error("a notice looks like it carries a code")
	}
}

func TestEmailsUseCRLFLineEndingsOnly(t *testing.T) {
	code, err := message.DefaultBrand().Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	notice, err := message.DefaultBrand().Notice(message.Notice{To: "a@example.com", Subject: "s", Text: "one\ntwo\r\n\r\nthree", Sent: sent})
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"code": code, "notice": notice} {
		for i, b := range raw {
			if b == '\n' && (i == 0 || raw[i-1] != '\r') {
				t.Fatalf("%s email has a bare LF at byte %d", name, i)
			}
			if b == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
				t.Fatalf("%s email has a bare CR at byte %d", name, i)
			}
		}
	}
}

func TestNonASCIIBrandIsMIMEEncoded(t *testing.T) {
	b := message.Brand{Product: "Konto Überall", FromName: "Équipe Konto"}
	raw, err := b.Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, c := range head {
		if c >= 0x80 {
			t.Fatalf("raw header holds a non-ASCII byte:\n%s", head)
		}
	}
	p := parse(t, raw)
	dec := new(mimeDecoder)
	if got, want := dec.decode(p.header.Get("Subject")), b.CodeSubject("004217"); got != want {
		t.Errorf("decoded subject = %q, want %q", got, want)
	}
	if from, err := p.header.AddressList("From"); err != nil || from[0].Name != "Équipe Konto" {
		t.Errorf("From = %v (%v)", from, err)
	}
}

func TestMessageIDsAreUnique(t *testing.T) {
	a, _ := message.DefaultBrand().Code(codeEmail())
	b, _ := message.DefaultBrand().Code(codeEmail())
	if parse(t, a).header.Get("Message-Id") == parse(t, b).header.Get("Message-Id") {
		t.Fatal("two emails share a Message-ID")
	}
}

func TestValidityIsWrittenInWords(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Minute, "valid for 10 minutes"},
		{time.Minute, "valid for 1 minute"},
		{time.Hour, "valid for 1 hour"},
		{90 * time.Second, "valid for 90 seconds"},
	} {
		e := codeEmail()
		e.ValidFor = c.d
		raw, err := message.DefaultBrand().Code(e)
		if err != nil {
			t.Fatal(err)
		}
		if p := parse(t, raw); !strings.Contains(p.text, c.want) {
			t.Errorf("%v: text lacks %q", c.d, c.want)
		}
	}
}

func TestFindCodeReadsWhatTheTemplateWrote(t *testing.T) {
	raw, err := message.DefaultBrand().Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	for _, c := range []struct {
		name, subject, text, want string
		ok                        bool
	}{
		{"our email", p.header.Get("Subject"), p.text, "004217", true},
		{"text only", "Your code", p.text, "004217", true},
		{"seven digits is not a code", "ref 1234567", "", "", false},
		{"nothing", "hello", "world", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := message.FindCode(c.subject, c.text)
			if got != c.want || ok != c.ok {
				t.Errorf("FindCode = %q, %v; want %q, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

// FuzzCode builds code emails from arbitrary inputs. Whatever the inputs, a built email must
// read back with exactly the intended header fields, one recipient equal to the requested
// one, and the subject the brand asked for: no input can add a header or a recipient.
// Seeds, including the Kratos "\r\nBcc:" one, are in testdata/fuzz/FuzzCode.
func FuzzCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, to, code, device, network, product, fromName string) {
		b := message.Brand{Product: product, FromName: fromName}
		raw, err := b.Code(message.CodeEmail{
			To: to, Code: code, DeviceName: device, Network: network, ValidFor: 10 * time.Minute, Sent: sent,
		})
		if err != nil {
			if !errors.Is(err, message.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		p := parse(t, raw)
		checkHeaderSet(t, p.header)
		rcpts, err := p.header.AddressList("To")
		if err != nil || len(rcpts) != 1 || rcpts[0].Address != to {
			t.Fatalf("To = %v (%v), want exactly %q", rcpts, err, to)
		}
		if from, err := p.header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "no-reply@shoplogin.localhost" {
			t.Fatalf("From = %v (%v)", from, err)
		}
		dec := new(mimeDecoder)
		if got, want := dec.decode(p.header.Get("Subject")), b.CodeSubject(code); got != want {
			t.Fatalf("subject = %q, want %q", got, want)
		}
		if !strings.Contains(p.text, code) || !strings.Contains(p.html, code) {
			t.Fatal("code missing from a part")
		}
		e, err := gomessage.Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("go-message: %v", err)
		}
		if got := e.Header.Get(message.KindHeader); got != message.KindCode {
			t.Fatalf("kind = %q", got)
		}
	})
}

// mimeDecoder decodes RFC 2047 encoded words, as a mail client shows them.
type mimeDecoder struct{ d mime.WordDecoder }

func (m *mimeDecoder) decode(s string) string {
	out, err := m.d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

func TestSubjectLineUnfoldsToTheSeedByteForByte(t *testing.T) {
	raw, err := message.DefaultBrand().Code(codeEmail())
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	// RFC 5322 2.2.3: unfolding removes each CRLF that is followed by white space, nothing more.
	unfolded := strings.ReplaceAll(strings.ReplaceAll(string(head), "\r\n ", " "), "\r\n\t", "\t")
	want := "Subject: Image Line Account | Two Factor Authentication code ( 004217 ) [Action Required]"
	if !slices.Contains(strings.Split(unfolded, "\r\n"), want) {
		t.Fatalf("no header line %q in:\n%s", want, head)
	}
}
