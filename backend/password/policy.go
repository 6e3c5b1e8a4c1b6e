package password

// common.txt holds the blocklist that Check uses, one lower-case password a line.
//
// Source: the npm package @zxcvbn-ts/language-common 4.1.3, file src/passwords.json,
// licence MIT (text below). That list is ranked by frequency; its first 30,000 entries
// are the list of the original zxcvbn (Dropbox), drawn from Mark Burnett's 10 million
// password corpus. common.txt keeps, in rank order, the first 10,000 entries that are
// at least MinLength code points after NFKC and lower-casing (shorter ones are refused
// by length anyway; they came from the top 27,667 source ranks), which exceeds OWASP
// ASVS 5.0 6.2.4 (the top 3,000 passwords that match the policy). After them come
// context words (ASVS 6.2.11) for this product and vendor: shoplogin, image line,
// image line account, fl studio and fruity loops, spelled with and without spaces or
// hyphens and with common suffixes such as 1, 123, ! and years.
//
// Licence of the source list:
//
//	Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.
//	Copyright (c) 2021 @zxcvbn-ts
//
//	Permission is hereby granted, free of charge, to any person obtaining
//	a copy of this software and associated documentation files (the
//	"Software"), to deal in the Software without restriction, including
//	without limitation the rights to use, copy, modify, merge, publish,
//	distribute, sublicense, and/or sell copies of the Software, and to
//	permit persons to whom the Software is furnished to do so, subject to
//	the following conditions:
//
//	The above copyright notice and this permission notice shall be
//	included in all copies or substantial portions of the Software.
//
//	THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
//	EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
//	MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
//	NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
//	LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
//	OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
//	WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"shoplogin/backend/api"
)

// The sign-up policy's length limits.
const (
	// MinLength is the fewest Unicode code points a new password may have (NIST SP
	// 800-63B and ASVS 6.2.1 floor), counted after NFKC normalization.
	MinLength = 8
	// MaxBytes is the most bytes a password may have. It caps the work an attacker can
	// make us do and is far above the 64 characters ASVS asks us to allow. Longer
	// passwords are refused, never truncated, so what is verified is what was typed.
	MaxBytes = 1024
)

//go:embed common.txt
var commonTxt string

// commonPasswords is the blocklist as a set, built on first use so that programs that
// never call Check do not pay for it. sync.OnceValue makes it safe to share between
// goroutines, and nothing writes to the map after it is built.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonTxt, "\n")+1)
	for line := range strings.Lines(commonTxt) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		// Fold entries the same way Check folds input, so the file's own spelling
		// cannot make an entry unmatchable.
		set[fold(line)] = struct{}{}
	}
	return set
})

// fold is the form in which passwords are compared with the blocklist: NFKC, then
// lower case, so the match is case-insensitive and independent of how é was typed.
func fold(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}

// Check applies the sign-up policy: at least MinLength Unicode code points, at most
// MaxBytes bytes (checked before anything else, never truncated), no composition rules
// (any character, including spaces, emoji and NUL, is allowed), and no whole-password
// match, ignoring case, with an embedded list of common passwords and product names.
// A password that merely contains a common one passes: NIST asks for whole-password
// comparison. The error is an *api.Error with CodeWeakPassword, Field "password" and a
// reason the user can act on.
func Check(password string) error {
	if len(password) > MaxBytes {
		return weak("Use at most " + strconv.Itoa(MaxBytes) + " bytes; this password is longer.")
	}
	// Count after normalization, the form that is hashed, so e + combining accent
	// counts as the one character the user sees.
	n := norm.NFKC.String(password)
	if utf8.RuneCountInString(n) < MinLength {
		return weak("Use at least " + strconv.Itoa(MinLength) + " characters.")
	}
	if _, found := commonPasswords()[fold(n)]; found {
		return weak("This password is on a list of commonly used passwords; choose another.")
	}
	return nil
}

func weak(reason string) error {
	return &api.Error{Code: api.CodeWeakPassword, Message: reason, Field: "password"}
}
