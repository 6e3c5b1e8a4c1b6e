package app

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zalando/go-keyring"
)

// TokenStore keeps the monthly login token between launches, one per server.
type TokenStore interface {
	// Load returns the saved token, "" if there is none.
	Load(server string) (string, error)
	Save(server, token string) error
	Clear(server string) error
}

// FileTokens keeps tokens in a 0600 file per server in a folder, for machines without an
// OS keyring (a headless Linux box has no Secret Service).
type FileTokens struct{ Dir string }

func (f FileTokens) path(server string) string {
	name := strings.NewReplacer("://", "_", "/", "_", ":", "_").Replace(server)
	return filepath.Join(f.Dir, "token-"+name)
}

// Load implements TokenStore.
func (f FileTokens) Load(server string) (string, error) {
	b, err := os.ReadFile(f.path(server))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// Save implements TokenStore.
func (f FileTokens) Save(server, token string) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	return writeFileAtomic(f.path(server), []byte(token))
}

// Clear implements TokenStore.
func (f FileTokens) Clear(server string) error {
	err := os.Remove(f.path(server))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

const keyringService = "shoplogin"

// keyringTimeout bounds a keyring call: on a desktop without a Secret Service the D-Bus
// call can hang, and the app must still start.
const keyringTimeout = 2 * time.Second

// KeyringTokens keeps tokens in the OS keyring (Keychain, Credential Manager, Secret
// Service).
type KeyringTokens struct{}

func withTimeout[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(keyringTimeout):
		var zero T
		return zero, errors.New("keyring did not answer")
	}
}

// Load implements TokenStore.
func (KeyringTokens) Load(server string) (string, error) {
	tok, err := withTimeout(func() (string, error) { return keyring.Get(keyringService, server) })
	if errors.Is(err, keyring.ErrNotFound) {
		return "", nil
	}
	return tok, err
}

// Save implements TokenStore.
func (KeyringTokens) Save(server, token string) error {
	_, err := withTimeout(func() (struct{}, error) { return struct{}{}, keyring.Set(keyringService, server, token) })
	return err
}

// Clear implements TokenStore.
func (KeyringTokens) Clear(server string) error {
	_, err := withTimeout(func() (struct{}, error) { return struct{}{}, keyring.Delete(keyringService, server) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// ChooseTokenStore returns the OS keyring if it works here, else files in dir.
func ChooseTokenStore(dir string, log *slog.Logger) TokenStore {
	probe := "probe:" + fmt.Sprint(os.Getpid())
	if err := (KeyringTokens{}).Save(probe, "x"); err == nil {
		(KeyringTokens{}).Clear(probe)
		return KeyringTokens{}
	} else {
		log.Info("OS keyring unavailable; keeping the token in a 0600 file", slog.String("reason", err.Error()), slog.String("dir", dir))
	}
	return FileTokens{Dir: dir}
}
