package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"mellium.im/xmpp/jid"
)

// Server is a small c2s XMPP server: plain TCP, SASL PLAIN, messages
// between its own users, XEP-0198 acknowledgements, offline storage in a
// bbolt file, and AMP.
//
// The files of this package each hold one concern: stream.go a
// connection's life, session.go a session and its queue, writer.go what
// goes out, sm.go stream management, routing.go routing and every call to
// amp, storage.go the offline store.
type Server struct {
	cfg   Config
	store *store

	// The steps of routing where a wiring mistake would go unseen by the
	// server's own users are fields, so that a test can put a wrong version
	// in and check that the conformance kit notices (faults_test.go). New
	// sets amp to the processor and each other field to the method of the
	// same name with "do" in front; nothing else sets them.
	amp           processor
	push          func(c *session, it *item) bool
	forget        func(u *user, key uint64)
	undeliverable func(msg *etree.Element, req amp.Request) []*etree.Element

	// users is fixed at New: one per account, by normalized localpart.
	users map[string]*user

	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // one per connection
	mu   sync.Mutex
	// conns are the open connections, closed by Close.
	conns     map[net.Conn]struct{}
	closeOnce sync.Once
	closeErr  error
}

// user is an account and its sessions. Its mutex orders everything routed
// to the user: delivery to a session, storage, dispatch of stored messages
// and the end of a session, whose unacknowledged stanzas are routed again
// before any later message. That is what keeps messages in arrival order.
type user struct {
	name string // the normalized localpart
	acct Account
	mu   sync.Mutex
	// sessions are the bound sessions, in the order they bound.
	sessions []*session
	// dispatched is open while the stored messages of the user are
	// dispatched: the events held for them wait until the replies of the
	// dispatch (alerts for expired messages) are sent, so that the
	// sender hears of its messages in order.
	dispatched chan struct{}
}

// New opens the store and returns a server for cfg. It returns an error for
// a configuration it cannot run with, including an AMP configuration that
// amp refuses: a server must not start with rules it would misread.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p, err := amp.NewProcessor(cfg.AMP)
	if err != nil {
		return nil, fmt.Errorf("amp: %w", err)
	}
	st, err := openStore(cfg.Store, cfg.OfflineQuota, cfg.OfflineQuotaBytes)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, amp: p, store: st, users: map[string]*user{},
		ctx: ctx, stop: stop, conns: map[net.Conn]struct{}{}}
	s.push, s.forget, s.undeliverable = s.doPush, s.doForget, s.doUndeliverable
	for name, acct := range cfg.Accounts {
		s.users[name] = &user{name: name, acct: acct}
	}
	return s, nil
}

// processor is what the server uses of *amp.Processor.
type processor interface {
	Parse(msg *etree.Element, hop amp.Hop, presence amp.Presence) (amp.Request, error)
	Resume(stored *etree.Element, presence amp.Presence) (amp.Request, error)
	DiscoInfo(node string) *etree.Element
}

// Serve accepts connections on l until Close. An accept error, such as
// running out of file descriptors, is logged and retried with a growing
// delay: the sessions already open go on.
func (s *Server) Serve(l net.Listener) error {
	go func() { <-s.ctx.Done(); l.Close() }()
	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.cfg.Logf("accept: %v; retrying in %v", err, delay)
			select {
			case <-time.After(delay):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// Close stops the server: it closes every connection, routes the stanzas
// that were not acknowledged again (into the store, since no session is
// left), commits what is queued for the store, and closes it. Sessions
// have ShutdownTimeout to end: a session still busy then is logged, and
// what it stores after that is lost.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.settleAcks(min(time.Second, s.cfg.ShutdownTimeout/2))
		s.mu.Lock()
		for conn := range s.conns {
			conn.Close()
		}
		s.mu.Unlock()
		ended := make(chan struct{})
		go func() { s.wg.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(s.cfg.ShutdownTimeout):
			s.cfg.Logf("closing: sessions still busy after %v", s.cfg.ShutdownTimeout)
		}
		s.closeErr = s.store.close()
	})
	return s.closeErr
}

// settleAcks asks every session with stream management to acknowledge
// what it received, and waits up to d for the answers: what a client
// acknowledges before the end is not stored and delivered to it again.
func (s *Server) settleAcks(d time.Duration) {
	var sessions []*session
	for _, u := range s.users {
		u.locked(func() { sessions = append(sessions, u.sessions...) })
	}
	for _, c := range sessions {
		if c.sm.waiting() {
			s.pushNonza(c, &item{nonza: smNonza("r", "")})
		}
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		waiting := false
		for _, c := range sessions {
			waiting = waiting || c.sm.waiting()
		}
		if !waiting {
			return
		}
	}
}

// lookup returns the local user the JID j names, or nil.
func (s *Server) lookup(j jid.JID) *user {
	if j.Domainpart() != s.cfg.Domain {
		return nil
	}
	return s.users[j.Localpart()]
}
