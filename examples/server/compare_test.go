package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCompareServers measures the command (main.go, with its garbage
// collector settings and its signal handling) in its own process:
// messages read per second with and without rules (pairs without stream
// management, as fast as the server reads), its largest resident set
// meanwhile, messages a single sender gets stored per second, and the
// time from SIGTERM to exit under load. By default it runs this server
// alone, briefly, and checks the bounds the README states: a resident set
// under the soft memory limit plus 32 MiB, exit within the shutdown
// deadline. AMP_COMPARE names
// another build of the server to measure side by side, in alternating
// rounds so that the noise of a shared machine falls on both alike ("-"
// for this server alone at full length); AMP_COMPARE_PAIRS (default 10),
// AMP_COMPARE_SECONDS (default 5) and AMP_COMPARE_ROUNDS (default 2)
// change the load, and AMP_COMPARE_GOGC sets GOGC for both servers. The
// figures of the README come from here.
func TestCompareServers(t *testing.T) {
	other := os.Getenv("AMP_COMPARE")
	pairs := envInt("AMP_COMPARE_PAIRS", 10)
	d := time.Duration(envInt("AMP_COMPARE_SECONDS", 5)) * time.Second
	rounds := envInt("AMP_COMPARE_ROUNDS", 2)
	if other == "" {
		pairs, d, rounds = 2, time.Second, 1
	}
	this := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", this, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the server: %v\n%s", err, out)
	}
	bins := []string{this}
	if other != "" && other != "-" {
		bins = append(bins, other)
	}
	for round := range rounds {
		for k := range bins {
			bin := bins[(k+round)%len(bins)]
			name := "this"
			if bin != this {
				name = "other"
			}
			m := measureServer(t, bin, pairs, d)
			t.Logf("round %d, %s: %s", round+1, name, m)
			if bin != this {
				continue
			}
			if m.notify == 0 || m.plain == 0 || m.stored == 0 {
				t.Errorf("nothing measured: %s", m)
			}
			// The command's soft memory limit bounds what the Go runtime
			// holds; the resident set adds the binary and the pages of
			// the store's mapped file.
			if bound := uint64(memoryLimit + 32<<20); m.peak >= bound {
				t.Errorf("largest RSS %d MiB, want under %d MiB", m.peak>>20, bound>>20)
			}
			// The shutdown deadline: a second for acknowledgements, then
			// ShutdownTimeout (5s) for the sessions.
			if m.exit >= 6*time.Second {
				t.Errorf("exit %v after SIGTERM, want within the shutdown deadline of 6s", m.exit)
			}
		}
	}
}

// measurement is what measureServer finds of one server.
type measurement struct {
	notify, plain float64 // messages read a second, with notify rules and without rules
	peak          uint64  // the largest resident set meanwhile, in bytes
	stored        float64 // messages stored a second for one sender
	exit          time.Duration
}

func (m measurement) String() string {
	return fmt.Sprintf("notify rules: %.0f read/s; no rules: %.0f read/s; largest RSS %d MiB; one sender stored %.0f/s; exit %v after SIGTERM under load",
		m.notify, m.plain, m.peak>>20, m.stored, m.exit.Round(time.Millisecond))
}

// measureServer runs the phases of TestCompareServers against one binary.
func measureServer(t *testing.T, bin string, pairs int, d time.Duration) measurement {
	p := startProcess(t, bin, pairs)
	rss := func() uint64 { return p.rss() }
	notify := blast(t, p.addr, pairs, d, rss, notifyRules...)
	plain := blast(t, p.addr, pairs, d, rss)
	m := measurement{
		notify: float64(notify.read) / d.Seconds(),
		plain:  float64(plain.read) / d.Seconds(),
		peak:   max(notify.peak, plain.peak),
		stored: storeRate(t, p.addr, d),
	}
	// SIGTERM in the middle of a run with rules.
	done := make(chan struct{})
	go func() {
		defer close(done)
		blast(t, p.addr, pairs, d, func() uint64 { return 0 }, notifyRules...)
	}()
	time.Sleep(d / 2)
	m.exit = p.terminate()
	<-done
	return m
}

// storeRate is the number of messages a second the server acknowledges to
// one sender with stream management whose recipient is offline, keeping up
// to 256 unacknowledged.
func storeRate(t *testing.T, addr string, d time.Duration) float64 {
	a, err := dial(addr, "s0", "store", true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.abort()
	go func() {
		for range a.in {
		}
	}()
	acked := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return int(a.serverH) - 1
	}
	begin := time.Now()
	for i := 0; time.Since(begin) < d; i++ {
		for i-acked() > 256 && time.Since(begin) < d {
			time.Sleep(200 * time.Microsecond)
		}
		if msg := message("r0@localhost", fmt.Sprint("st", i), "stored"); i%16 == 15 {
			a.sendAndRequest(msg)
		} else {
			a.send(msg)
		}
	}
	return float64(acked()) / time.Since(begin).Seconds()
}

// process is a server running in its own process.
type process struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

// startProcess starts bin with the accounts of pairs pairs and a fresh
// store, and waits until it accepts connections.
func startProcess(t *testing.T, bin string, pairs int) *process {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{
		"domain":              "localhost",
		"store":               filepath.Join(dir, "offline.db"),
		"accounts":            pairAccounts(pairs),
		"offline_quota":       1 << 20,
		"offline_quota_bytes": 1 << 30,
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "config.json"), "-addr", addr)
	cmd.Dir = dir
	if v := os.Getenv("AMP_COMPARE_GOGC"); v != "" {
		// The same garbage collector setting for both servers.
		cmd.Env = append(os.Environ(), "GOGC="+v)
	}
	logs, err := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("amp-compare-%s.log", filepath.Base(dir))))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		logs.Close()
	})
	t.Logf("%s logs to %s", bin, logs.Name())
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(wait) {
			t.Fatalf("%s does not listen on %s", bin, addr)
		}
	}
}

// rss is the process's resident set size, in bytes.
func (p *process) rss() uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// terminate sends SIGTERM and returns the time the process took to exit,
// or kills it after 20 seconds.
func (p *process) terminate() time.Duration {
	begin := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if os.Getenv("AMP_COMPARE_QUIT") != "" {
		// Where a slow exit waits: the runtime prints every goroutine.
		time.Sleep(time.Second)
		p.cmd.Process.Signal(syscall.SIGQUIT)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	return time.Since(begin)
}
