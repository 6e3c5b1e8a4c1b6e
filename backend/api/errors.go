package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is the machine-readable kind of a failure, sent as error.code. Clients branch on it.
type Code string

// The failures a client can see. Each has one HTTP status (see Status).
const (
	CodeInvalidRequest     Code = "invalid_request"     // malformed or missing input
	CodeInvalidJSON        Code = "invalid_json"        // body is not JSON
	CodeUnsupportedMedia   Code = "unsupported_media"   // body is not application/json
	CodeBodyTooLarge       Code = "body_too_large"      // over the size limit
	CodeInvalidEmail       Code = "invalid_email"       // not a usable email address
	CodeWeakPassword       Code = "weak_password"       // refused by the password policy
	CodeInvalidCredentials Code = "invalid_credentials" // unknown email or wrong password
	CodeRateLimited        Code = "rate_limited"        // too many tries; see RetryAfter
	CodeInvalidCode        Code = "invalid_code"        // wrong verification code; see AttemptsLeft
	CodeCodeExpired        Code = "code_expired"        // the code's ten minutes are over
	CodeTooManyAttempts    Code = "too_many_attempts"   // the challenge has used all its guesses
	CodeUnknownChallenge   Code = "unknown_challenge"   // no such pending challenge
	CodeInvalidToken       Code = "invalid_token"       // missing, unknown, revoked or wrong-device token
	CodeTokenExpired       Code = "token_expired"       // the monthly token ran out
	CodeNotFound           Code = "not_found"           // no such resource
	CodeMethodNotAllowed   Code = "method_not_allowed"  // wrong HTTP method
	CodeForbidden          Code = "forbidden"           // refused (e.g. cross-site request)
	CodeUnavailable        Code = "unavailable"         // the server cannot answer now
	CodeInternal           Code = "internal"            // a bug or a fault; details are in the log only
)

var statuses = map[Code]int{
	CodeInvalidRequest:     http.StatusBadRequest,
	CodeInvalidJSON:        http.StatusBadRequest,
	CodeUnsupportedMedia:   http.StatusUnsupportedMediaType,
	CodeBodyTooLarge:       http.StatusRequestEntityTooLarge,
	CodeInvalidEmail:       http.StatusBadRequest,
	CodeWeakPassword:       http.StatusBadRequest,
	CodeInvalidCredentials: http.StatusUnauthorized,
	CodeRateLimited:        http.StatusTooManyRequests,
	CodeInvalidCode:        http.StatusUnauthorized,
	CodeCodeExpired:        http.StatusGone,
	CodeTooManyAttempts:    http.StatusTooManyRequests,
	CodeUnknownChallenge:   http.StatusNotFound,
	CodeInvalidToken:       http.StatusUnauthorized,
	CodeTokenExpired:       http.StatusUnauthorized,
	CodeNotFound:           http.StatusNotFound,
	CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	CodeForbidden:          http.StatusForbidden,
	CodeUnavailable:        http.StatusServiceUnavailable,
	CodeInternal:           http.StatusInternalServerError,
}

// Status is the HTTP status that goes with the code.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is a failure a user may see. Message is safe to show: it never holds a secret
// or an internal detail. The fields beside Code are sent inside the JSON error object.
type Error struct {
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	RetryAfter   int    `json:"retry_after,omitempty"`   // seconds
	AttemptsLeft *int   `json:"attempts_left,omitempty"` // set on invalid_code
	Field        string `json:"field,omitempty"`         // the input at fault, when there is one
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is lets errors.Is match any *Error of the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf builds an Error with a formatted user-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// RateLimited builds a rate_limited error that tells the client how long to wait.
func RateLimited(wait time.Duration, message string) *Error {
	return &Error{Code: CodeRateLimited, Message: message, RetryAfter: RetrySeconds(wait)}
}

// RetrySeconds rounds a wait up to whole seconds, never below one, so that a client
// retrying after that many seconds is never early.
func RetrySeconds(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// CodeOf returns the code of err if it is (or wraps) an *Error, else CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorBody is the JSON shape of every error answer: {"error": {...}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}
