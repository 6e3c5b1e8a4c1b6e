package message_test

import (
	"errors"
	"regexp"
	"testing"

	"shoplogin/backend/message"
)

// noticeTags are the only tags the notice's HTML template writes; anything else in the HTML
// part would be markup that came in through a caller's value.
var noticeTags = regexp.MustCompile(`<!DOCTYPE html>|</?html>|</?head>|<meta charset="utf-8">|</?title>|<body style="[^"<>]*">|</body>|</?p>`)

// FuzzNotice builds security notices from arbitrary inputs. A built notice reads back with
// exactly the intended header fields, the one requested recipient, the subject asked for
// and the notice kind, and its HTML part holds no markup but the template's own. Seeds are
// in testdata/fuzz/FuzzNotice.
func FuzzNotice(f *testing.F) {
	f.Fuzz(func(t *testing.T, to, subject, text, product, fromName string) {
		b := message.Brand{Product: product, FromName: fromName}
		raw, err := b.Notice(message.Notice{To: to, Subject: subject, Text: text, Sent: sent})
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
		dec := new(mimeDecoder)
		if got := dec.decode(p.header.Get("Subject")); got != subject {
			t.Fatalf("subject = %q, want %q", got, subject)
		}
		if got := p.header.Get(message.KindHeader); got != message.KindNotice {
			t.Fatalf("kind = %q", got)
		}
		if rest := noticeTags.ReplaceAllString(p.html, ""); regexp.MustCompile(`<[a-zA-Z!/?]`).MatchString(rest) {
			t.Fatalf("markup from an input reached the HTML part:\n%s", p.html)
		}
	})
}
