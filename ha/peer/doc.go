// Package peer is the HA peer transport: how two HA servers talk, as Kea
// 2.2's HA hook does, and nothing about what they say. It knows no HA
// state; its consumer (package ha) hands it plain values and callbacks.
//
//   - Client (client.go) sends one command and waits for its Answer over
//     net/http, as Kea's HttpClient does: heartbeats, sync, maintenance.
//   - UpdateClient (updateclient.go) carries lease updates without blocking
//     its caller: per-key order over persistent connections, HTTP/1.1
//     pipelining towards an xdhcpd partner (PartnerInfo), deadlines.
//   - Server (server.go) serves the peer listener's connections and answers
//     pipelined requests in one write; Handler (handler.go) applies Kea's
//     HTTP-level checks and command envelope, then the consumer's Forbidden
//     filter and Run.
//   - TLSParams (tls.go) loads Kea's trust-anchor, cert-file and key-file
//     into client and server TLS configurations.
package peer
