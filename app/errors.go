package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	"shoplogin/backend/api"
)

// UIError is what a failed bound call rejects its promise with, the same shape as the
// HTTP API's error object so the frontend handles both transports alike.
type UIError struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfter   int    `json:"retry_after,omitempty"`
	AttemptsLeft *int   `json:"attempts_left,omitempty"`
	Field        string `json:"field,omitempty"`
}

func (e *UIError) Error() string { return e.Code + ": " + e.Message }

// toUI maps any error to a UIError, once, for every bound method. API errors keep their
// code and safe message; a server that cannot be reached says so; anything else is logged
// and shown as a generic failure, so no internal detail reaches the window.
func toUI(log *slog.Logger, op string, err error) *UIError {
	var ui *UIError
	if errors.As(err, &ui) {
		return ui
	}
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return &UIError{Code: string(apiErr.Code), Message: apiErr.Message, RetryAfter: apiErr.RetryAfter,
			AttemptsLeft: apiErr.AttemptsLeft, Field: apiErr.Field}
	}
	var urlErr *url.Error
	var netErr net.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		log.Warn("account server unreachable", slog.String("op", op), slog.String("error", err.Error()))
		return &UIError{Code: string(api.CodeUnavailable), Message: "Can't reach the account server. Check your connection and try again."}
	}
	log.Error("unexpected error", slog.String("op", op), slog.String("error", err.Error()))
	return &UIError{Code: string(api.CodeInternal), Message: "Something went wrong. Please try again."}
}

// ErrorFormatter is given to Wails so a rejected promise carries the UIError object,
// not a string.
func ErrorFormatter(err error) any {
	var ui *UIError
	if errors.As(err, &ui) {
		return ui
	}
	return &UIError{Code: string(api.CodeInternal), Message: "Something went wrong. Please try again."}
}

// guard turns a panic in a bound method into an error: in Wails v2.9.2 a panic there
// kills the whole app.
func (a *App) guard(op string, err *error) {
	if r := recover(); r != nil {
		a.log.Error("panic in bound method", slog.String("op", op), slog.String("panic", fmt.Sprint(r)))
		*err = &UIError{Code: string(api.CodeInternal), Message: "Something went wrong. Please try again."}
		return
	}
	if *err != nil {
		*err = toUI(a.log, op, *err)
	}
}
