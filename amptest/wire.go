package amptest

import (
	"crypto/tls"
	"net"
	"regexp"
	"sync"
	"time"
)

// Stream is the bytes of one c2s stream as they crossed the wire, in
// order. After STARTTLS, the bytes are those inside TLS; the SASL PLAIN
// payload, which holds the password, is replaced by "(password hidden)".
type Stream struct {
	// Session is the stream's session as the transcript names it:
	// user/resource.
	Session string `json:"session"`
	// Chunks are the reads and writes on the stream, in order.
	Chunks []Chunk `json:"chunks"`
}

// Chunk is one read from or write to a stream.
type Chunk struct {
	// At is when the chunk crossed the wire.
	At time.Time `json:"at"`
	// Sent is true for bytes the kit wrote, false for bytes it read.
	Sent bool `json:"sent"`
	// Data is the bytes.
	Data string `json:"data"`
}

// recording is the bytes of one stream, appended by the connections
// wrapped around it: the TCP connection and, after STARTTLS, the TLS one.
type recording struct {
	mu     sync.Mutex
	label  string
	chunks []Chunk
	layer  int // the layer whose bytes are recorded: 0 TCP, 1 inside TLS
}

var plainAuth = regexp.MustCompile(`(<auth [^>]*mechanism=["']PLAIN["'][^>]*>)[^<]*`)

func (r *recording) add(layer int, sent bool, b []byte) {
	if len(b) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if layer != r.layer {
		return
	}
	s := string(b)
	if sent {
		s = plainAuth.ReplaceAllString(s, "${1}(password hidden)")
	}
	r.chunks = append(r.chunks, Chunk{At: time.Now(), Sent: sent, Data: s})
}

func (r *recording) stream() Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stream{Session: r.label, Chunks: append([]Chunk(nil), r.chunks...)}
}

// recConn is a connection whose reads and writes are recorded.
type recConn struct {
	net.Conn
	rec   *recording
	layer int
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.add(c.layer, false, p[:n])
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	c.rec.add(c.layer, true, p)
	return c.Conn.Write(p)
}

// tlsRecConn is a recorded TLS connection; mellium reads its state for
// SASL.
type tlsRecConn struct {
	recConn
	tls *tls.Conn
}

func (c *tlsRecConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// insideTLS records the bytes inside tc from now on, and no more the
// encrypted bytes beneath it.
func (r *recording) insideTLS(tc *tls.Conn) net.Conn {
	r.mu.Lock()
	r.chunks = append(r.chunks, Chunk{At: time.Now(), Sent: true, Data: "<!-- TLS: the bytes below are those inside TLS -->"})
	r.layer = 1
	r.mu.Unlock()
	return &tlsRecConn{recConn: recConn{Conn: tc, rec: r, layer: 1}, tls: tc}
}
