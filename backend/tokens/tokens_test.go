package tokens

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func TestTokensCarry256RandomBitsAndAreStoredHashed(t *testing.T) {
	a, hashA, err := New(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := New(rand.Reader)
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q decodes to %d bytes (%v), want 32", a, len(raw), err)
	}
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !bytes.Equal(hashA, Hash(a)) || bytes.Contains(hashA, []byte(a)) {
		t.Fatal("stored hash is not SHA-256 of the token")
	}
}
