// Command server is a small XMPP server that shows where a server calls
// github.com/ampxmpp/amp: client-to-server streams on plain TCP with SASL
// PLAIN, accounts and rosters from a JSON file, sessions and offline
// storage in memory, and XEP-0079 Advanced Message Processing. It is an
// example, not a production server: no TLS, no s2s, no presence routing.
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
)

func main() {
	configPath := flag.String("config", "config.json", "the JSON configuration: domain, accounts with passwords and rosters, amp")
	addr := flag.String("addr", "127.0.0.1:5222", "the address to listen on")
	flag.Parse()

	b, err := os.ReadFile(*configPath)
	if err != nil {
		log.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		log.Fatalf("%s: %v", *configPath, err)
	}
	cfg.Logf = log.Printf
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s for %s", l.Addr(), cfg.Domain)
	log.Fatal(New(cfg).Serve(l))
}
