package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyFileIsCreatedOnceWithOwnerOnlyAccess(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Code, again.Code) {
		t.Error("second start derived different keys")
	}
	if bytes.Equal(first.Code, first.Device) || bytes.Equal(first.Device, first.Outbox) {
		t.Error("purpose keys are not distinct")
	}
}

func TestATruncatedKeyFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("short"), 0o600)
	if _, err := LoadOrCreate(dir); err == nil {
		t.Fatal("accepted a 5-byte key")
	}
}
