package main

import (
	"fmt"
	"time"

	"github.com/ampxmpp/amp"
	"mellium.im/xmpp/jid"
)

// Config is the server's configuration. main reads it from a JSON file;
// durations are written in nanoseconds there, or left out for the default.
type Config struct {
	// Domain is the server's domain and JID. Default: "localhost".
	Domain string `json:"domain"`
	// Accounts are the users, by the local part of their JID. Names are
	// normalized as RFC 7622 says ("Alice" is "alice"); two names that
	// normalize alike are an error.
	Accounts map[string]Account `json:"accounts"`
	// AMP is the AMP configuration: the actions and conditions supported
	// and the limits. Default: everything XEP-0079 defines. A
	// configuration amp refuses stops the server at startup.
	AMP amp.Config `json:"amp"`
	// Store is the path of the bbolt file that holds offline messages.
	// Required.
	Store string `json:"store"`

	// MaxStanza is the largest stanza, in bytes, a client may send; a
	// larger one ends its stream with a policy-violation stream error.
	// Default: 64 KiB.
	MaxStanza int `json:"max_stanza"`
	// OfflineQuota is the most messages stored for one user; a message
	// past it is not stored. Default: 1000.
	OfflineQuota int `json:"offline_quota"`
	// OfflineQuotaBytes is the most bytes of messages stored for one
	// user. Default: 4 MiB.
	OfflineQuotaBytes int `json:"offline_quota_bytes"`
	// QueueSize bounds what one client holds: the messages waiting to be
	// written to its session (a sender routing to a full queue waits up
	// to WriteTimeout, then the reader is disconnected), the stanzas
	// written and not yet acknowledged (the writer waits), and its own
	// messages waiting for the store (its reader waits). Replies the
	// server makes may add OfflineQuota more to the queue; past that the
	// client is disconnected. Default: 256.
	QueueSize int `json:"queue_size"`

	// NegotiationTimeout bounds the time from accepting a connection to a
	// bound session. Default: 10s.
	NegotiationTimeout time.Duration `json:"negotiation_timeout"`
	// IdleTimeout closes a session that sends nothing, not even a
	// whitespace keepalive, for this long. Default: 10m, twice the
	// keepalive interval of common clients (slixmpp: 5m).
	IdleTimeout time.Duration `json:"idle_timeout"`
	// WriteTimeout bounds one write to a client, and the wait for room in
	// its queue. Default: 10s.
	WriteTimeout time.Duration `json:"write_timeout"`
	// ShutdownTimeout bounds the time Close waits for the sessions to
	// end, after closing their connections, before it closes the store.
	// Default: 5s.
	ShutdownTimeout time.Duration `json:"shutdown_timeout"`

	// Now is the clock. Default: time.Now.
	Now func() time.Time `json:"-"`
	// Logf logs what the server does. Default: nothing is logged.
	Logf func(format string, args ...any) `json:"-"`
}

// Account is a user's password and roster.
type Account struct {
	Password string `json:"password"`
	// Roster maps a contact's bare JID to the subscription state of the
	// item: "none", "to", "from" or "both". "from" and "both" mean that
	// the contact may see this user's presence.
	Roster map[string]string `json:"roster"`
}

// withDefaults returns cfg with every unset field at its default and the
// account names and roster JIDs normalized, or the first error found.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	domain, err := jid.New("", cfg.Domain, "")
	if err != nil {
		return cfg, fmt.Errorf("domain %q: %w", cfg.Domain, err)
	}
	cfg.Domain = domain.String()
	if cfg.Store == "" {
		return cfg, fmt.Errorf("no store: the path of the offline message file is required")
	}
	setDefault(&cfg.MaxStanza, 64<<10)
	setDefault(&cfg.OfflineQuota, 1000)
	setDefault(&cfg.OfflineQuotaBytes, 4<<20)
	setDefault(&cfg.QueueSize, 256)
	setDefault(&cfg.NegotiationTimeout, 10*time.Second)
	setDefault(&cfg.IdleTimeout, 10*time.Minute)
	setDefault(&cfg.WriteTimeout, 10*time.Second)
	setDefault(&cfg.ShutdownTimeout, 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	accounts := make(map[string]Account, len(cfg.Accounts))
	for name, acct := range cfg.Accounts {
		j, err := jid.New(name, cfg.Domain, "")
		if err != nil || name == "" {
			return cfg, fmt.Errorf("account %q: not a valid localpart: %v", name, err)
		}
		local := j.Localpart()
		if _, dup := accounts[local]; dup {
			return cfg, fmt.Errorf("account %q: another account normalizes to %q", name, local)
		}
		roster := make(map[string]string, len(acct.Roster))
		for contact, sub := range acct.Roster {
			c, err := jid.Parse(contact)
			if err != nil {
				return cfg, fmt.Errorf("account %q: roster item %q: %w", name, contact, err)
			}
			roster[c.Bare().String()] = sub
		}
		acct.Roster = roster
		accounts[local] = acct
	}
	cfg.Accounts = accounts
	return cfg, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
