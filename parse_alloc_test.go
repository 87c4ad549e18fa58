package amp_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// TestParseRuleStorage checks requests of every size Parse stores in one
// allocation and past it: the rules in document order, other children and
// rules in other namespaces skipped, and rule sets that do not share
// storage.
func TestParseRuleStorage(t *testing.T) {
	rule := func(i int) string {
		return fmt.Sprintf(`<rule condition='deliver' action='notify' value='v%d'/>`, i)
	}
	for n := 1; n <= 7; n++ {
		t.Run(fmt.Sprintf("rules=%d", n), func(t *testing.T) {
			var sb strings.Builder
			var want []amp.Rule
			sb.WriteString(`<message from='a@x/r' to='b@y/r' id='m'><amp xmlns='http://jabber.org/protocol/amp'>`)
			for i := 0; i < n; i++ {
				sb.WriteString("\n  " + rule(i))
				if i == 1 {
					sb.WriteString(`<rule xmlns='urn:other' condition='deliver' action='drop' value='x'/><x:rule xmlns:x='urn:other' condition='deliver' action='drop' value='y'/><!-- c -->`)
				}
				want = append(want, amp.Rule{Condition: amp.CondDeliver, Action: amp.ActionNotify, Value: fmt.Sprintf("v%d", i)})
			}
			sb.WriteString(`</amp></message>`)
			doc := etree.NewDocument()
			if err := doc.ReadFromString(sb.String()); err != nil {
				t.Fatal(err)
			}
			rs1, err1 := amp.Parse(doc.Root())
			rs2, err2 := amp.Parse(doc.Root())
			if err1 != nil || err2 != nil {
				t.Fatalf("got errors %v, %v", err1, err2)
			}
			if !reflect.DeepEqual(rs1.Rules, want) {
				t.Errorf("got %v, want %v", rs1.Rules, want)
			}
			rs1.Rules = append(rs1.Rules, amp.Rule{Value: "appended"})
			rs1.Rules[0].Value = "changed"
			if !reflect.DeepEqual(rs2.Rules, want) {
				t.Errorf("after changing another rule set, got %v, want %v", rs2.Rules, want)
			}
		})
	}
}

// TestParseNamespacedRules checks the rules Parse finds by their namespace:
// declared on the rule, inherited through a prefix, or another one.
func TestParseNamespacedRules(t *testing.T) {
	for _, tc := range []struct {
		name, amp string
		want      int
	}{
		{"default", `<amp xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></amp>`, 1},
		{"redeclared", `<amp xmlns='http://jabber.org/protocol/amp'><rule xmlns='http://jabber.org/protocol/amp' condition='deliver' action='drop' value='none'/></amp>`, 1},
		{"other namespace", `<amp xmlns='http://jabber.org/protocol/amp'><rule xmlns='urn:x' condition='deliver' action='drop' value='none'/><rule condition='deliver' action='drop' value='none'/></amp>`, 1},
		{"prefixed", `<p:amp xmlns:p='http://jabber.org/protocol/amp'><p:rule condition='deliver' action='drop' value='none'/><rule condition='deliver' action='drop' value='none'/></p:amp>`, 1},
		{"prefix redeclared", `<p:amp xmlns:p='http://jabber.org/protocol/amp'><p:rule xmlns:p='urn:x' condition='deliver' action='drop' value='none'/><q:rule xmlns:q='http://jabber.org/protocol/amp' condition='deliver' action='drop' value='none'/></p:amp>`, 1},
		{"default on a prefixed amp", `<p:amp xmlns:p='http://jabber.org/protocol/amp' xmlns='http://jabber.org/protocol/amp'><rule condition='deliver' action='drop' value='none'/></p:amp>`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromString(`<message xmlns='jabber:client' from='a@x/r' id='m'>` + tc.amp + `</message>`); err != nil {
				t.Fatal(err)
			}
			rs, err := amp.Parse(doc.Root())
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Rules) != tc.want {
				t.Errorf("got %d rules, want %d", len(rs.Rules), tc.want)
			}
		})
	}
}
