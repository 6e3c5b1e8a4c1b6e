package password

import (
	"testing"

	"golang.org/x/crypto/argon2"
)

// The physical limit of password sign-in is argon2id itself. These compare the raw key
// derivation at the production parameters with Verify, many callers at once, as on a
// busy server: Verify runs one derivation per core and queues the rest, which costs no
// throughput and holds one derivation's memory per core instead of one per caller.

func BenchmarkRawIDKeyParallel(b *testing.B) {
	p := DefaultParams()
	salt := make([]byte, p.SaltLen)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("benchmark password"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}

func BenchmarkVerifyParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), nil)
	phc, err := h.Hash("benchmark password")
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(32) // 32 callers per core, as 64 clients on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(phc, "benchmark password"); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
}
