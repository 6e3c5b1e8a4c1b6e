package app

import (
	"log/slog"
	"time"

	"shoplogin/backend/api"
)

// knownScreen says whether name is one of the window's screens (their data-screen
// values). Anything else is refused, so the page cannot write arbitrary text into the log.
func knownScreen(name string) bool {
	switch name {
	case "signin", "signup", "code", "shop", "profile":
		return true
	}
	return false
}

// ScreenShown is called by the window each time a different screen is on show, after it
// has mounted, taken focus and painted: from then on it answers the keyboard. It logs
//
//	msg="screen shown" screen=signin since_launch=812ms
//
// which is how the desktop end-to-end test knows where the app is and how long start-up
// took, without a debug port into the page. It changes nothing and is cheap, so it is on
// in every build.
func (a *App) ScreenShown(name string) (err error) {
	defer a.guard("screen-shown", &err)
	if !knownScreen(name) {
		return &UIError{Code: string(api.CodeInvalidRequest), Message: "Unknown screen."}
	}
	a.log.Info("screen shown", slog.String("screen", name), slog.Duration("since_launch", time.Since(a.launched)))
	return nil
}
