package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
)

// rawConn is a lean HTTP/1.1 keep-alive client for the fast phases. The load generator
// shares the machine's cores with the server: net/http's client plus JSON decoding cost
// about as much CPU per session check as the server spends answering it, and would
// measure the client as much as the server. Requests are written whole; answers are read
// by status line, headers and Content-Length (or chunks), with the body kept for checks.
type rawConn struct {
	host string
	conn net.Conn
	r    *bufio.Reader
	body []byte
}

func dialRaw(baseURL string) (*rawConn, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	return &rawConn{host: u.Host, conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// get builds a GET request with the desktop client's credentials.
func (c *rawConn) get(path, token, device string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nAuthorization: Bearer %s\r\nX-Device-ID: %s\r\n\r\n",
		path, c.host, token, device)
}

// post builds a POST request with a JSON body.
func (c *rawConn) post(path string, body []byte) []byte {
	b := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, c.host, len(body))
	return append(b, body...)
}

// do sends req and reads the answer; the body is valid until the next call.
func (c *rawConn) do(req []byte) (status int, body []byte, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked := -1, false
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, err
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		for {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 32)
			if err != nil {
				return 0, nil, err
			}
			if err := c.read(int(n) + 2); err != nil { // the chunk and its CRLF
				return 0, nil, err
			}
			c.body = c.body[:len(c.body)-2]
			if n == 0 {
				break
			}
		}
	case length >= 0:
		if err := c.read(length); err != nil {
			return 0, nil, err
		}
	case status == 204 || status == 304:
	default:
		return 0, nil, errors.New("an answer with no length")
	}
	return status, c.body, nil
}

func (c *rawConn) read(n int) error {
	start := len(c.body)
	c.body = append(c.body, make([]byte, n)...)
	_, err := io.ReadFull(c.r, c.body[start:])
	return err
}

func (c *rawConn) close() { c.conn.Close() }
