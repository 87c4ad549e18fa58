package amp_test

// Helpers shared by the fuzz targets and the hostile-input, policy and
// purity tests: reading and writing XML, comparing trees, and checking that
// a reply is one of the stanzas XEP-0079 defines and leaks nothing.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ampxmpp/amp"
	"github.com/beevik/etree"
)

// hxServer is the JID of the processing server in these tests.
const hxServer = "shakespeare.lit"

// hxRead parses one XML document and returns its root element. With
// dupAttrs, repeated attributes are kept as etree reads them with
// PreserveDuplicateAttrs; otherwise etree keeps the last one only.
func hxRead(data []byte, dupAttrs bool) (*etree.Element, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveDuplicateAttrs = dupAttrs
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// hxMustRead is hxRead for documents written in the tests.
func hxMustRead(s string) *etree.Element {
	el, err := hxRead([]byte(s), true)
	if err != nil {
		panic(fmt.Sprintf("%v: %s", err, s))
	}
	return el
}

// hxWrite serializes el exactly: attribute values keep tabs, newlines and
// carriage returns as character references.
func hxWrite(el *etree.Element) string {
	if el == nil {
		return "<nil>"
	}
	var b bytes.Buffer
	el.WriteTo(&b, &etree.WriteSettings{CanonicalAttrVal: true})
	return b.String()
}

// hxWriteAll serializes a list of elements, one a line.
func hxWriteAll(els []*etree.Element) string {
	var b strings.Builder
	for _, el := range els {
		b.WriteString(hxWrite(el))
		b.WriteByte('\n')
	}
	return b.String()
}

// hxReparse serializes el and parses the result again.
func hxReparse(el *etree.Element) (*etree.Element, error) {
	return hxRead([]byte(hxWrite(el)), true)
}

// hxExamples returns the contents of testdata/*.xml, the XEP's examples.
func hxExamples() [][]byte {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("no examples in testdata: %v", err))
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// hxAttrNS resolves the namespace of attribute a of el.
func hxAttrNS(el *etree.Element, a etree.Attr) string {
	switch a.Space {
	case "":
		return ""
	case "xml":
		return "http://www.w3.org/XML/1998/namespace"
	}
	for p := el; p != nil; p = p.Parent() {
		for _, d := range p.Attr {
			if d.Space == "xmlns" && d.Key == a.Space {
				return d.Value
			}
		}
	}
	return a.Space + ":"
}

func hxIsNSDecl(a etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

// hxAttrs returns el's attributes, namespace declarations left out, as a
// sorted list of {namespace}key=value.
func hxAttrs(el *etree.Element) []string {
	var out []string
	for _, a := range el.Attr {
		if hxIsNSDecl(a) {
			continue
		}
		out = append(out, fmt.Sprintf("{%s}%s=%q", hxAttrNS(el, a), a.Key, a.Value))
	}
	sort.Strings(out)
	return out
}

// hxChildren returns the child elements and the text of el that is not
// whitespace only; comments, directives and processing instructions are
// left out.
func hxChildren(el *etree.Element) []etree.Token {
	var out []etree.Token
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if strings.TrimSpace(t.Data) != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// hxTreeDiff compares two trees: tag, namespace URI, attributes as a set
// (namespace declarations ignored), children recursively (whitespace-only
// text ignored). It returns "" when they are equal and otherwise where
// they first differ.
func hxTreeDiff(got, want *etree.Element) string {
	return hxTreeDiffAt("/", got, want)
}

func hxTreeDiffAt(path string, got, want *etree.Element) string {
	if got == nil || want == nil {
		if got == want {
			return ""
		}
		return fmt.Sprintf("%s: got %s, want %s", path, hxWrite(got), hxWrite(want))
	}
	path += got.Tag
	if got.Tag != want.Tag || got.NamespaceURI() != want.NamespaceURI() {
		return fmt.Sprintf("%s: got element {%s}%s, want {%s}%s", path, got.NamespaceURI(), got.Tag, want.NamespaceURI(), want.Tag)
	}
	if ga, wa := hxAttrs(got), hxAttrs(want); !slices.Equal(ga, wa) {
		return fmt.Sprintf("%s: got attributes %v, want %v", path, ga, wa)
	}
	gc, wc := hxChildren(got), hxChildren(want)
	for i := 0; i < len(gc) || i < len(wc); i++ {
		if i >= len(gc) || i >= len(wc) {
			return fmt.Sprintf("%s: got %d children, want %d", path, len(gc), len(wc))
		}
		ge, gok := gc[i].(*etree.Element)
		we, wok := wc[i].(*etree.Element)
		switch {
		case gok && wok:
			if d := hxTreeDiffAt(fmt.Sprintf("%s/%d:", path, i), ge, we); d != "" {
				return d
			}
		case !gok && !wok:
			if g, w := gc[i].(*etree.CharData).Data, wc[i].(*etree.CharData).Data; g != w {
				return fmt.Sprintf("%s/%d: got text %q, want %q", path, i, g, w)
			}
		default:
			return fmt.Sprintf("%s/%d: an element and text differ", path, i)
		}
	}
	return ""
}

// hxRules reads the children of parent as <rule/> elements in namespace ns,
// and fails when a child is anything else, when a rule carries an attribute
// other than action, condition and value, or has any content.
func hxRules(parent *etree.Element, ns string) ([]amp.Rule, error) {
	var out []amp.Rule
	for _, t := range hxChildren(parent) {
		el, ok := t.(*etree.Element)
		if !ok {
			return nil, fmt.Errorf("<%s/> holds text %q", parent.Tag, t.(*etree.CharData).Data)
		}
		if el.Tag != "rule" || el.NamespaceURI() != ns {
			return nil, fmt.Errorf("<%s/> holds {%s}%s, not a rule in %s", parent.Tag, el.NamespaceURI(), el.Tag, ns)
		}
		if len(el.Child) != 0 {
			return nil, fmt.Errorf("a <rule/> has content: %s", hxWrite(el))
		}
		var r amp.Rule
		for _, a := range el.Attr {
			if hxIsNSDecl(a) {
				continue
			}
			if a.Space != "" {
				return nil, fmt.Errorf("a <rule/> carries attribute %s", a.FullKey())
			}
			switch a.Key {
			case "action":
				r.Action = amp.Action(a.Value)
			case "condition":
				r.Condition = amp.Condition(a.Value)
			case "value":
				r.Value = a.Value
			default:
				return nil, fmt.Errorf("a <rule/> carries attribute %s", a.Key)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// hxAttr returns the unprefixed attribute key of el and whether it is there.
func hxAttr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

func hxAttrValue(el *etree.Element, key string) string {
	v, _ := hxAttr(el, key)
	return v
}

// hxFirstAMP returns the first <amp/> child of msg in the AMP namespace.
func hxFirstAMP(msg *etree.Element) *etree.Element {
	for _, t := range msg.Child {
		if el, ok := t.(*etree.Element); ok && el.Tag == "amp" && el.NamespaceURI() == amp.NS {
			return el
		}
	}
	return nil
}

// hxRequestRules reads the rules of msg's request independently of the
// package: every <rule/> child of the first AMP <amp/> in the AMP
// namespace, unprefixed attributes only, the last of repeated ones winning.
func hxRequestRules(msg *etree.Element) []amp.Rule {
	el := hxFirstAMP(msg)
	if el == nil {
		return nil
	}
	var out []amp.Rule
	for _, t := range el.Child {
		r, ok := t.(*etree.Element)
		if !ok || r.Tag != "rule" || r.NamespaceURI() != amp.NS {
			continue
		}
		var rule amp.Rule
		for _, a := range r.Attr {
			if a.Space != "" {
				continue
			}
			switch a.Key {
			case "action":
				rule.Action = amp.Action(a.Value)
			case "condition":
				rule.Condition = amp.Condition(a.Value)
			case "value":
				rule.Value = a.Value
			}
		}
		out = append(out, rule)
	}
	return out
}

// hxWire is the wire form of an error kind (DESIGN.md, XEP-0079 §7.1).
type hxWire struct {
	condition, typ, code string
	container, ns        string
}

var hxWires = map[error]hxWire{
	amp.ErrBadRequest:           {"bad-request", "modify", "400", "", ""},
	amp.ErrUnsupportedAction:    {"bad-request", "modify", "400", "unsupported-actions", amp.NS},
	amp.ErrUnsupportedCondition: {"bad-request", "modify", "400", "unsupported-conditions", amp.NS},
	amp.ErrNotAcceptable:        {"not-acceptable", "modify", "405", "invalid-rules", amp.NS},
	amp.ErrServiceUnavailable:   {"service-unavailable", "cancel", "503", "", ""},
	amp.ErrFailedRules:          {"undefined-condition", "modify", "500", "failed-rules", amp.NSErrors},
}

// hxCheckReply checks what every reply to msg must be: a <message/> in
// msg's namespace from server, whose only recipient is msg's sender, with
// msg's id (none when msg has none), whose children are <amp/> and <error/>
// only, whose rules carry only action, condition and value, and which
// serializes to XML that reads back as the same tree.
func hxCheckReply(msg, reply *etree.Element, server string) error {
	if reply == nil {
		return errors.New("no reply")
	}
	if reply.Tag != "message" || reply.NamespaceURI() != msg.NamespaceURI() {
		return fmt.Errorf("reply is {%s}%s, not a message in %q", reply.NamespaceURI(), reply.Tag, msg.NamespaceURI())
	}
	allowed := map[string]string{"from": server, "to": hxAttrValue(msg, "from"), "id": hxAttrValue(msg, "id")}
	seen := map[string]bool{}
	for _, a := range reply.Attr {
		if hxIsNSDecl(a) {
			continue
		}
		if a.Space != "" {
			return fmt.Errorf("reply carries attribute %s", a.FullKey())
		}
		if seen[a.Key] {
			return fmt.Errorf("reply repeats attribute %s", a.Key)
		}
		seen[a.Key] = true
		want, ok := allowed[a.Key]
		switch {
		case a.Key == "type":
			if a.Value != "error" {
				return fmt.Errorf("reply has type %q", a.Value)
			}
		case !ok:
			return fmt.Errorf("reply carries attribute %s=%q", a.Key, a.Value)
		case a.Value != want:
			return fmt.Errorf("reply has %s=%q, want %q", a.Key, a.Value, want)
		}
	}
	for key, want := range allowed {
		if want != "" && !seen[key] {
			return fmt.Errorf("reply has no %s, want %q", key, want)
		}
	}
	nAMP, nErr := 0, 0
	for _, t := range reply.Child {
		el, ok := t.(*etree.Element)
		if !ok {
			return fmt.Errorf("reply holds a %T", t)
		}
		switch {
		case el.Tag == "amp" && el.NamespaceURI() == amp.NS:
			nAMP++
			if _, err := hxRules(el, amp.NS); err != nil {
				return err
			}
		case el.Tag == "error" && el.NamespaceURI() == msg.NamespaceURI():
			nErr++
		default:
			return fmt.Errorf("reply holds {%s}%s", el.NamespaceURI(), el.Tag)
		}
	}
	if nAMP != 1 || nErr > 1 {
		return fmt.Errorf("reply holds %d <amp/> and %d <error/>", nAMP, nErr)
	}
	again, err := hxReparse(reply)
	if err != nil {
		return fmt.Errorf("reply does not read back: %v: %s", err, hxWrite(reply))
	}
	if d := hxTreeDiff(again, reply); d != "" {
		return fmt.Errorf("reply reads back differently: %s", d)
	}
	return nil
}

// hxChild returns reply's child named tag.
func hxChild(el *etree.Element, tag string) *etree.Element {
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok && c.Tag == tag {
			return c
		}
	}
	return nil
}

// hxCheckError checks the <error/> of reply for kind, listing rules.
func hxCheckError(reply *etree.Element, kind error, rules []amp.Rule) error {
	w, ok := hxWires[kind]
	if !ok {
		return fmt.Errorf("unknown kind %v", kind)
	}
	if v := hxAttrValue(reply, "type"); v != "error" {
		return fmt.Errorf("an error reply has type %q", v)
	}
	e := hxChild(reply, "error")
	if e == nil {
		return errors.New("an error reply has no <error/>")
	}
	if got := hxAttrs(e); !slices.Equal(got, []string{fmt.Sprintf("{}code=%q", w.code), fmt.Sprintf("{}type=%q", w.typ)}) {
		return fmt.Errorf("<error/> has %v, want type %s code %s", got, w.typ, w.code)
	}
	kids := hxChildren(e)
	want := 1
	if w.container != "" {
		want = 2
	}
	if len(kids) != want {
		return fmt.Errorf("<error/> has %d children, want %d", len(kids), want)
	}
	cond, ok := kids[0].(*etree.Element)
	if !ok || cond.Tag != w.condition || cond.NamespaceURI() != amp.NSStanzas || len(hxChildren(cond)) != 0 {
		return fmt.Errorf("<error/> condition is %s, want %s", hxWrite(cond), w.condition)
	}
	if w.container == "" {
		return nil
	}
	c, ok := kids[1].(*etree.Element)
	if !ok || c.Tag != w.container || c.NamespaceURI() != w.ns || len(hxAttrs(c)) != 0 {
		return fmt.Errorf("<error/> container is %s, want {%s}%s", hxWrite(c), w.ns, w.container)
	}
	got, err := hxRules(c, w.ns)
	if err != nil {
		return err
	}
	if !slices.Equal(got, rules) {
		return fmt.Errorf("<%s/> lists %v, want %v", w.container, got, rules)
	}
	return nil
}

// hxCheckRefusal checks a refusal of msg: a validation error, a bad
// request or service-unavailable, which echoes the request's rules (echo)
// in a plain <amp/> and lists rules in the container of kind.
func hxCheckRefusal(msg, reply *etree.Element, server string, kind error, rules, echo []amp.Rule, perHop bool) error {
	if err := hxCheckReply(msg, reply, server); err != nil {
		return err
	}
	a := hxChild(reply, "amp")
	if got := hxAttrs(a); perHop && !slices.Equal(got, []string{`{}per-hop="true"`}) || !perHop && len(got) != 0 {
		return fmt.Errorf("the echo <amp/> carries %v", got)
	}
	got, err := hxRules(a, amp.NS)
	if err != nil {
		return err
	}
	if !slices.Equal(got, echo) {
		return fmt.Errorf("the echo lists %v, want %v", got, echo)
	}
	if err := hxCheckError(reply, kind, rules); err != nil {
		return err
	}
	return hxCheckClientView(msg, reply, "", kind, echo, rules)
}

// hxCheckClientView checks that ParseEvent, as a client reads the reply,
// finds what the server meant to say.
func hxCheckClientView(msg, reply *etree.Element, status amp.Action, kind error, rules, listed []amp.Rule) error {
	ev := amp.ParseEvent(reply)
	if ev == nil {
		return errors.New("ParseEvent does not read the reply")
	}
	if ev.ID != hxAttrValue(msg, "id") || ev.Status != status || !slices.Equal(ev.Rules, rules) {
		return fmt.Errorf("ParseEvent = %+v, want id %q, status %q, rules %v", *ev, hxAttrValue(msg, "id"), status, rules)
	}
	if status != "" && (ev.From != hxAttrValue(msg, "from") || ev.To != hxAttrValue(msg, "to")) {
		return fmt.Errorf("ParseEvent reads from %q to %q", ev.From, ev.To)
	}
	if kind == nil {
		if ev.Err != nil {
			return fmt.Errorf("ParseEvent reads error %v from an event", ev.Err)
		}
		return nil
	}
	var e *amp.Error
	if !errors.As(ev.Err, &e) || e.Kind != kind || len(e.Rules) != len(listed) || len(listed) != 0 && !slices.Equal(e.Rules, listed) {
		return fmt.Errorf("ParseEvent reads error %v listing %v, want %v listing %v", ev.Err, e, kind, listed)
	}
	return nil
}

// hxCheckEvent checks an alert or notify event, or the error of the error
// action, sent for rule.
func hxCheckEvent(msg, reply *etree.Element, server string, status amp.Action, rule amp.Rule) error {
	if err := hxCheckReply(msg, reply, server); err != nil {
		return err
	}
	a := hxChild(reply, "amp")
	want := []string{fmt.Sprintf("{}status=%q", status)}
	if v := hxAttrValue(msg, "from"); v != "" {
		want = append(want, fmt.Sprintf("{}from=%q", v))
	}
	if v := hxAttrValue(msg, "to"); v != "" {
		want = append(want, fmt.Sprintf("{}to=%q", v))
	}
	sort.Strings(want)
	if got := hxAttrs(a); !slices.Equal(got, want) {
		return fmt.Errorf("the event <amp/> carries %v, want %v", got, want)
	}
	got, err := hxRules(a, amp.NS)
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0] != rule {
		return fmt.Errorf("the event lists %v, want %v", got, rule)
	}
	if status != amp.ActionError {
		if _, ok := hxAttr(reply, "type"); ok {
			return fmt.Errorf("a %s event has a type", status)
		}
		if hxChild(reply, "error") != nil {
			return fmt.Errorf("a %s event has an <error/>", status)
		}
		return hxCheckClientView(msg, reply, status, nil, got, nil)
	}
	if err := hxCheckError(reply, amp.ErrFailedRules, []amp.Rule{rule}); err != nil {
		return err
	}
	return hxCheckClientView(msg, reply, status, amp.ErrFailedRules, got, got)
}

// TestHxTreeDiff checks the tree comparison the other tests rely on.
func TestHxTreeDiff(t *testing.T) {
	base := `<m xmlns='a' x='1' y='2'><c xmlns='b'> <d/>t</c></m>`
	tests := []struct {
		other string
		equal bool
	}{
		{base, true},
		{`<m xmlns='a' y='2' x='1'>  <c xmlns='b'><d></d>t</c>  </m>`, true},
		{`<p:m xmlns:p='a' x='1' y='2'><q:c xmlns:q='b'><q:d/>t</q:c></p:m>`, true},
		{`<m xmlns='z' x='1' y='2'><c xmlns='b'><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1'><c xmlns='b'><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='3'><c xmlns='b'><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='2' xmlns:p='a' p:x='1'><c xmlns='b'><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='2'><c xmlns='b'><d/>u</c></m>`, false},
		{`<m xmlns='a' x='1' y='2'><c xmlns='b'><d/><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='2'><c xmlns='b'><e/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='2'><c><d/>t</c></m>`, false},
		{`<m xmlns='a' x='1' y='2'><c xmlns='b'>t<d/></c></m>`, false},
	}
	for _, tt := range tests {
		d := hxTreeDiff(hxMustRead(tt.other), hxMustRead(base))
		if (d == "") != tt.equal {
			t.Errorf("%s: diff %q, want equal %v", tt.other, d, tt.equal)
		}
	}
}
