package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ampxmpp/amp"
)

// TestLoadAndFaults drives pairs of clients, with and without AMP rules,
// first undisturbed (the figures of the README), then while receivers drop
// their connections, stop reading and come back, senders drop theirs, and
// the server restarts on the same store. Then it checks that every message
// the server accepted is accounted for: read, or answered as its rules
// asked, and read twice only when the first copy was never acknowledged.
//
// AMP_LOAD_PAIRS (default 20) and AMP_LOAD_SECONDS (default 8, the length
// of each phase) change the load; AMP_LOAD_REPORT names a file for the
// figures. The test takes about three phases and a few seconds.
func TestLoadAndFaults(t *testing.T) {
	pairs := envInt("AMP_LOAD_PAIRS", 20)
	phase := time.Duration(envInt("AMP_LOAD_SECONDS", 8)) * time.Second
	cfg := testConfig(t, amp.Config{}, time.Now)
	cfg.QueueSize = 64
	cfg.WriteTimeout = 400 * time.Millisecond
	cfg.OfflineQuota = 1 << 20
	cfg.OfflineQuotaBytes = 1 << 30
	cfg.Accounts = map[string]Account{}
	for i := range pairs {
		cfg.Accounts[fmt.Sprint("s", i)] = Account{Password: fmt.Sprint("s", i, "-pw"), Roster: map[string]string{fmt.Sprint("r", i, "@localhost"): "both"}}
		cfg.Accounts[fmt.Sprint("r", i)] = Account{Password: fmt.Sprint("r", i, "-pw"), Roster: map[string]string{fmt.Sprint("s", i, "@localhost"): "both"}}
	}
	ts := start(t, cfg)
	l := &ledger{sent: map[string]msgInfo{}, reads: map[string]int{}, allowed: map[string]int{}, replyDups: map[string]int{}, confirmed: map[string]bool{},
		alerts: map[string]int{}, direct: map[string]int{}, others: map[string]int{}, firstReads: map[int][]firstRead{}}
	addr := "127.0.0.1:" + ts.port

	var faults atomic.Bool
	var pace atomic.Int64           // the time between two messages of a sender, or 0
	stop := make(chan struct{})     // the faults are over
	finished := make(chan struct{}) // the test is done waiting
	var wg sync.WaitGroup
	var settled sync.WaitGroup // senders that recorded their last acknowledgement
	settled.Add(pairs)
	receivers := make([]*receiver, pairs)
	for i := range pairs {
		receivers[i] = &receiver{l: l, addr: addr, pair: i, rng: rand.New(rand.NewPCG(uint64(i), 7))}
		wg.Add(2)
		go func() { defer wg.Done(); receivers[i].run(stop, finished, &faults) }()
		go func() {
			defer wg.Done()
			(&sender{l: l, addr: addr, pair: i, rng: rand.New(rand.NewPCG(uint64(i), 11)), pace: &pace, settled: &settled}).run(stop, finished, &faults)
		}()
	}

	// Phase 1: no faults. The figures of the README come from here: first
	// with each sender paced to one message every 20ms, then as fast as
	// the server acknowledges them.
	time.Sleep(time.Second) // logins
	measure := func(name string) string {
		l.mu.Lock()
		l.measure, l.latencies, l.counted = true, [kinds][]time.Duration{}, [kinds]int{}
		l.mu.Unlock()
		begin := time.Now()
		time.Sleep(phase / 2)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.measure = false
		return name + ": " + l.report(time.Since(begin))
	}
	pace.Store(int64(20 * time.Millisecond))
	time.Sleep(200 * time.Millisecond)
	bench := measure("paced")
	pace.Store(0)
	time.Sleep(200 * time.Millisecond)
	bench += "\n" + measure("unpaced")
	t.Log(bench)
	if f, ok := os.LookupEnv("AMP_LOAD_REPORT"); ok {
		os.WriteFile(f, []byte(bench+"\n"), 0o644)
	}

	// Phase 2: faults, and a restart half way.
	faults.Store(true)
	time.Sleep(phase / 2)
	// A restart under load: Close ends every session and stores what
	// they had not delivered within ShutdownTimeout.
	begin := time.Now()
	ts.restart()
	closing := time.Since(begin)
	if closing > 10*time.Second { // ShutdownTimeout (5s), and a margin for the race detector
		t.Errorf("the restart took %v", closing)
	}
	time.Sleep(phase / 2)
	faults.Store(false)

	// Phase 3: everyone connected and reading, until all is accounted
	// for, events included.
	close(stop)
	settled.Wait()
	deadline := time.Now().Add(max(phase, 20*time.Second))
	var problems []string
	for {
		time.Sleep(500 * time.Millisecond)
		l.mu.Lock()
		problems = l.check(false)
		l.mu.Unlock()
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	close(finished)
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	problems = l.check(true)
	t.Logf("sent %d, accepted %d, read %d times (%d allowed duplicates), alerts %d, faults: %d aborts, %d stalls, 1 restart under load in %v",
		len(l.sent), l.accepted, sum(l.reads), sum(l.allowed), sum(l.alerts), l.aborts.Load(), l.stalls.Load(), closing.Round(time.Millisecond))
	stored := 0
	for i := range pairs {
		stored += ts.srv.store.count(fmt.Sprint("r", i))
	}
	t.Logf("left in the store: %d", stored)
	if len(problems) > 0 {
		if f := os.Getenv("AMP_LOAD_DUMP"); f != "" {
			// Where the server's goroutines wait, for a lost message.
			if out, err := os.Create(f); err == nil {
				pprof.Lookup("goroutine").WriteTo(out, 1)
				out.Close()
			}
		}
		where := ts.srv.store.whereIs()
		for i, p := range problems {
			if i == 5 {
				break
			}
			id, _, _ := strings.Cut(p, " ")
			t.Logf("%s: %s", id, where[id])
		}
	}
	for i, p := range problems {
		if i == 20 {
			t.Errorf("... and %d more", len(problems)-20)
			break
		}
		t.Error(p)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
