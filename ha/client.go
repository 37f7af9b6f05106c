package ha

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
	"time"
)

// requestTimeout is Kea's fixed HTTP client timeout for HA commands.
const requestTimeout = 10 * time.Second

// maxReplyBody caps a peer reply (a 10 000-lease page is a few MB).
const maxReplyBody = 256 << 20

// answer is element [0] of a peer's reply.
type answer struct {
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

// peerClient POSTs commands to one peer the way Kea's HA client does.
type peerClient struct {
	url, host  string
	user, pass string
	hc         *http.Client
	tr         *http.Transport
	partner    *partnerInfo // optional: learns the partner's software
}

// newPeerClient builds a client for p. tc is the TLS configuration for an
// https peer (nil: plain HTTP). conns bounds the persistent connections;
// oneShot disables keep-alive (Kea's temporary clients for sync,
// maintenance and ha-reset).
func newPeerClient(p *Peer, tc *tls.Config, conns int, oneShot bool) (*peerClient, error) {
	host, _, err := peerHostPort(p.URL)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", p.Name, err)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: requestTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     25 * time.Second, // below Kea's 30 s listener idle close
		DisableCompression:  true,
		DisableKeepAlives:   oneShot,
		ForceAttemptHTTP2:   false,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: requestTimeout,
		// HTTP/1.1 only, as Kea: no h2 upgrade over TLS.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	return &peerClient{url: p.URL, host: host, user: p.BasicAuthUser, pass: p.BasicAuthPassword,
		hc: &http.Client{Transport: tr}, tr: tr}, nil
}

func (c *peerClient) close() { c.tr.CloseIdleConnections() }

// envelope is the request body; arguments are omitted when nil.
type envelope struct {
	Arguments any      `json:"arguments,omitempty"`
	Command   string   `json:"command"`
	Service   []string `json:"service"`
}

// encodeCommand is the request body of command, as Kea's CommandCreator
// builds it.
func encodeCommand(command string, args any) ([]byte, error) {
	body, err := json.Marshal(envelope{Arguments: args, Command: command, Service: []string{"dhcp4"}})
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", command, err)
	}
	return body, nil
}

// call sends command and returns element [0] of the reply. A JSON map body
// becomes result 1 with its text (Kea's verifyAsyncResponse). Everything
// that is not a usable reply is a *CommError.
func (c *peerClient) call(ctx context.Context, command string, args any, timeout time.Duration) (answer, error) {
	body, err := encodeCommand(command, args)
	if err != nil {
		return answer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return answer{}, &CommError{command, err}
	}
	req.Host = c.host
	req.Header.Set("Content-Type", "application/json")
	req.Header["User-Agent"] = []string{""} // suppress Go's default, Kea sends none
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, &CommError{command, err}
	}
	defer resp.Body.Close()
	if c.partner != nil {
		c.partner.observe([]byte(resp.Header.Get("Server")))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
	if err != nil {
		return answer{}, &CommError{command, fmt.Errorf("read reply: %w", err)}
	}
	a, err := parseReply(raw)
	if err != nil {
		return answer{}, &CommError{command, err}
	}
	return a, nil
}

// parseReply decodes a reply body: a list (element 0 is used) or a map
// (failure with its text).
func parseReply(raw []byte) (answer, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return answer{}, errors.New("empty reply body")
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
			return answer{Result: *quick[0].Result, Text: quick[0].Text, Args: quick[0].Args}, nil
		}
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return answer{}, fmt.Errorf("decode reply: %w", err)
		}
		if len(list) == 0 {
			return answer{}, errors.New("list of responses must not be empty")
		}
		var a answer
		if err := json.Unmarshal(list[0], &a); err != nil {
			return answer{}, fmt.Errorf("decode reply element: %w", err)
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(list[0], &probe); err != nil || probe["result"] == nil {
			return answer{}, errors.New("reply element has no result")
		}
		return a, nil
	case '{':
		var m struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return answer{}, fmt.Errorf("decode reply: %w", err)
		}
		return answer{Result: 1, Text: m.Text}, nil
	}
	return answer{}, errors.New("body of the response must be a list")
}

// PeerResultError is a reply whose result code is not acceptable.
type PeerResultError struct {
	Command string
	Result  int
	Text    string
}

func (e *PeerResultError) Error() string {
	return fmt.Sprintf("partner answered %s with result %d: %s", e.Command, e.Result, e.Text)
}

// expect calls command and fails unless the result is one of ok.
func (c *peerClient) expect(ctx context.Context, command string, args any, timeout time.Duration, ok ...int) (answer, error) {
	a, err := c.call(ctx, command, args, timeout)
	if err != nil {
		return a, err
	}
	return a, a.want(command, ok...)
}

// want fails with a *PeerResultError unless the answer's result is one of
// ok.
func (a answer) want(command string, ok ...int) error {
	for _, r := range ok {
		if a.Result == r {
			return nil
		}
	}
	return &PeerResultError{Command: command, Result: a.Result, Text: a.Text}
}
