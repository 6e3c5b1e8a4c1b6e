// Package password hashes and checks passwords: argon2id PHC strings and the sign-up policy.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id settings. Memory in KiB.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes; the "p" of the PHC string
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are the production settings: the OWASP Password Storage Cheat Sheet
// minimum for argon2id (m=19456 KiB, t=2, p=1) with a 16-byte salt and a 32-byte key.
// Raising them later is safe: Verify reports needsRehash for older hashes.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// TestParams are tiny settings (m=64 KiB, t=1) so that tests of other packages that
// hash passwords stay fast. Never use them in production: they make guessing cheap.
func TestParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read from a stored hash (and accepted by Hash). The upper ones
// exist because the PHC string lives in the database: a tampered or corrupt row must not
// make a single sign-in allocate gigabytes or run for minutes. They leave room to raise
// DefaultParams several times over. The lower ones refuse hashes too weak to be ours.
const (
	maxMemory  = 256 * 1024 // KiB, 256 MiB
	maxTime    = 10
	maxThreads = 16
	minSaltLen = 8 // NIST SP 800-63B asks for at least 32 bits; we write 16 bytes
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrTooLong is returned by Hash and Verify for a password over MaxBytes. They refuse it
// before any hashing so that huge inputs cost nothing. A sign-in handler should treat it
// as a failed sign-in: no stored hash can match, as Hash never accepted such a password.
var ErrTooLong = errors.New("password: longer than " + strconv.Itoa(MaxBytes) + " bytes")

// ErrInvalidHash is wrapped by every error ParsePHC returns.
var ErrInvalidHash = errors.New("password: invalid argon2id hash")

// kdfFunc has the signature of argon2.IDKey.
type kdfFunc func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// Hasher hashes and verifies passwords with one set of argon2id parameters.
// It holds no mutable state after NewHasher, so one Hasher is safe for concurrent use.
type Hasher struct {
	params Params
	random io.Reader
	// kdf is argon2.IDKey. It is a field so that tests can count calls, proving that
	// over-long passwords are refused before hashing and that VerifyDummy does the
	// same work as Verify, without relying on timing.
	kdf kdfFunc
	// dummy is a PHC string with h's parameters that VerifyDummy checks passwords
	// against. See NewHasher for why its salt and key are fixed.
	dummy string
	// slots lets one argon2 run per core at a time; the others wait their turn. Each run
	// holds Memory KiB (19 MiB at the defaults) from start to end: 64 sign-ins at once
	// would hold 1.2 GiB, fault it in page by page and make the collector chase it, for
	// no more hashes per second than one per core gives.
	slots chan struct{}
}

// NewHasher returns a Hasher that writes hashes with p and draws salts from random.
// A nil random means crypto/rand.Reader.
func NewHasher(p Params, random io.Reader) *Hasher {
	if random == nil {
		random = rand.Reader
	}
	// The dummy hash only has to cost what a real one costs; its result is thrown away,
	// so its salt and key need not be secret or random. Taking them from random would
	// use up bytes of a deterministic reader that a caller's test passed for Hash.
	dummySalt := make([]byte, p.SaltLen)
	dummyKey := make([]byte, p.KeyLen)
	return &Hasher{
		params: p,
		random: random,
		kdf:    argon2.IDKey,
		dummy:  formatPHC(p, dummySalt, dummyKey),
		slots:  make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
}

// derive runs the key derivation in one of h's slots.
func (h *Hasher) derive(password, salt []byte, p Params) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	return h.kdf(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// Params returns the parameters h writes new hashes with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id PHC string of password with a fresh random salt, like
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (base64 without padding).
// The password is normalized to NFKC first; it is not checked against the policy
// (use Check for sign-up), but one over MaxBytes is refused with ErrTooLong.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxBytes {
		return "", ErrTooLong
	}
	// Refuse parameters that ParsePHC would refuse, so we never store a hash that
	// Verify cannot read back.
	if err := h.params.validate(); err != nil {
		return "", fmt.Errorf("password: hasher parameters: %w", err)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.random, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := h.derive(normalize(password), salt, h.params)
	return formatPHC(h.params, salt, key), nil
}

// Verify checks password against a stored PHC string in constant time. needsRehash is
// true when the stored params differ from h's (rehash on sign-in when parameters change);
// it is only ever true together with ok, so a caller cannot rehash a wrong password.
// A password over MaxBytes gives ErrTooLong without hashing; a malformed phc gives an
// error wrapping ErrInvalidHash.
func (h *Hasher) Verify(phc, password string) (ok bool, needsRehash bool, err error) {
	if len(password) > MaxBytes {
		return false, false, ErrTooLong
	}
	p, salt, key, err := ParsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got := h.derive(normalize(password), salt, p)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the same work as Verify against a hash of h's params, for unknown
// accounts, so an unknown email costs the same as a wrong password and response times
// do not reveal which emails have accounts. It goes through Verify itself so the two
// paths cannot drift apart.
func (h *Hasher) VerifyDummy(password string) {
	_, _, _ = h.Verify(h.dummy, password)
}

// normalize applies Unicode NFKC, as NIST SP 800-63B suggests, so that the same
// password typed on keyboards that produce precomposed or decomposed characters
// (é as U+00E9 or e + U+0301) hashes the same.
func normalize(password string) []byte {
	return norm.NFKC.Bytes([]byte(password))
}

// b64 is the PHC string encoding: standard alphabet, no padding. Strict decoding
// refuses non-canonical trailing bits, so one hash has exactly one spelling.
var b64 = base64.RawStdEncoding.Strict()

func formatPHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ParsePHC splits an argon2id PHC string into its parameters, salt and key.
// SaltLen and KeyLen of p are the decoded lengths. It refuses other algorithms, other
// versions, malformed fields and parameters outside sane bounds (memory at most
// 256 MiB, for one), since the string comes from storage that may have been tampered with.
func ParsePHC(s string) (p Params, salt, key []byte, err error) {
	fail := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidHash}, args...)...)
	}
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" {
		return fail("want 5 $-separated fields")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm %q is not argon2id", parts[1])
	}
	if v, ok := strings.CutPrefix(parts[2], "v="); !ok {
		return fail("missing version")
	} else if n, err := parseUint(v, 32); err != nil || n != argon2.Version {
		return fail("unsupported version %q", v)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return fail("want m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return fail("want %s= in position %d", name, i+1)
		}
		n, err := parseUint(v, 32)
		if err != nil {
			return fail("bad %s", name)
		}
		vals[i] = n
	}
	if vals[2] > maxThreads {
		return fail("p out of range")
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return fail("bad salt encoding")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return fail("bad key encoding")
	}
	p = Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return fail("%v", err)
	}
	return p, salt, key, nil
}

// parseUint accepts only canonical decimal: no sign, no leading zeros, no spaces,
// so that a stored hash has a single spelling.
func parseUint(s string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, err
	}
	if strconv.FormatUint(n, 10) != s {
		return 0, errors.New("not canonical")
	}
	return n, nil
}

// validate reports whether p is within the bounds ParsePHC accepts.
func (p Params) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("p=%d out of range 1..%d", p.Threads, maxThreads)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("t=%d out of range 1..%d", p.Time, maxTime)
	// argon2 needs at least 8 KiB per lane.
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("m=%d out of range %d..%d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt of %d bytes out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key of %d bytes out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}
