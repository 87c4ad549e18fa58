// Command ampprobe checks a running XMPP server's XEP-0079 Advanced
// Message Processing with the scenarios of github.com/ampxmpp/amp/amptest
// and prints a conformance table: each scenario, the level of the
// requirement it checks (MUST, SHOULD, MAY, or this project's reading),
// and its verdict: pass, non-strict (a SHOULD broken), informational (a
// MAY or the project's reading not followed), fail (a MUST broken) or skip.
// Each failure's problems and stanzas follow the table, with -v every
// scenario's and with -wire the bytes of every stream. A line on standard
// error tells the progress as each scenario ends.
//
// -run REGEXP runs only the scenarios whose name matches.
//
// It exits 1 when a MUST is broken (with -strict, a SHOULD too), 2 when it
// cannot run. With -expect FILE it compares the verdicts with FILE
// instead, and exits 1 when any differs; -update rewrites FILE. -json FILE
// writes every result, with its problems, stanzas and streams, as JSON.
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
//	 "quiet": "300ms", "expire_window": "2s", "timeout": "5s", "max_rules": 32,
//	 "starttls": true, "insecure_tls": false}
//
// -subscribed alice:bob says that bob's roster lets alice see bob's
// presence; list every such pair. The kit sends its requests from the
// first subscribed sender to its recipient, uses an account without a
// subscription for §9, and the reverse of a one-way first pair for §9 too.
// -starttls negotiates STARTTLS, and -insecure-tls does so accepting any
// certificate (a test server's self-signed one). The kit logs in with the
// first of SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN the server offers.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
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
	StartTLS     bool                   `json:"starttls"`
	InsecureTLS  bool                   `json:"insecure_tls"`
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
	addr := fs.String("addr", "", "the server's c2s address, host:port")
	domain := fs.String("domain", "", "the server's domain: a login bound to another one is an error")
	var accounts, subscribed pairs
	fs.Var(&accounts, "account", "an account, user:password (repeat)")
	fs.Var(&subscribed, "subscribed", "sender:recipient: the recipient's roster lets the sender see its presence (repeat for every pair)")
	quiet := fs.Duration("quiet", 0, "how long to wait before deciding nothing more arrives (default 300ms)")
	window := fs.Duration("expire-window", 0, "how far ahead an expire-at that passes in storage is set (default 2s)")
	timeout := fs.Duration("timeout", 0, "the longest wait: connecting, each login step, each stanza that must arrive (default 5s)")
	maxRules := fs.Int("max-rules", 0, "the most rules the server accepts in a request (default: unknown, the limit scenarios are skipped)")
	startTLS := fs.Bool("starttls", false, "negotiate STARTTLS, verifying the server's certificate")
	insecure := fs.Bool("insecure-tls", false, "negotiate STARTTLS and accept any certificate (a test server's self-signed one)")
	strict := fs.Bool("strict", false, "exit 1 for a broken SHOULD too")
	verbose := fs.Bool("v", false, "print the report of every scenario, not only of failures")
	wire := fs.Bool("wire", false, "print the bytes of every stream of each reported scenario")
	jsonPath := fs.String("json", "", "write every result as JSON to this file")
	expect := fs.String("expect", "", "compare the verdicts with this file and exit 1 when any differs")
	update := fs.Bool("update", false, "with -expect: rewrite the file with the verdicts of this run")
	only := fs.String("run", "", "run only the scenarios whose name matches this regular expression")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ampprobe: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *update && *expect == "" {
		fmt.Fprintln(stderr, "ampprobe: -update needs -expect FILE")
		return 2
	}
	s, err := server(*configPath, serverFlags{*addr, *domain, accounts, subscribed, *quiet, *window, *timeout, *maxRules, *startTLS || *insecure, *insecure})
	if err != nil {
		fmt.Fprintf(stderr, "ampprobe: %v\n", err)
		return 2
	}
	s.Strict = *strict
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(stderr, "ampprobe: -run: %v\n", err)
			return 2
		}
		s.Select = re.MatchString
	}
	s.Progress = func(r amptest.Result, done, total int) {
		fmt.Fprintf(stderr, "[%d/%d] %-13s %-7s %s (%v)\n", done, total, r.Status, r.Level, r.Name, r.Duration.Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	results, err := amptest.Check(ctx, s)
	if err != nil {
		fmt.Fprintf(stderr, "ampprobe: %v\n", err)
		return 2
	}
	code := table(stdout, results, *strict, *verbose, *wire)
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, results, *strict); err != nil {
			fmt.Fprintf(stderr, "ampprobe: %v\n", err)
			return 2
		}
	}
	if *expect != "" {
		return compare(stdout, stderr, *expect, results, *update)
	}
	return code
}

// serverFlags are the flags that describe the server, beside -config.
type serverFlags struct {
	addr, domain           string
	accounts, subscribed   pairs
	quiet, window, timeout time.Duration
	maxRules               int
	startTLS, insecure     bool
}

// server reads the JSON file at path, when given, and adds the flags f.
func server(path string, f serverFlags) (amptest.Server, error) {
	var c config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return amptest.Server{}, err
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			return amptest.Server{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	s := amptest.Server{
		Addr: c.Addr, Domain: c.Domain, Accounts: c.Accounts, Subscribed: c.Subscribed,
		Quiet: time.Duration(c.Quiet), ExpireWindow: time.Duration(c.ExpireWindow),
		Timeout: time.Duration(c.Timeout), MaxRules: c.MaxRules,
	}
	for dst, v := range map[*string]string{&s.Addr: f.addr, &s.Domain: f.domain} {
		if v != "" {
			*dst = v
		}
	}
	for _, a := range f.accounts {
		s.Accounts = append(s.Accounts, amptest.Account{User: a[0], Password: a[1]})
	}
	for _, p := range f.subscribed {
		s.Subscribed = append(s.Subscribed, amptest.Subscription{Sender: p[0], Recipient: p[1]})
	}
	for dst, v := range map[*time.Duration]time.Duration{&s.Quiet: f.quiet, &s.ExpireWindow: f.window, &s.Timeout: f.timeout} {
		if v > 0 {
			*dst = v
		}
	}
	if f.maxRules > 0 {
		s.MaxRules = f.maxRules
	}
	if c.StartTLS || c.InsecureTLS || f.startTLS {
		s.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureTLS || f.insecure}
	}
	return s, nil
}
