package app

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFileTokensKeepOneTokenPerServerInAPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shoplogin")
	f := FileTokens{Dir: dir}
	const server, other = "http://127.0.0.1:8080", "https://shop.example.org"

	if tok, err := f.Load(server); err != nil || tok != "" {
		t.Fatalf("Load before any Save = %q, %v; want empty", tok, err)
	}
	if err := f.Save(server, "token-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(other, "token-2"); err != nil {
		t.Fatal(err)
	}
	if tok, err := f.Load(server); err != nil || tok != "token-1" {
		t.Fatalf("Load = %q, %v; want token-1", tok, err)
	}
	if tok, _ := f.Load(other); tok != "token-2" {
		t.Fatalf("the other server's token = %q, want token-2", tok)
	}
	if err := f.Save(server, "token-3"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := f.Load(server); tok != "token-3" {
		t.Fatalf("Load after a second Save = %q, want token-3", tok)
	}

	info, err := os.Stat(f.path(server))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("token folder: %v (%v), want mode 0700", info.Mode().Perm(), err)
	}
	if filepath.Dir(f.path(server)) != dir {
		t.Errorf("the server URL escaped the folder: %s", f.path(server))
	}
	wantOnly(t, dir, filepath.Base(f.path(server)), filepath.Base(f.path(other)))

	if err := f.Clear(server); err != nil {
		t.Fatal(err)
	}
	if tok, err := f.Load(server); err != nil || tok != "" {
		t.Fatalf("Load after Clear = %q, %v; want empty", tok, err)
	}
	if err := f.Clear(server); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	if tok, _ := f.Load(other); tok != "token-2" {
		t.Error("clearing one server's token cleared another's")
	}
}

func TestWithoutAKeyringTheTokenGoesToAFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux's keyring can be made unreachable from the environment")
	}
	// A session bus that does not exist: the Secret Service cannot answer, and the
	// user's real keyring is never touched.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	dir := t.TempDir()
	store := ChooseTokenStore(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if f, ok := store.(FileTokens); !ok || f.Dir != dir {
		t.Fatalf("token store = %#v, want FileTokens in %s", store, dir)
	}
}
