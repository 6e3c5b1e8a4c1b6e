package password

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"shoplogin/backend/api"
)

// kdfCall records the argon2 parameters of one call.
type kdfCall struct {
	time, memory uint32
	threads      uint8
	keyLen       uint32
}

// spyHasher returns a Hasher whose argon2 calls are recorded, so tests can prove when
// hashing happens (and with which parameters) without measuring time.
func spyHasher(t *testing.T, p Params) (*Hasher, func() []kdfCall) {
	t.Helper()
	h := NewHasher(p, nil)
	var mu sync.Mutex
	var calls []kdfCall
	inner := h.kdf
	h.kdf = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		mu.Lock()
		calls = append(calls, kdfCall{time, memory, threads, keyLen})
		mu.Unlock()
		return inner(password, salt, time, memory, threads, keyLen)
	}
	return h, func() []kdfCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]kdfCall(nil), calls...)
	}
}

func callOf(p Params) kdfCall {
	return kdfCall{time: p.Time, memory: p.Memory, threads: p.Threads, keyLen: p.KeyLen}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name     string
		password string
		refused  string // substring of the reason; "" means accepted
	}{
		{"seven characters are refused", "abcdefg", "at least 8"},
		{"seven multi-byte characters are refused although they are 15 bytes", "ññññññ€", "at least 8"},
		{"seven decomposed accents count as seven characters", strings.Repeat("e\u0301", 7), "at least 8"},
		{"eight characters are accepted", "qmvzrkxw", ""},
		{"eight multi-byte characters are accepted", "ññññññ€€", ""},
		{"1024 bytes are accepted", strings.Repeat("xy", 512), ""},
		{"1025 bytes are refused", strings.Repeat("x", 1025), "at most 1024 bytes"},
		{"1025 bytes are refused even when they are too few characters", strings.Repeat("\u0301", 512) + "x", "at most 1024 bytes"},
		{"a common password is refused with a reason", "password", "commonly used"},
		{"a common password is refused ignoring case", "PassWord1", "commonly used"},
		{"a common eight-character password is refused", "iloveyou", "commonly used"},
		{"a long common password is refused", "qwertyuiop", "commonly used"},
		{"the product name is refused", "ShopLogin123", "commonly used"},
		{"the vendor account name is refused", "Image Line Account", "commonly used"},
		{"the flagship product name is refused", "FL Studio 21", "commonly used"},
		{"fullwidth spelling of a common password is refused", "ｐａｓｓｗｏｒｄ", "commonly used"},
		{"a password that merely contains a common one is accepted", "my password is long", ""},
		{"a common password with a suffix is accepted", "iloveyou-and-the-dog", ""},
		{"no composition rules: all lower-case letters are accepted", "correcthorsebatterystaple", ""},
		{"emoji are accepted", "🔒🔑🐎🌧🍀🎹🎸🥁", ""},
		{"spaces are accepted", "   with spaces   ", ""},
		{"a NUL byte is accepted", "nul\x00byte-inside", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.password)
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want accepted", tt.password, err)
				}
				return
			}
			var e *api.Error
			if !errors.As(err, &e) {
				t.Fatalf("Check(%q) = %v, want *api.Error", tt.password, err)
			}
			if e.Code != api.CodeWeakPassword || e.Field != "password" {
				t.Errorf("code, field = %q, %q, want %q, %q", e.Code, e.Field, api.CodeWeakPassword, "password")
			}
			if !strings.Contains(e.Message, tt.refused) {
				t.Errorf("reason %q does not mention %q", e.Message, tt.refused)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	set := commonPasswords()
	// ASVS 5.0 6.2.4 asks for at least the top 3000 that match the policy.
	if len(set) < 3000 {
		t.Fatalf("blocklist has %d entries, want at least 3000", len(set))
	}
	for pw := range set {
		if n := utf8.RuneCountInString(pw); n < MinLength {
			t.Errorf("entry %q has %d code points; shorter than MinLength it is dead weight", pw, n)
		}
		if Check(pw) == nil {
			t.Errorf("entry %q is accepted by Check", pw)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		password string
	}{
		{"64 characters round-trip", strings.Repeat("abcdefgh", 8)},
		{"200 characters round-trip", strings.Repeat("Zürich-", 28) + "abcd"},
		{"1024 bytes round-trip", strings.Repeat("q", 1024)},
		{"emoji round-trip", "🔒🔑🐎🌧🍀🎹🎸🥁"},
		{"spaces round-trip", "  spaced out  "},
		{"a NUL byte round-trips", "before\x00after"},
	}
	h := NewHasher(TestParams(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phc, err := h.Hash(tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, err := h.Verify(phc, tt.password); !ok || rehash || err != nil {
				t.Fatalf("Verify(own password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			wrong := map[string]string{
				"last byte dropped":      tt.password[:len(tt.password)-1],
				"last character dropped": tt.password[:len(tt.password)-lastRuneLen(tt.password)],
				"upper-cased":            strings.ToUpper(tt.password),
				"one more byte":          tt.password + "x",
				"NUL appended":           tt.password + "\x00",
			}
			for how, pw := range wrong {
				if pw == tt.password {
					continue // e.g. emoji have no upper case
				}
				ok, _, err := h.Verify(phc, pw)
				if len(pw) > MaxBytes && errors.Is(err, ErrTooLong) {
					err = nil // refused for length, which is also a mismatch
				}
				if ok || err != nil {
					t.Errorf("Verify(password %s) = %v, %v; want false, nil", how, ok, err)
				}
			}
		})
	}
}

func lastRuneLen(s string) int {
	_, n := utf8.DecodeLastRuneInString(s)
	return n
}

func TestTooLongIsRefusedBeforeHashing(t *testing.T) {
	h, calls := spyHasher(t, TestParams())
	long := strings.Repeat("a", MaxBytes+1)
	phc, err := h.Hash("a fine password")
	if err != nil {
		t.Fatal(err)
	}
	before := len(calls())

	if got, err := h.Hash(long); !errors.Is(err, ErrTooLong) || got != "" {
		t.Errorf("Hash(1025 bytes) = %q, %v; want \"\", ErrTooLong", got, err)
	}
	if ok, rehash, err := h.Verify(phc, long); ok || rehash || !errors.Is(err, ErrTooLong) {
		t.Errorf("Verify(1025 bytes) = %v, %v, %v; want false, false, ErrTooLong", ok, rehash, err)
	}
	// 1025 bytes that start with the real password must not match by truncation either.
	if ok, _, _ := h.Verify(phc, "a fine password"+strings.Repeat(" ", MaxBytes)); ok {
		t.Error("an over-long password starting with the real one verified")
	}
	h.VerifyDummy(long)
	if n := len(calls()) - before; n != 0 {
		t.Errorf("argon2 ran %d times for over-long passwords, want 0", n)
	}
}

func TestNormalization(t *testing.T) {
	tests := []struct {
		name          string
		hashed, typed string
	}{
		{"precomposed é verifies decomposed é", "caf\u00e9-au-lait", "cafe\u0301-au-lait"},
		{"decomposed é verifies precomposed é", "cafe\u0301-au-lait", "caf\u00e9-au-lait"},
		{"fullwidth letters verify ASCII (NFKC)", "ｓｅｃｒｅｔ-ｐｈｒａｓｅ", "secret-phrase"},
	}
	h := NewHasher(TestParams(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phc, err := h.Hash(tt.hashed)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _, err := h.Verify(phc, tt.typed); !ok || err != nil {
				t.Errorf("Verify = %v, %v; want true, nil", ok, err)
			}
		})
	}
}

func TestDefaultHashMeetsOWASPMinimum(t *testing.T) {
	h := NewHasher(DefaultParams(), nil)
	phc, err := h.Hash("a password for the default parameters")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not start with the expected PHC prefix", phc)
	}
	p, salt, key, err := ParsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory < 19456 || p.Time < 2 || p.Threads != 1 {
		t.Errorf("m=%d t=%d p=%d, want m>=19456 t>=2 p=1", p.Memory, p.Time, p.Threads)
	}
	if len(salt) < 16 || len(key) < 32 {
		t.Errorf("salt %d bytes, key %d bytes; want >=16, >=32", len(salt), len(key))
	}
	if p != DefaultParams() {
		t.Errorf("parsed %+v, want %+v", p, DefaultParams())
	}
}

