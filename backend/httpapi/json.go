package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"shoplogin/backend/api"
)

// maxBody bounds every request body: the largest legitimate one (two 1024-byte passwords
// in JSON) is far below it.
const maxBody = 16 << 10

// decode reads a JSON body into v strictly: JSON only, one object, no unknown fields,
// within maxBody. Its errors are *api.Error with a message that says what to fix.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return api.Errorf(api.CodeUnsupportedMedia, "Send the body as JSON with Content-Type: application/json.")
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return api.Errorf(api.CodeInvalidJSON, "The body must hold a single JSON object.")
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return api.Errorf(api.CodeBodyTooLarge, "The body is larger than %d bytes.", tooBig.Limit)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return api.Errorf(api.CodeInvalidJSON, "The body is not valid JSON.")
	case errors.Is(err, io.EOF):
		return api.Errorf(api.CodeInvalidJSON, "The body is empty; send a JSON object.")
	case errors.As(err, &typeErr):
		e := api.Errorf(api.CodeInvalidRequest, "Field %q must be a JSON %s.", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
		if typeErr.Field == "" {
			e.Message = "The body must be a JSON object."
		}
		e.Field = typeErr.Field
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		e := api.Errorf(api.CodeInvalidRequest, "Unknown field %q.", name)
		e.Field = name
		return e
	default:
		return api.Errorf(api.CodeInvalidJSON, "The body is not valid JSON.")
	}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "int32", "uint", "float64":
		return "number"
	default:
		return fmt.Sprintf("value of the right type (%s)", kind)
	}
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
