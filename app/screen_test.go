package app

import (
	"log/slog"
	"strings"
	"testing"
)

func TestScreenShownLogsKnownScreensAndRefusesOthers(t *testing.T) {
	var log syncBuffer
	a := New(Options{ServerURL: "http://127.0.0.1:1", DeviceID: "d", Tokens: FileTokens{Dir: t.TempDir()},
		Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err := a.ScreenShown("signin"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), `msg="screen shown" screen=signin since_launch=`) {
		t.Fatalf("log: %s", log.String())
	}
	err := a.ScreenShown("signin\nmsg=forged")
	if ui, ok := err.(*UIError); !ok || ui.Code != "invalid_request" {
		t.Fatalf("unknown screen: %v, want invalid_request", err)
	}
	if strings.Contains(log.String(), "forged") {
		t.Fatal("an unknown screen name reached the log")
	}
}
