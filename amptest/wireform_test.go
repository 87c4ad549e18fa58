package amptest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadReply reads the XEP's replies (the repository's testdata) and
// replies written with other prefixes or in the wrong namespace, by the
// kit's own reading, and checks that the amp library reads each the same
// way.
func TestReadReply(t *testing.T) {
	example := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		require.NoError(t, err)
		return string(b)
	}
	storedError := amp.Rule{Condition: amp.ConditionDeliver, Action: amp.ActionError, Value: "stored"}
	drop := amp.Rule{Condition: amp.ConditionExpireAt, Action: amp.ActionDrop, Value: "2004-01-01T00:00:00Z"}
	tests := []struct {
		name string
		xml  string
		want reply
	}{
		{"XEP example 8: error response", example("example-08-error-response.xml"), reply{
			typ: "error", status: "error", hasStatus: true, from: "francisco@hamlet.lit", to: "bernardo@hamlet.lit/elsinore",
			rules: []amp.Rule{storedError}, errType: "modify", errCode: "500", condition: "undefined-condition",
			container: "failed-rules", containerNS: amp.NSErrors, listed: []amp.Rule{storedError},
		}},
		{"XEP example 17: unsupported action", example("example-17-server-does-not-support-action.xml"), reply{
			typ: "error", rules: []amp.Rule{drop}, errType: "modify", errCode: "400", condition: "bad-request",
			container: "unsupported-actions", containerNS: amp.NS, listed: []amp.Rule{drop},
		}},
		{"an event with a prefix", `<message><a:amp xmlns:a='http://jabber.org/protocol/amp' status='notify' from='s' to='r'>` +
			`<a:rule action='notify' condition='deliver' value='direct'/></a:amp><body>hi</body></message>`, reply{
			status: "notify", hasStatus: true, from: "s", to: "r", hasBody: true,
			rules: []amp.Rule{{Condition: amp.ConditionDeliver, Action: amp.ActionNotify, Value: "direct"}},
		}},
		{"an <amp/> in another namespace", `<message><amp xmlns='urn:example:amp' status='notify'><rule action='notify' condition='deliver' value='direct'/></amp></message>`,
			reply{otherChildren: []string{"amp"}}},
		{"a failed rule in the <amp/> namespace", `<message type='error'><amp xmlns='http://jabber.org/protocol/amp' status='error' from='s' to='r'/>` +
			`<error type='modify'><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><failed-rules xmlns='http://jabber.org/protocol/amp#errors'>` +
			`<rule xmlns='http://jabber.org/protocol/amp' action='error' condition='deliver' value='stored'/></failed-rules></error></message>`, reply{
			typ: "error", status: "error", hasStatus: true, from: "s", to: "r", errType: "modify", condition: "undefined-condition",
			container: "failed-rules", containerNS: amp.NSErrors,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromString(tc.xml))
			el := doc.Root()
			got := readReply(el)
			got.amp, got.errEl = nil, nil
			tc.want.conditionsCounted = map[bool]int{true: 1}[tc.want.condition != ""]
			tc.want.containersCounted = map[bool]int{true: 1}[tc.want.container != ""]
			assert.Equal(t, tc.want, got)
			assert.Empty(t, crossCheck(el), "the amp library reads it as the kit does")
		})
	}
}
