package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/beevik/etree"
)

// TestLossAfterWrite measures, as a sender sees it, what a recipient
// without stream management loses when it resets its connection (RST)
// while messages are in flight: each message asks for notify on
// deliver=direct and deliver=stored, and lost are those with a
// deliver=direct event (written to the socket) that the recipient never
// read. The recipient reads as fast as it can for a while, or not at all,
// and resets once the server can write no more. Every other message must
// reach its next session once (twice if the reset session read it too),
// and the loss must stay within the kernel's socket buffers and the
// writer's window. AMP_LOSS_BODY (default 2000) sets a message's body size.
func TestLossAfterWrite(t *testing.T) {
	buffers := tcpMemMax(t, "tcp_wmem") + tcpMemMax(t, "tcp_rmem")
	for _, shape := range []struct {
		name      string
		readFirst int // bytes the recipient reads before it stops
	}{
		{"reads then stops", 2 << 20},
		{"never reads", 0},
	} {
		t.Run(shape.name, func(t *testing.T) {
			const queueSize = 256
			_, addr := serve(t, func(c *Config) {
				c.QueueSize = queueSize
				// The reset, not the server, ends the recipient's session.
				c.WriteTimeout = time.Minute
			})
			b := dialRaw(t, addr, "bob", "r1", shape.readFirst)
			a := mustDial(t, addr, "alice", "a1", true, true)
			var mu sync.Mutex
			outcomes := map[string][]string{} // by id, in the order the events came
			go func() {
				for el := range a.in {
					if o := outcome(el); o != "" {
						mu.Lock()
						outcomes[attr(el, "id")] = append(outcomes[attr(el, "id")], o)
						mu.Unlock()
					}
				}
			}()
			withOutcome := func() int { mu.Lock(); defer mu.Unlock(); return len(outcomes) }
			acked := func() int { a.mu.Lock(); defer a.mu.Unlock(); return int(a.serverH) - 1 } // the presence was stanza 1
			body := strings.Repeat("x", envInt("AMP_LOSS_BODY", 2000))

			// Sixteen messages a write, up to 64 unacknowledged, until no
			// acknowledgement comes for a while after the recipient stopped
			// reading: its queue is full, and the writer waits on a full
			// socket.
			const quiet = 500 * time.Millisecond
			sent, last, lastChange := 0, -1, time.Now()
			deadline := time.Now().Add(20 * time.Second)
		sending:
			for {
				for sent-acked() > 48 {
					if n := acked(); n != last {
						last, lastChange = n, time.Now()
					}
					n, stopped := b.progress()
					if stopped && time.Since(lastChange) > quiet {
						break sending
					}
					if time.Now().After(deadline) || !isOpen(a) {
						t.Fatalf("no stall: %d messages sent, %d acknowledged, %d bytes read; sender open: %v", sent, acked(), n, isOpen(a))
					}
					time.Sleep(2 * time.Millisecond)
				}
				var batch strings.Builder
				for range 16 {
					batch.WriteString(message("bob@localhost", fmt.Sprintf("m%07d", sent), body,
						rule("notify", "deliver", "direct"), rule("notify", "deliver", "stored")))
					sent++
				}
				a.sendAndRequest(batch.String())
			}
			rcvbuf := b.rcvbuf()
			b.reset()

			// What the reset session had not written goes to the store:
			// every message is then acknowledged and has an outcome.
			for time.Now().Before(deadline) && (acked() < sent || withOutcome() < sent) {
				a.sendAndRequest("")
				time.Sleep(10 * time.Millisecond)
			}
			if acked() < sent || withOutcome() < sent {
				t.Fatalf("%d messages sent, %d acknowledged, %d with an outcome", sent, acked(), withOutcome())
			}
			mu.Lock()
			before := maps.Clone(outcomes)
			mu.Unlock()

			// The next session reads the stored messages, then a sentinel
			// of the same size, which comes after them.
			b2 := dialRaw(t, addr, "bob", "r2", -1)
			a.send(message("bob@localhost", "z0000000", body))
			read2, size := b2.messages()
			for ; read2["z0000000"] == 0; read2, size = b2.messages() {
				if time.Now().After(deadline) {
					t.Fatalf("the next session did not get the sentinel")
				}
				time.Sleep(10 * time.Millisecond)
			}
			read1, _ := b.messages()

			// Written (deliver=direct, after deliver=stored if it was
			// stored before the recipient was available), stored, or
			// refused: one outcome each.
			var direct, stored, refused, lost, twice int
			var wrong []string
			for i := range sent {
				id := fmt.Sprintf("m%07d", i)
				ev := strings.Join(before[id], ",")
				switch {
				case (ev == "direct" || ev == "stored,direct") && read2[id] == 0 && read1[id] <= 1:
					direct++
					lost += 1 - read1[id]
				case ev == "stored" && read2[id] == 1 && read1[id] <= 1:
					stored++
					twice += read1[id]
				case ev == "error" && read1[id]+read2[id] == 0:
					refused++
				default:
					wrong = append(wrong, fmt.Sprintf("%s: events %q, read %d times before the reset, %d after", id, ev, read1[id], read2[id]))
				}
			}
			if len(wrong) > 0 {
				t.Errorf("%d messages without exactly one outcome, among them:\n%s", len(wrong), strings.Join(wrong[:min(len(wrong), 10)], "\n"))
			}
			bound := buffers/size + queueSize
			n, _ := b.progress()
			t.Logf("%d messages of %d bytes sent, %d bytes read before the reset (receive buffer %d bytes); "+
				"%d deliver=direct, %d of them lost: %d bytes (%.1f MiB); %d stored (%d read before the reset too), %d refused; bound %d messages",
				sent, size, n, rcvbuf, direct, lost, lost*size, float64(lost*size)/(1<<20), stored, twice, refused, bound)
			if lost == 0 {
				t.Errorf("nothing lost: the reset found no message in flight")
			}
			if lost > bound {
				t.Errorf("%d messages lost, more than the %d that the socket buffers and the writer hold", lost, bound)
			}
		})
	}
}

