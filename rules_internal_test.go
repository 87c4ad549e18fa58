package amp

import (
	"strings"
	"testing"
)

// TestAcceptsAgreesWithCheck checks that Validate's fast path accepts a
// rule exactly when check finds nothing wrong with it.
func TestAcceptsAgreesWithCheck(t *testing.T) {
	conditions := []Condition{"", CondDeliver, CondExpireAt, CondMatchResource, "x-when"}
	actions := []Action{"", ActionAlert, ActionDrop, ActionError, ActionNotify, "x-do"}
	values := []string{"", "direct", "stored", "any", "exact", "other", "2004-01-01T00:00:00Z",
		"2004-01-01T00:00:00+01:00", "elsewhere", strings.Repeat("a", 300)}
	configs := []*Config{
		nil,
		{Actions: []Action{ActionDrop, ActionError, ActionNotify}, Conditions: []Condition{CondDeliver, CondMatchResource}},
		{MaxValueLen: 6},
	}
	n := 0
	for _, c := range configs {
		for _, cond := range conditions {
			for _, a := range actions {
				for _, v := range values {
					for _, p := range []Presence{PresenceDenied, PresenceAuthorized} {
						for _, malformed := range [][]int{nil, {0}} {
							rs := &RuleSet{Rules: []Rule{{Condition: cond, Action: a, Value: v}}, malformed: malformed}
							kind, _ := c.check(rs, 0, p)
							if got := c.accepts(rs, 0, p); got != (kind == nil) {
								t.Errorf("config %+v, rule %+v, presence %v, malformed %v: accepts %v, check %v", c, rs.Rules[0], p, malformed, got, kind)
							}
							n++
						}
					}
				}
			}
		}
	}
	if n != 3600 {
		t.Fatalf("checked %d cases, want 3600", n)
	}
}
