package inbox_test

import (
	"context"
	"fmt"
	"testing"

	"shoplogin/backend/clock"
	"shoplogin/backend/inbox"
	"shoplogin/backend/inbox/inboxtest"
)

// BenchmarkCodeLookup is the question a QA script (and `make bench`) asks after each
// sign-in, GET /api/qa/code: the newest code sent to one address, in an inbox that holds
// thousands of other messages. Waiters ask again on every arrival, so it must not grow
// with the inbox.
func BenchmarkCodeLookup(b *testing.B) {
	ib, addr := inboxtest.Start(b, clock.NewFixed(t0), inbox.Options{})
	for i := range 2000 {
		if err := send(addr, "shop@example.com", []string{fmt.Sprintf("user-%d@example.org", i)}, codeEmail(b, fmt.Sprintf("user-%d@example.org", i), "123456")); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	for b.Loop() {
		if _, _, found, err := ib.Code(ctx, "user-7@example.org", 0); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}
