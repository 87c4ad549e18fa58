// Command ampprobe checks a running XMPP server's XEP-0079 Advanced
// Message Processing with the scenarios of github.com/ampxmpp/amp/amptest
// and prints a conformance table: each scenario, the XEP section it
// checks, pass, fail or skip, and for each failure the problems and the
// stanzas exchanged. It exits 1 when a scenario fails and 2 when it cannot
// run.
//
// The server is given by flags or by a JSON file:
//
//	ampprobe -addr 127.0.0.1:5222 -domain localhost \
//		-account alice:alice-pw -account bob:bob-pw -account carol:carol-pw \
//		-subscribed alice:bob
//
//	ampprobe -config probe.json
//
// where probe.json is
//
//	{"addr": "127.0.0.1:5222", "domain": "localhost",
//	 "accounts": [{"user": "alice", "password": "alice-pw"}, ...],
//	 "subscribed": [{"sender": "alice", "recipient": "bob"}],
//	 "quiet": "300ms", "expire_window": "2s", "max_rules": 32}
//
// -subscribed alice:bob says that bob's roster lets alice see bob's
// presence. The kit sends its requests from the first subscribed sender
// to its recipient, and uses an account without a subscription for §9.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ampxmpp/amp/amptest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// config is the JSON form of amptest.Server.
type config struct {
	Addr         string                 `json:"addr"`
	Domain       string                 `json:"domain"`
	Accounts     []amptest.Account      `json:"accounts"`
	Subscribed   []amptest.Subscription `json:"subscribed"`
	Quiet        duration               `json:"quiet"`
	ExpireWindow duration               `json:"expire_window"`
	Timeout      duration               `json:"timeout"`
	MaxRules     int                    `json:"max_rules"`
}

// duration is a time.Duration written as "300ms" in JSON.
type duration time.Duration

// MarshalJSON writes d as "300ms".
func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration written as "300ms".
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"300ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	*d = duration(v)
	return err
}

// pairs collects repeated "a:b" flags.
type pairs [][2]string

func (p *pairs) String() string { return fmt.Sprint(*p) }

func (p *pairs) Set(s string) error {
	a, b, ok := strings.Cut(s, ":")
	if !ok || a == "" {
		return errors.New("want name:value")
	}
	*p = append(*p, [2]string{a, b})
	return nil
}

// run is main with its arguments and outputs, returning the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ampprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "a JSON file giving the server (the flags below add to it)")
	addr := fs.String("addr", "", "the server's c2s address, host:port (plain TCP, SASL PLAIN)")
	domain := fs.String("domain", "", "the server's domain")
	var accounts, subscribed pairs
	fs.Var(&accounts, "account", "an account, user:password (repeat)")
	fs.Var(&subscribed, "subscribed", "sender:recipient: the recipient's roster lets the sender see its presence (repeat)")
	quiet := fs.Duration("quiet", 0, "how long to wait before deciding nothing more arrives (default 300ms)")
	window := fs.Duration("expire-window", 0, "how far ahead an expire-at that passes in storage is set (default 2s)")
	timeout := fs.Duration("timeout", 0, "how long to wait for a stanza that must arrive (default 5s)")
	maxRules := fs.Int("max-rules", 0, "the most rules the server accepts in a request (default 32)")
	verbose := fs.Bool("v", false, "print the stanzas of every scenario, not only of failures")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ampprobe: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var c config
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "ampprobe: %v\n", err)
			return 2
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			fmt.Fprintf(stderr, "ampprobe: %s: %v\n", *configPath, err)
			return 2
		}
	}
	s := amptest.Server{
		Addr: c.Addr, Domain: c.Domain, Accounts: c.Accounts, Subscribed: c.Subscribed,
		Quiet: time.Duration(c.Quiet), ExpireWindow: time.Duration(c.ExpireWindow),
		Timeout: time.Duration(c.Timeout), MaxRules: c.MaxRules,
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.Addr, *addr)
	set(&s.Domain, *domain)
	for _, a := range accounts {
		s.Accounts = append(s.Accounts, amptest.Account{User: a[0], Password: a[1]})
	}
	for _, p := range subscribed {
		s.Subscribed = append(s.Subscribed, amptest.Subscription{Sender: p[0], Recipient: p[1]})
	}
	if *quiet > 0 {
		s.Quiet = *quiet
	}
	if *window > 0 {
		s.ExpireWindow = *window
	}
	if *timeout > 0 {
		s.Timeout = *timeout
	}
	if *maxRules > 0 {
		s.MaxRules = *maxRules
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	results, err := amptest.Check(ctx, s)
	if err != nil {
		fmt.Fprintf(stderr, "ampprobe: %v\n", err)
		return 2
	}
	return table(stdout, results, *verbose)
}

// table prints results and returns the exit code: 1 when any failed.
func table(w io.Writer, results []amptest.Result, verbose bool) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tSECTION\tRESULT")
	counts := map[amptest.Status]int{}
	for _, r := range results {
		counts[r.Status]++
		if r.Status == amptest.Skip {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Section, r.Status, r.Reason)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Section, r.Status)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", counts[amptest.Pass], counts[amptest.Fail], counts[amptest.Skip])
	for _, r := range results {
		if r.Status == amptest.Fail || (verbose && r.Status == amptest.Pass) {
			fmt.Fprintf(w, "\n%s %s\n", strings.ToUpper(r.Status.String()), r.Report())
		}
	}
	if counts[amptest.Fail] > 0 {
		return 1
	}
	return 0
}
