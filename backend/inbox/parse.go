package inbox

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"shoplogin/backend/message"
)

// parsed is what the inbox shows of a message beside its raw bytes.
type parsed struct {
	from, subject, kind, code, text, html string
	headers                               map[string][]string
}

// maxPartBytes bounds each decoded text part kept for display; the raw message is kept whole.
const maxPartBytes = 1 << 20

// parse reads whatever it can from raw. Mail from outside (relay-mode tests, a stray client)
// may be malformed: parse never fails, it keeps what parsed and leaves the rest empty.
func parse(raw []byte) parsed {
	p := parsed{headers: map[string][]string{}}
	// This is gomessage.Read in two steps, to keep the fields before a malformed one.
	br := bufio.NewReader(bytes.NewReader(raw))
	th, headerErr := textproto.ReadHeader(br)
	for f := th.Fields(); f.Next(); {
		k := f.Key()
		p.headers[k] = append(p.headers[k], valid(f.Value()))
	}
	h := mail.Header{Header: gomessage.Header{Header: th}}
	p.subject = valid(decodeText(h.Get("Subject")))
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		p.from = valid(display(from[0]))
	} else {
		p.from = valid(h.Get("From"))
	}
	p.kind = valid(strings.TrimSpace(h.Get(message.KindHeader)))
	if headerErr == nil {
		p.text, p.html = parseBody(h.Header, br)
	}
	if p.kind == message.KindCode {
		p.code, _ = message.FindCode(p.subject, p.text)
	}
	return p
}

// parseBody returns the first inline text/plain and text/html parts, at any depth.
func parseBody(h gomessage.Header, body io.Reader) (text, html string) {
	// New returns a usable entity beside "unknown charset/encoding" errors.
	e, _ := gomessage.New(h, body)
	if e == nil {
		return "", ""
	}
	// Walk stops at a broken multipart; what it read so far is kept.
	_ = e.Walk(func(_ []int, part *gomessage.Entity, err error) error {
		if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
			return nil
		}
		ct, _, _ := part.Header.ContentType()
		if ct == "" {
			ct = "text/plain" // RFC 2045 5.2
		}
		if disp, _, _ := part.Header.ContentDisposition(); disp == "attachment" {
			return nil
		}
		switch {
		case ct == "text/plain" && text == "":
			text = readPart(part.Body)
		case ct == "text/html" && html == "":
			html = readPart(part.Body)
		}
		return nil
	})
	return text, html
}

func readPart(r io.Reader) string {
	// A decoding error midway (bad base64) keeps the part's beginning.
	b, _ := io.ReadAll(io.LimitReader(r, maxPartBytes))
	return valid(string(b))
}

// decodeText decodes RFC 2047 words as a mail client would, keeping the raw value when it
// cannot (an unknown charset).
func decodeText(s string) string {
	d := mime.WordDecoder{CharsetReader: gomessage.CharsetReader}
	if out, err := d.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

// display shows an address the way the list does: "Name <addr>" or the bare address.
func display(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.Name + " <" + a.Address + ">"
}

// valid keeps stored text valid UTF-8 so the JSON the QA API serves is stable.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
