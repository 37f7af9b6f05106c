package packet

import "errors"

// Error is a decode or encode failure with a stable, metric-friendly reason.
// Decode returns the package's sentinel values unwrapped (no allocation), so
// callers compare them with errors.Is and count drops with Reason.
type Error struct {
	reason string
	parent *Error // a broader class this error belongs to (checksums)
}

// Error implements error.
func (e *Error) Error() string { return "packet: " + e.reason }

// Reason is the short, stable name of the failure (e.g. "truncated").
func (e *Error) Reason() string { return e.reason }

// Is reports whether target is e's broader class (ErrBadChecksum for both
// checksum errors).
func (e *Error) Is(target error) bool { return e.parent != nil && target == e.parent }

// Decode and encode failures. Their reasons are stable and meant for
// counter names.
var (
	ErrTruncated       = &Error{reason: "truncated"}         // shorter than a header it claims to have
	ErrTooManyVLANs    = &Error{reason: "too-many-vlans"}    // more than two 802.1Q/802.1ad tags
	ErrNotIPv4         = &Error{reason: "not-ipv4"}          // EtherType or IP version is not IPv4
	ErrBadHeaderLength = &Error{reason: "bad-header-length"} // IHL < 5 or beyond the packet
	ErrBadLength       = &Error{reason: "bad-length"}        // IPv4 total length or UDP length inconsistent
	ErrFragment        = &Error{reason: "fragment"}          // MF set or non-zero fragment offset
	ErrNotUDP          = &Error{reason: "not-udp"}           // IPv4 protocol is not UDP
	ErrBadChecksum     = &Error{reason: "bad-checksum"}      // class of the two below
	ErrBadIPChecksum   = &Error{reason: "bad-ip-checksum", parent: ErrBadChecksum}
	ErrBadUDPChecksum  = &Error{reason: "bad-udp-checksum", parent: ErrBadChecksum}

	ErrBufferTooSmall = &Error{reason: "buffer-too-small"} // encode: caller buffer cannot hold the frame
	ErrInvalidFrame   = &Error{reason: "invalid-frame"}    // encode: non-IPv4 address, bad VLAN count, oversized payload
)

// Reason returns the reason of a packet error (see Error.Reason), "ok" for
// nil and "other" for any other error.
func Reason(err error) string {
	if err == nil {
		return "ok"
	}
	var e *Error
	if errors.As(err, &e) {
		return e.reason
	}
	return "other"
}
