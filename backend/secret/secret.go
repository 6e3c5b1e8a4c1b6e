// Package secret keeps the server's master key in its own file, outside the database, and
// derives the purpose-bound keys the other packages use.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the key file's name in the data folder.
const FileName = "secret.key"

const size = 32

// Keys are derived from the master key, one per purpose, so that a key leaked from one use
// says nothing about another.
type Keys struct {
	Code   []byte // HMAC of verification codes
	Device []byte // HMAC of device ids
	Email  []byte // HMAC of emails in throttle keys
	Outbox []byte // AES-256-GCM sealing of queued mail
}

// LoadOrCreate reads dir/secret.key, creating it with a fresh random key (mode 0600) when
// it does not exist. A copy of the database alone is then useless for checking codes or
// device ids.
func LoadOrCreate(dir string) (Keys, error) {
	path := filepath.Join(dir, FileName)
	master, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		master, err = create(path)
	}
	if err != nil {
		return Keys{}, fmt.Errorf("server secret: %w", err)
	}
	if len(master) != size {
		return Keys{}, fmt.Errorf("server secret %s: has %d bytes, want %d", path, len(master), size)
	}
	return Derive(master), nil
}

func create(path string) ([]byte, error) {
	master := make([]byte, size)
	if _, err := rand.Read(master); err != nil {
		return nil, err
	}
	// O_EXCL: if two processes start at once, one key wins and the other reads it back.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(master); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return master, f.Close()
}

// Derive computes the purpose keys from a master key.
func Derive(master []byte) Keys {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("shoplogin/" + label))
		return m.Sum(nil)
	}
	return Keys{
		Code:   derive("code"),
		Device: derive("device"),
		Email:  derive("email"),
		Outbox: derive("outbox"),
	}
}
