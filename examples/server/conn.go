package main

import (
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// conn is a client connection with the deadlines and the stanza size limit
// applied on every read and write. Deadlines on the connection, rather
// than contexts on each send, are what make a timeout end only the session
// that is stuck.
type conn struct {
	net.Conn
	idle, write time.Duration
	limit       int64
	ready       atomic.Bool  // negotiation is over: reads get the idle deadline
	read        atomic.Int64 // bytes read since the last stanza ended
	tooBig      atomic.Bool
}

var errTooBig = errors.New("stanza too large")

// Read reads at most what the stanza size limit leaves. The decoder reads
// ahead, so the limit is exact to within its buffer (4 KiB).
func (c *conn) Read(p []byte) (int, error) {
	if c.ready.Load() {
		c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	}
	left := c.limit - c.read.Load()
	if left <= 0 {
		c.tooBig.Store(true)
		return 0, errTooBig
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Write gives every write the write timeout: a client that stops reading
// is disconnected after it, and its stanzas are routed again.
func (c *conn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	return c.Conn.Write(p)
}
