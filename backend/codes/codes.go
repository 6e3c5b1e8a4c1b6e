// Package codes makes and checks the six-digit verification codes sent by email.
package codes

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// Length is the number of digits in a code.
const Length = 6

var space = big.NewInt(1_000_000)

// Generate returns a uniform random code in [000000, 999999], zero-padded. rand.Int draws
// without modulo bias; r is crypto/rand.Reader in production and a fixed stream in tests.
func Generate(r io.Reader) (string, error) {
	n, err := rand.Int(r, space)
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// maxInput bounds what Normalize looks at, so a 10 MB "code" costs nothing.
const maxInput = 20

// Normalize turns what a person typed into a code: ASCII digits with ASCII spaces allowed
// anywhere ("123 456"). Anything else (letters, full-width digits, NUL) is not a code.
func Normalize(input string) (string, bool) {
	if len(input) > maxInput {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == ' ':
		default:
			return "", false
		}
	}
	if b.Len() != Length {
		return "", false
	}
	return b.String(), true
}

// MAC is the keyed hash stored in place of a code. It covers the challenge id, so a code
// is worth nothing on any other challenge.
func MAC(key []byte, challengeID, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(challengeID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Match reports in constant time whether code is the one whose MAC was stored.
func Match(key []byte, challengeID, code string, stored []byte) bool {
	return hmac.Equal(MAC(key, challengeID, code), stored)
}
