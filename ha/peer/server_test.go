package peer

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/ha/peer/peertest"
)

// TestServerRawWrites: answers written through SetWrite's raw write reach
// the client whole and in order when the socket takes only part of them
// or nothing (EAGAIN): the connection's own Write sends the rest.
func TestServerRawWrites(t *testing.T) {
	writers := map[string]func(fd int, b []byte) (int, error){
		"short":  func(fd int, b []byte) (int, error) { return unix.Write(fd, b[:min(len(b), 29)]) },
		"eagain": func(int, []byte) (int, error) { return 0, unix.EAGAIN },
		"whole":  unix.Write,
	}
	for name, w := range writers {
		t.Run(name, func(t *testing.T) {
			h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				var env struct {
					Command   string `json:"command"`
					Arguments struct {
						IP string `json:"ip-address"`
					} `json:"arguments"`
				}
				if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
					http.Error(rw, err.Error(), http.StatusBadRequest)
					return
				}
				rw.Header().Set("Server", ServerSoftware)
				rw.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(rw, `[ { "result": 0, "text": "%s %s" } ]`, env.Command, env.Arguments.IP)
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ps := NewServer(t.Context(), h, nil, zerolog.Nop(), &Stats{}, 1<<20, 4)
			ps.SetWrite(w)
			peertest.Serve(t, ps, ln)
			c, _ := newTestUpdateClient(t, "http://"+ln.Addr().String()+"/", 2)
			sendMany(t, c, 1)
			sendMany(t, c, 300)
		})
	}
}
