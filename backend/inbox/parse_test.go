package inbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseReadsRealEmails(t *testing.T) {
	cases := []struct {
		file                      string
		from, subject, kind, code string
		text, html                string // substrings; "" means the part must be empty
	}{
		{
			file: "code.eml", from: "no-reply@shoplogin.localhost",
			subject: "Image Line Account | Two Factor Authentication code ( 004217 ) [Action Required]",
			kind:    "signin-code", code: "004217", text: "valid for 10 minutes", html: "Ann&#39;s Studio PC",
		},
		{
			// Headers in ISO-8859-1 are decoded; the body's Latin-1 bytes are kept as valid UTF-8.
			file: "latin1_quoted_printable.eml", from: "Boutique Française <shop@example.org>",
			subject: "Reçu de commande", text: "Merci pour votre commande.",
		},
		{
			file: "nested_multipart_with_attachment.eml", from: "Support <support@example.net>",
			subject: "Your licence", text: "Grüße!", html: "<p>Hello Ann",
		},
		{
			file: "encoded_subject_html_only.eml", from: "Магазин <shop@example.ru>",
			subject: "Ваш заказ", html: "<p>Спасибо</p>",
		},
		{file: "no_content_type.eml", from: "cron@example.com", subject: "cron output", text: "backup finished"},
		{file: "truncated_multipart.eml", from: "a@example.com", subject: "truncated", text: "first part survives", html: "<p>not finished"},
		{file: "malformed_header.eml", from: "a@example.com", subject: "before the broken line"},
		{file: "bad_base64_unknown_encoding.eml", from: "a@example.com", subject: "odd encodings", text: "begin 644 x"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			p := parse(raw)
			if p.from != c.from || p.subject != c.subject || p.kind != c.kind || p.code != c.code {
				t.Errorf("from=%q subject=%q kind=%q code=%q\nwant from=%q subject=%q kind=%q code=%q",
					p.from, p.subject, p.kind, p.code, c.from, c.subject, c.kind, c.code)
			}
			for _, part := range []struct{ name, got, want string }{{"text", p.text, c.text}, {"html", p.html, c.html}} {
				if (part.want == "") != (part.got == "") || !strings.Contains(part.got, part.want) {
					t.Errorf("%s part = %q, want it to contain %q", part.name, part.got, part.want)
				}
			}
			if len(p.headers["From"]) != 1 {
				t.Errorf("headers = %v", p.headers)
			}
		})
	}
}

func TestParseKeepsOnlyTheFirstOfEachTextPartAndSkipsAttachments(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "nested_multipart_with_attachment.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if p := parse(raw); strings.Contains(p.text, "KEY-1234") {
		t.Errorf("the text/plain attachment was taken as the body: %q", p.text)
	}
}

// FuzzParse feeds arbitrary bytes to the parser the SMTP server runs on every message. It
// must never panic, and what it keeps must be valid UTF-8 within the part limit. Seeds: the
// .eml files in testdata and testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := parse(raw)
		for _, s := range []string{p.from, p.subject, p.kind, p.code, p.text, p.html} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 kept: %q", s)
			}
		}
		if len(p.text) > 3*maxPartBytes || len(p.html) > 3*maxPartBytes {
			t.Fatalf("part over the limit: %d, %d", len(p.text), len(p.html))
		}
		if p.code != "" && (p.kind != "signin-code" || len(p.code) != 6) {
			t.Fatalf("code %q taken from a %q message", p.code, p.kind)
		}
	})
}
