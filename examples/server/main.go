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
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	configPath := flag.String("config", "config.json", "the JSON configuration: domain, accounts with passwords and rosters, amp, store")
	addr := flag.String("addr", "127.0.0.1:5222", "the address to listen on")
	flag.Parse()

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
