package main

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
)

// clock is the server's clock in the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// mongoose is a MongooseIM-like subset of AMP.
var mongoose = amp.Config{
	Actions:    []amp.Action{amp.ActionDrop, amp.ActionError, amp.ActionNotify},
	Conditions: []amp.Condition{amp.ConditionDeliver, amp.ConditionMatchResource},
}

// testConfig is the configuration of the tests, with a fresh store.
func testConfig(t *testing.T, ampCfg amp.Config, now func() time.Time) Config {
	return Config{
		Domain: "localhost",
		Store:  filepath.Join(t.TempDir(), "offline.db"),
		Accounts: map[string]Account{
			"alice": {Password: "alice-pw", Roster: map[string]string{"bob@localhost": "both"}},
			"bob":   {Password: "bob-pw", Roster: map[string]string{"alice@localhost": "both", "carol@localhost": "to"}},
			"carol": {Password: "carol-pw", Roster: map[string]string{"bob@localhost": "to"}},
		},
		AMP: ampCfg,
		Now: now,
	}
}

// testServer is a server on a loopback port that a test can restart.
type testServer struct {
	t   *testing.T
	cfg Config
	// faults are the wiring mistakes planted in every server ts starts.
	faults wiringFaults
	port   string
	mu     sync.Mutex
	srv    *Server
	done   chan struct{} // closed when Serve returns
}

// start runs a server for cfg on a loopback port until the test ends.
func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	return startFaulty(t, cfg, wiringFaults{})
}

// startFaulty is start with the wiring mistakes f planted.
func startFaulty(t *testing.T, cfg Config, f wiringFaults) *testServer {
	t.Helper()
	f.configure(&cfg)
	var logMu sync.Mutex
	var logs bytes.Buffer
	cfg.Logf = func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(&logs, format+"\n", args...)
	}
	ts := &testServer{t: t, cfg: cfg, faults: f, port: "0"}
	ts.listen()
	t.Cleanup(func() {
		ts.stop()
		if t.Failed() {
			logMu.Lock()
			t.Logf("server log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	return ts
}

// listen starts a server on ts's port.
func (ts *testServer) listen() {
	ts.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:"+ts.port)
	if err != nil {
		ts.t.Fatal(err)
	}
	srv, err := New(ts.cfg)
	if err != nil {
		l.Close()
		ts.t.Fatal(err)
	}
	ts.faults.plant(srv)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	_, ts.port, _ = net.SplitHostPort(l.Addr().String())
	ts.mu.Lock()
	ts.srv, ts.done = srv, done
	ts.mu.Unlock()
}

// stop closes the server and waits for Serve to return.
func (ts *testServer) stop() {
	ts.mu.Lock()
	srv, done := ts.srv, ts.done
	ts.mu.Unlock()
	if err := srv.Close(); err != nil {
		ts.t.Errorf("closing the server: %v", err)
	}
	<-done
}

// restart stops the server and starts a new one on the same port and the
// same store file.
func (ts *testServer) restart() {
	ts.t.Helper()
	ts.stop()
	ts.listen()
}
