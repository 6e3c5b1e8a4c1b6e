// Package apiclient is a Go client of the account server's HTTP API and QA API, used by
// the desktop app and by tests.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"shoplogin/backend/api"
	"shoplogin/backend/audit"
	"shoplogin/backend/inbox"
)

// Client talks to one server as one device. Set Token after signing in. It is not safe
// to change its fields while calls are running.
type Client struct {
	BaseURL  string
	HTTP     *http.Client
	DeviceID string
	Token    string
	// ForwardedFor, when set, is sent as X-Forwarded-For: through a server started with
	// --trusted-proxy for this client's address it makes requests come from that address.
	// QA uses it to simulate a new network.
	ForwardedFor string
}

// New returns a client of the server at baseURL ("http://127.0.0.1:8080").
func New(baseURL, deviceID string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 90 * time.Second}, DeviceID: deviceID}
}

// Do sends a request and decodes a 2xx JSON answer into out (if non-nil). A non-2xx
// answer is returned as *api.Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.DeviceID != "" {
		req.Header.Set("X-Device-ID", c.DeviceID)
	}
	if c.ForwardedFor != "" {
		req.Header.Set("X-Forwarded-For", c.ForwardedFor)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
			return eb.Error
		}
		return fmt.Errorf("%s %s: unexpected answer %s", method, path, resp.Status)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// SignUp creates an account.
func (c *Client) SignUp(ctx context.Context, email, password string) error {
	return c.Do(ctx, "POST", "/api/v1/accounts", api.SignUpRequest{Email: email, Password: password}, nil)
}

// SignIn signs in with email and password as this client's device; on signed_in it keeps
// the token.
func (c *Client) SignIn(ctx context.Context, email, password, deviceName string) (api.SignInResult, error) {
	var res api.SignInResult
	err := c.Do(ctx, "POST", "/api/v1/signin", api.SignInRequest{Email: email, Password: password,
		DeviceID: c.DeviceID, DeviceName: deviceName}, &res)
	c.keep(res)
	return res, err
}

// Verify submits a code for a challenge; on success it keeps the token.
func (c *Client) Verify(ctx context.Context, challengeID, code string) (api.SignInResult, error) {
	var res api.SignInResult
	err := c.Do(ctx, "POST", "/api/v1/signin/verify", api.VerifyRequest{ChallengeID: challengeID, Code: code, DeviceID: c.DeviceID}, &res)
	c.keep(res)
	return res, err
}

func (c *Client) keep(res api.SignInResult) {
	if res.Status == api.StatusSignedIn && res.Token != "" {
		c.Token = res.Token
	}
}

// Resend asks for a new code.
func (c *Client) Resend(ctx context.Context, challengeID string) (api.ResendResult, error) {
	var res api.ResendResult
	err := c.Do(ctx, "POST", "/api/v1/signin/resend", api.ResendRequest{ChallengeID: challengeID}, &res)
	return res, err
}

// Challenge reads a pending challenge's state.
func (c *Client) Challenge(ctx context.Context, challengeID string) (api.Challenge, error) {
	var res api.Challenge
	err := c.Do(ctx, "GET", "/api/v1/signin/challenge/"+url.PathEscape(challengeID), nil, &res)
	return res, err
}

// Session checks the token.
func (c *Client) Session(ctx context.Context) (api.Session, error) {
	var res api.Session
	err := c.Do(ctx, "GET", "/api/v1/session", nil, &res)
	return res, err
}

// SignOut revokes the token and forgets it.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.Do(ctx, "POST", "/api/v1/signout", nil, nil)
	c.Token = ""
	return err
}

// SignOutEverywhere revokes every token of the account.
func (c *Client) SignOutEverywhere(ctx context.Context) error {
	err := c.Do(ctx, "POST", "/api/v1/account/signout-all", nil, nil)
	if err == nil {
		c.Token = ""
	}
	return err
}

// Security reads Account Security.
func (c *Client) Security(ctx context.Context) (api.Security, error) {
	var res api.Security
	err := c.Do(ctx, "GET", "/api/v1/account/security", nil, &res)
	return res, err
}