func TestTwoHashesOfOnePasswordDiffer(t *testing.T) {
	h := NewHasher(TestParams(), nil)
	a, err := h.Hash("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("both hashes are %q; salts must differ", a)
	}
	for _, phc := range []string{a, b} {
		if ok, _, err := h.Verify(phc, "same password twice"); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", phc, ok, err)
		}
	}
}

func TestSaltComesFromInjectedRandom(t *testing.T) {
	salt := bytes.Repeat([]byte{0xAB}, 16)
	h := NewHasher(TestParams(), bytes.NewReader(salt))
	phc, err := h.Hash("deterministic salt")
	if err != nil {
		t.Fatal(err)
	}
	_, got, _, err := ParsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, salt) {
		t.Errorf("salt = %x, want %x", got, salt)
	}
	// The reader is now empty: Hash must fail rather than use a short or zero salt.
	if _, err := h.Hash("deterministic salt"); err == nil {
		t.Error("Hash with an exhausted random reader succeeded")
	}
}

func TestNeedsRehash(t *testing.T) {
	old := NewHasher(TestParams(), nil)
	phc, err := old.Hash("upgrade me please")
	if err != nil {
		t.Fatal(err)
	}
	stronger := TestParams()
	stronger.Time = 2
	longerKey := TestParams()
	longerKey.KeyLen = 48

	tests := []struct {
		name       string
		params     Params
		password   string
		ok, rehash bool
	}{
		{"same params need no rehash", TestParams(), "upgrade me please", true, false},
		{"changed time needs a rehash", stronger, "upgrade me please", true, true},
		{"changed key length needs a rehash", longerKey, "upgrade me please", true, true},
		{"changed params with a wrong password report no rehash", stronger, "upgrade me please!", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := NewHasher(tt.params, nil).Verify(phc, tt.password)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
}

func TestParsePHC(t *testing.T) {
	const salt = "q6urq6urq6urq6urq6urqw"                     // 16 bytes
	const key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	valid := "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key

	p, s, k, err := ParsePHC(valid)
	if err != nil {
		t.Fatalf("ParsePHC(valid) = %v", err)
	}
	if p != DefaultParams() || len(s) != 16 || len(k) != 32 {
		t.Errorf("ParsePHC(valid) = %+v, %d-byte salt, %d-byte key", p, len(s), len(k))
	}

	tests := []struct {
		name string
		phc  string
	}{
		{"empty string is rejected", ""},
		{"garbage is rejected", "not a hash at all"},
		{"argon2i is rejected", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"argon2d is rejected", "$argon2d$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"bcrypt is rejected", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16 is rejected", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"a missing version is rejected", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key},
		{"4 GiB of memory is rejected", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key},
		{"memory over uint32 is rejected", "$argon2id$v=19$m=4294967296,t=2,p=1$" + salt + "$" + key},
		{"memory below 8 KiB per lane is rejected", "$argon2id$v=19$m=7,t=2,p=1$" + salt + "$" + key},
		{"zero time is rejected", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"huge time is rejected", "$argon2id$v=19$m=19456,t=100000,p=1$" + salt + "$" + key},
		{"zero threads are rejected", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"257 threads are rejected, not wrapped to 1", "$argon2id$v=19$m=19456,t=2,p=257$" + salt + "$" + key},
		{"parameters out of order are rejected", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key},
		{"an extra parameter is rejected", "$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt + "$" + key},
		{"a leading zero is rejected", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key},
		{"a plus sign is rejected", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key},
		{"a negative number is rejected", "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key},
		{"padded base64 is rejected", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"non-base64 salt is rejected", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key},
		{"a 4-byte salt is rejected", "$argon2id$v=19$m=19456,t=2,p=1$AAAAAA$" + key},
		{"an empty key is rejected", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$"},
		{"a short key is rejected", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAAAAAAAAA"},
		{"a trailing field is rejected", valid + "$"},
		{"a missing leading $ is rejected", valid[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := ParsePHC(tt.phc); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("ParsePHC(%q) = %v, want ErrInvalidHash", tt.phc, err)
			}
		})
	}
}

func TestVerifyDoesNotHashWithTamperedParams(t *testing.T) {
	h, calls := spyHasher(t, TestParams())
	tampered := "$argon2id$v=19$m=4194304,t=2,p=1$q6urq6urq6urq6urq6urqw$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if ok, _, err := h.Verify(tampered, "any password"); ok || !errors.Is(err, ErrInvalidHash) {
		t.Errorf("Verify(tampered) = %v, %v; want false, ErrInvalidHash", ok, err)
	}
	if n := len(calls()); n != 0 {
		t.Errorf("argon2 ran %d times for a 4 GiB hash, want 0", n)
	}
}

func TestHashRefusesParamsItCouldNotVerify(t *testing.T) {
	p := DefaultParams()
	p.Memory = 4 << 20 // 4 GiB
	h, calls := spyHasher(t, p)
	if _, err := h.Hash("a fine password"); err == nil {
		t.Error("Hash with 4 GiB of memory succeeded")
	}
	if n := len(calls()); n != 0 {
		t.Errorf("argon2 ran %d times, want 0", n)
	}
}

// An unknown account must cost what a wrong password costs (R10): exactly one argon2
// run with the Hasher's own parameters either way.
func TestVerifyDummyDoesTheSameWorkAsVerify(t *testing.T) {
	p := TestParams()
	h, calls := spyHasher(t, p)
	phc, err := h.Hash("the real password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func()
	}{
		{"a wrong password runs argon2 once", func() { _, _, _ = h.Verify(phc, "a wrong password") }},
		{"the right password runs argon2 once", func() { _, _, _ = h.Verify(phc, "the real password") }},
		{"an unknown account runs argon2 once", func() { h.VerifyDummy("a wrong password") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(calls())
			tt.run()
			got := calls()[before:]
			if len(got) != 1 {
				t.Fatalf("argon2 ran %d times, want 1", len(got))
			}
			if got[0] != callOf(p) {
				t.Errorf("argon2 ran with %+v, want %+v", got[0], callOf(p))
			}
		})
	}
}

func TestVerifyDummyUsesTheHashersParams(t *testing.T) {
	p := DefaultParams()
	h := NewHasher(p, nil)
	got, _, _, err := ParsePHC(h.dummy)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("dummy hash params %+v, want %+v", got, p)
	}
}

func TestNewHasherDoesNotReadRandom(t *testing.T) {
	// A test elsewhere may hand NewHasher a reader with exactly the salts it expects.
	r := bytes.NewReader(make([]byte, 16))
	NewHasher(TestParams(), r)
	if r.Len() != 16 {
		t.Errorf("NewHasher consumed %d random bytes, want 0", 16-r.Len())
	}
}

func TestTestParamsAreTiny(t *testing.T) {
	if p := TestParams(); p.Memory != 64 || p.Time != 1 || p.Threads != 1 {
		t.Errorf("TestParams() = %+v, want m=64 t=1 p=1", p)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := NewHasher(TestParams(), nil)
	phc, err := h.Hash("shared between goroutines")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				if ok, _, err := h.Verify(phc, "shared between goroutines"); !ok || err != nil {
					failures.Add(1)
				}
			} else {
				h.VerifyDummy("shared between goroutines")
				if Check("shared between goroutines") != nil {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d goroutines failed", n)
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), nil)
	for b.Loop() {
		if _, err := h.Hash("benchmark password"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := NewHasher(DefaultParams(), nil)
	for b.Loop() {
		h.VerifyDummy("benchmark password")
	}
}

func BenchmarkCheck(b *testing.B) {
	Check("warm the blocklist")
	for b.Loop() {
		_ = Check("correct horse battery staple")
	}
}
