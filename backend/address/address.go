// Package address checks and normalizes the email addresses accounts are known by.
package address

import (
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxLength is the longest address accepted (RFC 5321's path limit less the brackets).
const MaxLength = 254

// ErrInvalid is returned for anything that is not a plain, deliverable address.
var ErrInvalid = errors.New("not a valid email address")

// Address is a checked email address.
type Address struct {
	// Display is the address as the user typed it, with the domain in ASCII (punycode).
	Display string
	// Key is the lower-cased form accounts are looked up by, so "Ann@X.org" and
	// "ann@x.org" are one account.
	Key string
}

// Parse accepts a bare address ("ann@example.org"): no display name, no comments, no
// control characters or spaces (so nothing can smuggle a header line into an email), an
// ASCII local part, and a domain with a dot that IDNA accepts.
func Parse(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxLength*4 || !utf8.ValidString(s) {
		return Address{}, ErrInvalid
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ' ' || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return Address{}, ErrInvalid
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Address{}, ErrInvalid
	}
	local, domain := s[:at], s[at+1:]
	for i := 0; i < len(local); i++ {
		if local[i] >= 0x80 {
			return Address{}, ErrInvalid
		}
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || !strings.Contains(ascii, ".") {
		return Address{}, ErrInvalid
	}
	full := local + "@" + ascii
	if len(full) > MaxLength {
		return Address{}, ErrInvalid
	}
	parsed, err := mail.ParseAddress(full)
	if err != nil || parsed.Name != "" || parsed.Address != full {
		return Address{}, ErrInvalid
	}
	return Address{Display: full, Key: strings.ToLower(full)}, nil
}

// Hint masks an address for display on the code screen: "a***@example.org".
func Hint(a string) string {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 {
		return "***"
	}
	return a[:1] + "***" + a[at:]
}
