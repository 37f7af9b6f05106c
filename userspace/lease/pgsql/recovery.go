package pgsql

import "github.com/xdhcp/xdhcp/userspace/dbreconnect"

// Recovery is what the server does when the lease database connection is
// lost, recovered, or given up on; the Store decides when, following Kea
// 2.2's on-fail policy (userspace/dbreconnect). While the service stays up
// and the database is down, no lease can be committed: the engine's
// commit fails and no ACK goes out.
type Recovery = dbreconnect.Recovery

// On-fail actions (Kea's OnFailAction texts).
const (
	StopRetryExit      = dbreconnect.StopRetryExit
	ServeRetryExit     = dbreconnect.ServeRetryExit
	ServeRetryContinue = dbreconnect.ServeRetryContinue
)

// connectionLost reports whether err means the connection is gone
// (dbreconnect.ConnectionLost).
func connectionLost(err error) bool { return dbreconnect.ConnectionLost(err) }
