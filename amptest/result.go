package amptest

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Level is how strongly XEP-0079 asks for what a scenario or a check
// expects.
type Level int

// The requirement levels, from the strongest.
const (
	// Must is a MUST or MUST NOT of the XEP (or of RFC 6120/6121 where
	// the XEP relies on it).
	Must Level = iota
	// Should is a SHOULD, SHOULD NOT or RECOMMENDED of the XEP.
	Should
	// May is a MAY of the XEP: an option a server need not take.
	May
	// Project is the reading of the github.com/ampxmpp/amp project where
	// the XEP leaves a choice or is silent; the scenario says why.
	Project
)

// String returns "MUST", "SHOULD", "MAY" or "project".
func (l Level) String() string {
	switch l {
	case Must:
		return "MUST"
	case Should:
		return "SHOULD"
	case May:
		return "MAY"
	case Project:
		return "project"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// MarshalText writes the level as String does.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Status is the verdict on a scenario.
type Status int

// The verdicts, as the Autobahn WebSocket suite gives them.
const (
	// Pass means the server behaved as expected.
	Pass Status = iota
	// NonStrict means a SHOULD was broken, and no MUST.
	NonStrict
	// Informational means a MAY or the project's reading was not
	// followed, and no SHOULD or MUST was broken.
	Informational
	// Fail means a MUST was broken.
	Fail
	// Skip means the scenario could not run; Result.Reason says why.
	Skip
)

// String returns "pass", "non-strict", "informational", "fail" or "skip".
func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case NonStrict:
		return "non-strict"
	case Informational:
		return "informational"
	case Fail:
		return "fail"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes the status as String does.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// verdict is the status of a scenario whose worst problem has level l.
func verdict(l Level) Status {
	switch l {
	case Must:
		return Fail
	case Should:
		return NonStrict
	}
	return Informational
}

// Problem is one way a server did not do what a scenario expects.
type Problem struct {
	// Level is how strongly the XEP asks for what was not done.
	Level Level `json:"level"`
	// Text says what happened, and what was wanted.
	Text string `json:"text"`
}

// String returns the problem with its level: "[MUST] ...".
func (p Problem) String() string { return fmt.Sprintf("[%s] %s", p.Level, p.Text) }

// Result is what one scenario found.
type Result struct {
	// Name names the scenario, starting with the XEP-0079 section it
	// checks: "§3.3.1/deliver=stored/notify".
	Name string `json:"name"`
	// Section is the XEP-0079 section: "§3.3.1".
	Section string `json:"section"`
	// Level is the level of the requirement the scenario checks.
	Level Level `json:"level"`
	// Requirement is that requirement in the XEP's words, or, for the
	// project's reading, what it is and why.
	Requirement string `json:"requirement"`
	// Doc says in one sentence what the scenario expects.
	Doc string `json:"doc"`
	// Status is the verdict.
	Status Status `json:"status"`
	// Reason says why the scenario was skipped.
	Reason string `json:"reason,omitempty"`
	// Problems say how the server did not do what was expected, each with
	// its level: the worst decides Status.
	Problems []Problem `json:"problems,omitempty"`
	// Stanzas are the stanzas the scenario sent and received, in order.
	Stanzas []Stanza `json:"stanzas,omitempty"`
	// Streams are the bytes of each stream the scenario opened, as they
	// crossed the wire.
	Streams []Stream `json:"streams,omitempty"`
	// Duration is how long the scenario took.
	Duration time.Duration `json:"duration_ns"`
}

// Failed reports whether r fails a run: a broken MUST, or when strict, a
// broken SHOULD.
func (r Result) Failed(strict bool) bool {
	return r.Status == Fail || (strict && r.Status == NonStrict)
}

// Report returns the requirement, the problems of the scenario and the
// stanzas it exchanged, one per line.
func (r Result) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n  requirement (%s %s): %s\n", r.Name, r.Doc, r.Level, r.Section, r.Requirement)
	if r.Reason != "" {
		fmt.Fprintf(&b, "  skipped: %s\n", r.Reason)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	if len(r.Stanzas) > 0 {
		b.WriteString("  stanzas:\n")
		for _, st := range r.Stanzas {
			fmt.Fprintf(&b, "    %s\n", st)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Wire returns the bytes of every stream of the scenario, one chunk a
// line, each marked with its direction.
func (r Result) Wire() string {
	var b strings.Builder
	for _, s := range r.Streams {
		fmt.Fprintf(&b, "  stream %s:\n", s.Session)
		for _, c := range s.Chunks {
			dir := "←"
			if c.Sent {
				dir = "→"
			}
			fmt.Fprintf(&b, "    %s %s %s\n", c.At.Format("15:04:05.000"), dir, c.Data)
		}
	}
	return b.String()
}

// Stanza is one stanza a scenario sent or received, or a note of the kit.
type Stanza struct {
	// Session is the session it went through: user/resource.
	Session string `json:"session,omitempty"`
	// Sent is true for a stanza the kit sent, false for one it received.
	Sent bool `json:"sent"`
	// XML is the stanza as the kit wrote or read it, or the note.
	XML string `json:"xml"`
	// Ignored is true for a received stanza that belongs to another
	// scenario or run.
	Ignored bool `json:"ignored,omitempty"`
	// Note is true for what the kit did or saw beside the stanzas: a
	// login tried again, a wait for the server to end a session.
	Note bool `json:"note,omitempty"`
}

// String returns the stanza as one line: "alice/r1 → <message .../>".
func (s Stanza) String() string {
	if s.Note {
		return "(kit) " + s.XML
	}
	dir := "←"
	if s.Sent {
		dir = "→"
	}
	note := ""
	if s.Ignored {
		note = " (ignored)"
	}
	return fmt.Sprintf("%s %s %s%s", s.Session, dir, s.XML, note)
}

// transcript records the stanzas and streams of one scenario.
type transcript struct {
	mu      sync.Mutex
	stanzas []Stanza
	streams []*recording
}

func (t *transcript) add(session string, sent bool, xml string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stanzas = append(t.stanzas, Stanza{Session: session, Sent: sent, XML: xml})
}

func (t *transcript) ignored(session string, xml string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stanzas = append(t.stanzas, Stanza{Session: session, XML: xml, Ignored: true})
}

func (t *transcript) note(text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stanzas = append(t.stanzas, Stanza{XML: text, Note: true})
}

func (t *transcript) addStream(r *recording) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.streams = append(t.streams, r)
}

func (t *transcript) all() ([]Stanza, []Stream) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var streams []Stream
	for _, r := range t.streams {
		streams = append(streams, r.stream())
	}
	return append([]Stanza(nil), t.stanzas...), streams
}
