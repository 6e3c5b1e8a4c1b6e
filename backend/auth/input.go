package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"shoplogin/backend/address"
	"shoplogin/backend/api"
	"shoplogin/backend/password"
)

const (
	maxDeviceID   = 200
	maxDeviceName = 100
)

func invalid(field, format string, args ...any) *api.Error {
	e := api.Errorf(api.CodeInvalidRequest, format, args...)
	e.Field = field
	return e
}

func parseEmail(s string) (address.Address, error) {
	if s == "" {
		return address.Address{}, invalid("email", "Enter your email address.")
	}
	a, err := address.Parse(s)
	if err != nil {
		return address.Address{}, &api.Error{Code: api.CodeInvalidEmail, Field: "email",
			Message: "Enter a valid email address, like name@example.com."}
	}
	return a, nil
}

// checkPasswordInput refuses what can never be a password before any hashing: empty, or
// longer than the policy allows (a 10 MB "password" must not cost an argon2 run).
func checkPasswordInput(field, pw string) error {
	if pw == "" {
		return invalid(field, "Enter your password.")
	}
	if len(pw) > password.MaxBytes {
		return invalid(field, "Passwords are at most %d bytes.", password.MaxBytes)
	}
	return nil
}

// checkDevice validates the device id and cleans the display name.
func checkDevice(id, name string) (string, error) {
	if id == "" {
		return "", invalid("device_id", "The device id is missing.")
	}
	if len(id) > maxDeviceID || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return "", invalid("device_id", "The device id is malformed.")
	}
	return cleanName(name), nil
}

// cleanName makes a user-supplied device name safe to show and to put in an email:
// control and format characters go, length is capped.
func cleanName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" {
		return "Unnamed device"
	}
	if utf8.RuneCountInString(name) > maxDeviceName {
		name = string([]rune(name)[:maxDeviceName])
	}
	return name
}

// deviceMAC is the stored form of a device id.
func (s *Service) deviceMAC(deviceID string) []byte {
	m := hmac.New(sha256.New, s.keys.Device)
	m.Write([]byte(deviceID))
	return m.Sum(nil)
}

// accountThrottleKey keys failures by a keyed hash of the email, so an address with no
// account is throttled exactly like one with an account.
func (s *Service) accountThrottleKey(emailKey string) string {
	m := hmac.New(sha256.New, s.keys.Email)
	m.Write([]byte(emailKey))
	return "acct:" + hex.EncodeToString(m.Sum(nil))
}

func networkThrottleKey(network string) string { return "net:" + network }
