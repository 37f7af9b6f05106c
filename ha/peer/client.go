package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// RequestTimeout is Kea's fixed HTTP client timeout for HA commands.
const RequestTimeout = 10 * time.Second

// maxReplyBody caps a peer reply (a 10 000-lease page is a few MB).
const maxReplyBody = 256 << 20

// Answer is element [0] of a peer's reply.
type Answer struct {
	Result int             `json:"result"`
	Text   string          `json:"text,omitempty"`
	Args   json.RawMessage `json:"arguments,omitempty"`
}

// CommError is a communication failure: transport error, timeout, or a
// reply that is not a non-empty JSON list (or map).
type CommError struct {
	Command string
	Err     error
}

func (e *CommError) Error() string {
	return fmt.Sprintf("send %s to partner: %v", e.Command, e.Err)
}

func (e *CommError) Unwrap() error { return e.Err }

// Target is the peer a client talks to.
type Target struct {
	Name string // for error messages
	URL  string // http:// or https://, literal IP host
	// BasicAuthUser and BasicAuthPassword are sent when the user is set.
	BasicAuthUser, BasicAuthPassword string
}

// Client POSTs commands to one peer the way Kea's HA client does.
type Client struct {
	url, host  string
	user, pass string
	hc         *http.Client
	tr         *http.Transport
	partner    *PartnerInfo // optional: learns the partner's software
}

// NewClient builds a client for t. tc is the TLS configuration for an
// https peer (nil: plain HTTP). conns bounds the persistent connections;
// oneShot disables keep-alive (Kea's temporary clients for sync,
// maintenance and ha-reset). info, if not nil, learns the partner's
// software from every reply.
func NewClient(t Target, tc *tls.Config, conns int, oneShot bool, info *PartnerInfo) (*Client, error) {
	host, hostport, err := HostPort(t.URL)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", t.Name, err)
	}
	target := t.URL
	if u, err := url.Parse(t.URL); err == nil && tc != nil && u.Scheme == "http" {
		// TLS parameters with an http:// URL: Kea 2.2 speaks TLS to the
		// URL's address and port anyway (tls.go).
		u.Scheme, u.Host = "https", hostport
		target = u.String()
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: RequestTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     25 * time.Second, // below Kea's 30 s listener idle close
		DisableCompression:  true,
		DisableKeepAlives:   oneShot,
		ForceAttemptHTTP2:   false,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: RequestTimeout,
		// HTTP/1.1 only, as Kea: no h2 upgrade over TLS.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return &Client{url: target, host: host, user: t.BasicAuthUser, pass: t.BasicAuthPassword,
		hc: &http.Client{Transport: tr}, tr: tr, partner: info}, nil
}

// Close closes the idle connections.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// envelope is the request body; arguments are omitted when nil.
type envelope struct {
	Arguments any      `json:"arguments,omitempty"`
	Command   string   `json:"command"`
	Service   []string `json:"service"`
}

// EncodeCommand is the request body of command, as Kea's CommandCreator
// builds it.
func EncodeCommand(command string, args any) ([]byte, error) {
	body, err := json.Marshal(envelope{Arguments: args, Command: command, Service: []string{"dhcp4"}})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", command, err)
	}
	return body, nil
}

// Call sends command and returns element [0] of the reply. A JSON map body
// becomes result 1 with its text (Kea's verifyAsyncResponse). Everything
// that is not a usable reply is a *CommError.
func (c *Client) Call(ctx context.Context, command string, args any, timeout time.Duration) (Answer, error) {
	body, err := EncodeCommand(command, args)
	if err != nil {
		return Answer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return Answer{}, &CommError{command, err}
	}
	req.Host = c.host
	req.Header.Set("Content-Type", "application/json")
	req.Header["User-Agent"] = []string{""} // suppress Go's default, Kea sends none
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Answer{}, &CommError{command, err}
	}
	defer resp.Body.Close()
	if c.partner != nil {
		c.partner.Observe([]byte(resp.Header.Get("Server")))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	if err != nil {
		return Answer{}, &CommError{command, fmt.Errorf("read reply: %w", err)}
	}
	a, err := parseReply(raw)
	if err != nil {
		return Answer{}, &CommError{command, err}
	}
	return a, nil
}

// parseReply decodes a reply body: a list (element 0 is used) or a map
// (failure with its text).
func parseReply(raw []byte) (Answer, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Answer{}, errors.New("empty reply body")
	}
	switch raw[0] {
	case '[':
		// Common case, one decode: a list of maps whose first has a result.
		var quick []struct {
			Result *int            `json:"result"`
			Text   string          `json:"text"`
			Args   json.RawMessage `json:"arguments"`
		}
		if json.Unmarshal(raw, &quick) == nil && len(quick) > 0 && quick[0].Result != nil &&
			bytes.Contains(raw, []byte(`"result"`)) {
			return Answer{Result: *quick[0].Result, Text: quick[0].Text, Args: quick[0].Args}, nil
		}
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return Answer{}, fmt.Errorf("decode reply: %w", err)
		}
		if len(list) == 0 {
			return Answer{}, errors.New("list of responses must not be empty")
		}
		var a Answer
		if err := json.Unmarshal(list[0], &a); err != nil {
			return Answer{}, fmt.Errorf("decode reply element: %w", err)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(list[0], &probe); err != nil || probe["result"] == nil {
			return Answer{}, errors.New("reply element has no result")
		}
		return a, nil
	case '{':
		var m struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return Answer{}, fmt.Errorf("decode reply: %w", err)
		}
		return Answer{Result: 1, Text: m.Text}, nil
	}
	return Answer{}, errors.New("body of the response must be a list")
}

// ResultError is a reply whose result code is not acceptable.
type ResultError struct {
	Command string
	Result  int
	Text    string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("partner answered %s with result %d: %s", e.Command, e.Result, e.Text)
}

// ResultsOK are the results Kea 2.2 takes as success in a partner's answer
// to every command it sends (ha_service.cc, verifyAsyncResponse: anything
// but 0 and 3, "empty", throws): heartbeats, lease updates and the backlog,
// dhcp-disable/-enable, lease4-get-page, ha-reset, ha-maintenance-notify,
// ha-sync-complete-notify.
var ResultsOK = []int{0, 3}

// Expect calls command and fails unless the result is one of ok.
func (c *Client) Expect(ctx context.Context, command string, args any, timeout time.Duration, ok ...int) (Answer, error) {
	a, err := c.Call(ctx, command, args, timeout)
	if err != nil {
		return a, err
	}
	return a, a.Want(command, ok...)
}

// Want fails with a *ResultError unless the answer's result is one of ok.
func (a Answer) Want(command string, ok ...int) error {
	for _, r := range ok {
		if a.Result == r {
			return nil
		}
	}
	return &ResultError{Command: command, Result: a.Result, Text: a.Text}
}

// HostPort parses a peer URL: http or https scheme, literal IP host,
// port (default 80 or 443). It returns the host (no port) and "host:port".
func HostPort(raw string) (host, hostport string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("parse url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	h := u.Hostname()
	if _, err := netip.ParseAddr(h); err != nil {
		return "", "", fmt.Errorf("url %q: host must be a literal ip address", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	if strings.Contains(h, ":") {
		return h, "[" + h + "]:" + port, nil
	}
	return h, h + ":" + port, nil
}