// SetTwoFactor turns email codes on or off.
func (c *Client) SetTwoFactor(ctx context.Context, on bool, password string) (api.Security, error) {
	tf := api.TwoFactorOff
	if on {
		tf = api.TwoFactorEmail
	}
	var res api.Security
	err := c.Do(ctx, "PUT", "/api/v1/account/security", api.SecurityUpdate{TwoFactor: tf, Password: password}, &res)
	return res, err
}

// ChangePassword changes the password; the server answers with a fresh token, kept here.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	var res api.SignInResult
	err := c.Do(ctx, "PUT", "/api/v1/account/password", api.PasswordChange{CurrentPassword: current, NewPassword: next}, &res)
	c.keep(res)
	return err
}

// ForgetDevice removes a device from the account.
func (c *Client) ForgetDevice(ctx context.Context, id int64) error {
	return c.Do(ctx, "DELETE", "/api/v1/account/devices/"+strconv.FormatInt(id, 10), nil, nil)
}

// ForgetNetwork removes a network from the account.
func (c *Client) ForgetNetwork(ctx context.Context, id int64) error {
	return c.Do(ctx, "DELETE", "/api/v1/account/networks/"+strconv.FormatInt(id, 10), nil, nil)
}

// Messages lists the QA inbox, newest first, for one recipient ("" = all).
func (c *Client) Messages(ctx context.Context, to string) ([]inbox.Summary, error) {
	var res struct {
		Messages []inbox.Summary `json:"messages"`
	}
	err := c.Do(ctx, "GET", "/api/qa/messages?to="+url.QueryEscape(to), nil, &res)
	return res.Messages, err
}

// Message reads one QA inbox message.
func (c *Client) Message(ctx context.Context, id int64) (inbox.Message, error) {
	var res inbox.Message
	err := c.Do(ctx, "GET", "/api/qa/messages/"+strconv.FormatInt(id, 10), nil, &res)
	return res, err
}

// ClearInbox deletes every QA inbox message.
func (c *Client) ClearInbox(ctx context.Context) error {
	return c.Do(ctx, "DELETE", "/api/qa/messages", nil, nil)
}

// Code returns the newest code emailed to addr, waiting up to wait for it.
func (c *Client) Code(ctx context.Context, to string, wait time.Duration) (code string, messageID int64, err error) {
	var res struct {
		Code      string `json:"code"`
		MessageID int64  `json:"message_id"`
	}
	err = c.Do(ctx, "GET", "/api/qa/code?to="+url.QueryEscape(to)+"&wait="+wait.String(), nil, &res)
	return res.Code, res.MessageID, err
}

// ClockState is the QA clock.
type ClockState struct {
	Now           time.Time `json:"now"`
	OffsetSeconds int64     `json:"offset_seconds"`
}

// Clock reads the QA clock.
func (c *Client) Clock(ctx context.Context) (ClockState, error) {
	var res ClockState
	err := c.Do(ctx, "GET", "/api/qa/clock", nil, &res)
	return res, err
}

// AdvanceClock moves the QA clock forward by d.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (ClockState, error) {
	var res ClockState
	err := c.Do(ctx, "POST", "/api/qa/clock", map[string]string{"advance": d.String()}, &res)
	return res, err
}

// ResetClock brings the QA clock back to real time.
func (c *Client) ResetClock(ctx context.Context) (ClockState, error) {
	var res ClockState
	err := c.Do(ctx, "POST", "/api/qa/clock", map[string]bool{"reset": true}, &res)
	return res, err
}

// CreateAccount makes an account through the QA API.
func (c *Client) CreateAccount(ctx context.Context, email, password string, twoFactor bool) error {
	return c.Do(ctx, "POST", "/api/qa/accounts", map[string]any{"email": email, "password": password, "two_factor": twoFactor}, nil)
}

// Events reads the audit log for one email, newest first.
func (c *Client) Events(ctx context.Context, email string) ([]audit.Event, error) {
	var res struct {
		Events []audit.Event `json:"events"`
	}
	err := c.Do(ctx, "GET", "/api/qa/events?email="+url.QueryEscape(email), nil, &res)
	return res.Events, err
}
