package app

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestTheFallbackDeviceIDIsARandomIDKeptInAPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "shoplogin")

	id, err := fallbackDeviceID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !hex64.MatchString(id) {
		t.Fatalf("device id %q, want 64 hex digits", id)
	}
	info, err := os.Stat(filepath.Join(dir, "device-id"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("device-id file mode %v, want 0600", info.Mode().Perm())
	}
	if again, err := fallbackDeviceID(dir); err != nil || again != id {
		t.Fatalf("second launch: id %q (%v), want %q", again, err, id)
	}
	if other, err := fallbackDeviceID(t.TempDir()); err != nil || other == id {
		t.Fatalf("another machine got id %q (%v), the same as this one", other, err)
	}
}

func TestAnUnusableDeviceIDFileIsReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "device-id")
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := fallbackDeviceID(dir)
	if err != nil || !hex64.MatchString(id) {
		t.Fatalf("id %q (%v), want a fresh 64-hex id", id, err)
	}
	if b, _ := os.ReadFile(path); string(b) != id+"\n" {
		t.Errorf("file holds %q, want the new id", b)
	}
}

func TestDeviceIDIsStable(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	id, err := DeviceID(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Either the salted machine id (HMAC-SHA256 in hex) or the fallback: 64 hex digits.
	if !hex64.MatchString(id) {
		t.Fatalf("device id %q, want 64 hex digits", id)
	}
	if again, err := DeviceID(dir); err != nil || again != id {
		t.Fatalf("second call: %q (%v), want %q", again, err, id)
	}
}

func TestWriteFileAtomicLeavesOnlyThePrivateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")

	for _, data := range []string{"first", "second, longer than the first"} {
		if err := writeFileAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != data {
			t.Fatalf("file holds %q (%v), want %q", b, err, data)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	wantOnly(t, dir, "token")

	// A file that cannot be put in place leaves no temporary file behind either.
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "taken", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "taken"), []byte("data")); err == nil {
		t.Fatal("replacing a non-empty folder with a file succeeded")
	}
	wantOnly(t, dir, "taken", "token")
}

// wantOnly fails the test unless dir holds exactly names.
func wantOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %v, want %v", dir, got, names)
		}
	}
}
