// Command server is a small XMPP server that shows where a server calls
// github.com/ampxmpp/amp: client-to-server streams on plain TCP with SASL
// PLAIN, accounts and rosters from a JSON file, XEP-0198 stream
// management, offline storage in a bbolt file, and XEP-0079 Advanced
// Message Processing. It is an example, not a production server: no TLS,
// no s2s, no presence routing.
//
// Usage:
//
//	go run . -config config.json -addr 127.0.0.1:5222
//
// Unless the environment sets GOGC or GOMEMLIMIT, the command runs its
// garbage collector at GOGC=400 under a soft memory limit of 256 MiB. The
// heap may then grow to five times what is live, which cuts the
// collector's work under load (the comparison in the README: 1.5 times
// the messages a second with rules), while the limit makes it collect
// more often as the process nears 256 MiB, so that memory stays bounded.
// A deployment with other needs sets GOGC and GOMEMLIMIT as for any Go
// program.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// The garbage collector's defaults for this command; GOGC and GOMEMLIMIT
// in the environment override them.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

func main() {
	configPath := flag.String("config", "config.json", "the JSON configuration: domain, accounts with passwords and rosters, amp, store")
	addr := flag.String("addr", "127.0.0.1:5222", "the address to listen on")
	flag.Parse()
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}

	// A configuration the server cannot run with stops it here, loudly.
	b, err := os.ReadFile(*configPath)
	if err != nil {
		log.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		log.Fatalf("%s: %v", *configPath, err)
	}
	cfg.Logf = log.Printf
	srv, err := New(cfg)
	if err != nil {
		log.Fatalf("%s: %v", *configPath, err)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// On a signal, close cleanly: what sessions did not acknowledge is
	// stored before the store is closed.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; srv.Close() }()
	log.Printf("listening on %s for %s", l.Addr(), cfg.Domain)
	if err := srv.Serve(l); err != nil {
		log.Print(err)
	}
	srv.Close()
}
