package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/denisbrodbeck/machineid"
)

// appID salts the machine id, so the device id shoplogin sends says nothing about the
// machine id other apps see.
const appID = "shoplogin.desktop"

// DeviceID returns this machine's device id: an HMAC of the OS machine id keyed by the
// app id, or, where the OS has no machine id, a random id kept in configDir.
func DeviceID(configDir string) (string, error) {
	if id, err := machineid.ProtectedID(appID); err == nil && id != "" {
		return id, nil
	}
	return fallbackDeviceID(configDir)
}

func fallbackDeviceID(configDir string) (string, error) {
	path := filepath.Join(configDir, "device-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); len(id) >= 32 {
			return id, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read device id: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b)
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return "", fmt.Errorf("save device id: %w", err)
	}
	if err := writeFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("save device id: %w", err)
	}
	return id, nil
}

// writeFileAtomic writes data to path with mode 0600 through a temporary file and a
// rename, so a crash leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
