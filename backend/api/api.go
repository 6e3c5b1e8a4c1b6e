// Package api holds the HTTP API's contract: request and answer bodies and error codes,
// shared by the server, the desktop client and tests so the JSON names live in one place.
package api

import "time"

// SignInRequest is the body of POST /api/v1/signin.
type SignInRequest struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	DeviceID   string `json:"device_id"`
	DeviceName string `json:"device_name"`
}

// VerifyRequest is the body of POST /api/v1/signin/verify.
type VerifyRequest struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
	DeviceID    string `json:"device_id"`
}

// ResendRequest is the body of POST /api/v1/signin/resend.
type ResendRequest struct {
	ChallengeID string `json:"challenge_id"`
}

// SignUpRequest is the body of POST /api/v1/accounts.
type SignUpRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// SecurityUpdate is the body of PUT /api/v1/account/security.
type SecurityUpdate struct {
	TwoFactor string `json:"two_factor"`
	Password  string `json:"password"`
}

// PasswordChange is the body of PUT /api/v1/account/password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Sign-in outcomes, in SignInResult.Status.
const (
	StatusSignedIn     = "signed_in"
	StatusCodeRequired = "code_required"
)

// Why a code is asked, in SignInResult.Reason.
const (
	ReasonNewDevice           = "new_device"
	ReasonNewNetwork          = "new_network"
	ReasonNewDeviceAndNetwork = "new_device_and_network"
)

// Two-factor settings, in Security.TwoFactor.
const (
	TwoFactorEmail = "email"
	TwoFactorOff   = "off"
)

// Delivery states of an email, in Challenge.Delivery.
const (
	DeliveryQueued   = "queued"
	DeliverySent     = "sent"
	DeliveryRetrying = "retrying"
	DeliveryFailed   = "failed"
	DeliveryDropped  = "dropped"
)

// Account is what a client may know about the signed-in account.
type Account struct {
	Email     string    `json:"email"`
	TwoFactor string    `json:"two_factor"`
	CreatedAt time.Time `json:"created_at"`
}

// SignInResult answers a sign-in or a code verification. With StatusSignedIn the token
// fields are set; with StatusCodeRequired the challenge fields are.
type SignInResult struct {
	Status string `json:"status"`

	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	Account   *Account  `json:"account,omitempty"`

	ChallengeID string    `json:"challenge_id,omitempty"`
	EmailHint   string    `json:"email_hint,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	ResendAfter time.Time `json:"resend_after,omitzero"`
}

// ResendResult answers POST /api/v1/signin/resend.
type ResendResult struct {
	ExpiresAt   time.Time `json:"expires_at"`
	ResendAfter time.Time `json:"resend_after"`
}

// Challenge answers GET /api/v1/signin/challenge/{id}.
type Challenge struct {
	ExpiresAt    time.Time `json:"expires_at"`
	AttemptsLeft int       `json:"attempts_left"`
	Delivery     string    `json:"delivery"`
	EmailHint    string    `json:"email_hint"`
	Reason       string    `json:"reason"`
	ResendAfter  time.Time `json:"resend_after"`
	// Now is the server's time, so a code screen's countdown follows a QA clock that a
	// script moved while the screen was open.
	Now time.Time `json:"now"`
}

// Session answers GET /api/v1/session.
type Session struct {
	Account   Account   `json:"account"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Device is one device an account has signed in from.
type Device struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Trusted    bool      `json:"trusted"`
	Current    bool      `json:"current"`
	FirstSeen  time.Time `json:"first_seen_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// Network is one network ("location") an account has signed in from.
type Network struct {
	ID         int64     `json:"id"`
	Network    string    `json:"network"`
	Trusted    bool      `json:"trusted"`
	Current    bool      `json:"current"`
	FirstSeen  time.Time `json:"first_seen_at"`
	LastUsedAt time.Time `json:"last_used_at"`
}

// SessionInfo is one live login token, as listed in Account Security.
type SessionInfo struct {
	ID         int64     `json:"id"`
	DeviceName string    `json:"device_name"`
	Network    string    `json:"network"`
	Current    bool      `json:"current"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Security answers GET /api/v1/account/security.
type Security struct {
	TwoFactor string        `json:"two_factor"`
	Devices   []Device      `json:"devices"`
	Networks  []Network     `json:"networks"`
	Sessions  []SessionInfo `json:"sessions"`
}
