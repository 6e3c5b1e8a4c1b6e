// Package tokens makes the monthly login tokens and the random ids the server hands out.
package tokens

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
)

// New returns a 256-bit random token, URL-safe, and the SHA-256 hash that is stored in its
// place. A plain hash is enough: the token has far more entropy than anyone can search.
func New(r io.Reader) (token string, hash []byte, err error) {
	token, err = Random(r, 32)
	if err != nil {
		return "", nil, err
	}
	return token, Hash(token), nil
}

// Hash is the stored form of a token.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Random returns n random bytes from r, base64url-encoded without padding.
func Random(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