// outcome is what the event el tells its sender of a message: "direct",
// "stored" (a notify event), "error", or "" for anything else.
func outcome(el *etree.Element) string {
	if attr(el, "type") == "error" {
		return "error"
	}
	if r := el.FindElement("amp/rule"); r != nil && ampStatus(el) == "notify" {
		return attr(r, "value")
	}
	return ""
}

// tcpMemMax is the largest buffer, in bytes, the kernel gives a TCP socket
// for sending (tcp_wmem) or receiving (tcp_rmem).
func tcpMemMax(t *testing.T, name string) int {
	t.Helper()
	var least, initial, most int
	b, err := os.ReadFile("/proc/sys/net/ipv4/" + name)
	if err == nil {
		_, err = fmt.Sscan(string(b), &least, &initial, &most)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return most
}

// rawClient is a recipient without stream management that keeps the bytes
// it reads from its socket: what it read is exactly what left the kernel's
// buffers, with no decoder reading ahead.
type rawClient struct {
	conn *net.TCPConn
	done chan struct{} // closed when the reading stops
	mu   sync.Mutex
	buf  bytes.Buffer
	stop bool
}

// dialRaw logs in as user/resource without stream management, sends
// initial presence, and reads limit bytes (everything, when limit is
// negative) as fast as it can, then nothing more.
func dialRaw(t *testing.T, addr, user, resource string, limit int) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tclient{conn: conn}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The server sends nothing after the bind result until the presence,
	// so the negotiation's decoder holds nothing of what follows.
	if err := tc.negotiate(user, resource, false); err != nil {
		conn.Close()
		t.Fatalf("%s/%s: %v", user, resource, err)
	}
	conn.SetDeadline(time.Time{})
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		t.Fatalf("%s/%s: a %T, not a TCP connection", user, resource, conn)
	}
	stop := limit == 0
	c := &rawClient{conn: tcp, done: make(chan struct{}), stop: stop}
	t.Cleanup(c.reset)
	tc.send(`<presence/>`)
	go func() {
		defer close(c.done)
		p := make([]byte, 256<<10)
		for !stop {
			n, err := c.conn.Read(p)
			c.mu.Lock()
			c.buf.Write(p[:n])
			c.stop = c.stop || err != nil || (limit > 0 && c.buf.Len() >= limit)
			stop = c.stop
			c.mu.Unlock()
		}
	}()
	return c
}

// progress returns the bytes c read, and whether it stopped reading.
func (c *rawClient) progress() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len(), c.stop
}

// rcvbuf is the size the kernel's autotuning gave c's receive buffer.
func (c *rawClient) rcvbuf() int {
	var n int
	if rc, err := c.conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { n, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) })
	}
	return n
}

// reset ends c's connection with an RST: what the kernel buffers hold for
// c is discarded.
func (c *rawClient) reset() {
	c.conn.SetLinger(0)
	c.conn.Close()
	<-c.done
}

// messages counts the complete messages c read, by id, and returns the
// size in bytes of the last one.
func (c *rawClient) messages() (map[string]int, int) {
	c.mu.Lock()
	dec := xml.NewDecoder(bytes.NewReader(bytes.Clone(c.buf.Bytes())))
	c.mu.Unlock()
	ids, size := map[string]int{}, 0
	for {
		begin := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ids, size // the end, or a message the reset cut
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != "message" {
			continue
		}
		el, err := etreexml.ReadElement(dec, &start)
		if err != nil {
			return ids, size
		}
		ids[attr(el, "id")]++
		size = int(dec.InputOffset() - begin)
	}
}
