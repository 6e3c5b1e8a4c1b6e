package address

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]string{
		"ann@example.org":        "ann@example.org",
		"  Ann@Example.ORG ":     "Ann@example.org",
		"a.b+tag@sub.example.io": "a.b+tag@sub.example.io",
		"ann@bücher.example":     "ann@xn--bcher-kva.example",
	}
	for in, want := range good {
		a, err := Parse(in)
		if err != nil || a.Display != want || a.Key != strings.ToLower(want) {
			t.Errorf("Parse(%q) = %+v, %v; want %q", in, a, err, want)
		}
	}
	bad := []string{
		"", "ann", "@example.org", "ann@", "ann@localhost",
		"ann@example.org\r\nBcc: evil@example.org",
		"Ann <ann@example.org>", "ann@exa mple.org", "ann\x00@example.org",
		"ännä@example.org", "ann\u2028x@example.org", strings.Repeat("a", 250) + "@example.org",
		"ann@@example.org", "(comment)ann@example.org",
	}
	for _, in := range bad {
		if a, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted %+v", in, a)
		}
	}
}

func TestHintMasksTheLocalPart(t *testing.T) {
	if got := Hint("ann@example.org"); got != "a***@example.org" {
		t.Errorf("Hint = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"ann@example.org", "foo@ory.sh\r\nBcc: evil@x", "a@b.c", "ann@bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if strings.Count(a.Display, "@") != 1 || len(a.Display) > MaxLength {
			t.Fatalf("accepted %q as %q", s, a.Display)
		}
		for _, r := range a.Display {
			if r <= ' ' || r >= 0x7f {
				t.Fatalf("accepted %q with rune %U", a.Display, r)
			}
		}
		again, err := Parse(a.Display)
		if err != nil || again != a {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, a.Display, again.Display, err)
		}
	})
}
