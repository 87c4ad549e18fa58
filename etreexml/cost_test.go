package etreexml_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/ampxmpp/amp/etreexml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cost of each function is linear in the size of its input, whatever
// its shape. The benchmarks show it as time per byte (MB/s), to compare
// between the sizes and the shapes of one run:
//
//	go test -run '^$' -bench . -benchmem -count 3 ./etreexml

// shapes build stanzas of n elements, or of n attributes, that the
// namespaces declared on the stanza reach: nested n deep, n siblings,
// one element with n attributes.
var shapes = []struct {
	name  string
	build func(n int) string
}{
	{"deep", func(n int) string {
		return stanza(strings.Repeat(`<e p:a='1'>t`, n) + strings.Repeat(`</e>`, n))
	}},
	{"flat", func(n int) string {
		return stanza(strings.Repeat(`<e p:a='1'>t</e>`, n))
	}},
	{"wide", func(n int) string {
		var b strings.Builder
		b.WriteString("<e")
		for i := 0; i < n; i += 2 {
			fmt.Fprintf(&b, " a%d='1' p:a%d='1'", i, i)
		}
		b.WriteString("/>")
		return stanza(b.String())
	}},
}

func stanza(content string) string {
	return `<message xmlns='jabber:client' xmlns:p='urn:p' id='1'>` + content + `</message>`
}

// costs are the three functions on a stanza, its tree built once.
func costs(tb testing.TB, s string) []struct {
	name string
	run  func()
} {
	el := read(tb, s)
	buf := make([]byte, 0, 2*len(s))
	return []struct {
		name string
		run  func()
	}{
		{"ReadElement", func() {
			if _, err := etreexml.ReadElement(xml.NewDecoder(strings.NewReader(s)), nil); err != nil {
				panic(err)
			}
		}},
		{"ElementTokens", func() {
			r := etreexml.ElementTokens(el)
			for {
				if _, err := r.Token(); err == io.EOF {
					return
				}
			}
		}},
		{"AppendXML", func() { buf = etreexml.AppendXML(buf[:0], el) }},
	}
}

func benchmark(b *testing.B, fn string) {
	for _, shape := range shapes {
		for _, n := range []int{2500, 10000} {
			s := shape.build(n)
			for _, c := range costs(b, s) {
				if c.name != fn {
					continue
				}
				b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
					b.SetBytes(int64(len(s)))
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						c.run()
					}
				})
			}
		}
	}
}

func BenchmarkReadElement(b *testing.B)   { benchmark(b, "ReadElement") }
func BenchmarkElementTokens(b *testing.B) { benchmark(b, "ElementTokens") }
func BenchmarkAppendXML(b *testing.B)     { benchmark(b, "AppendXML") }

// allocated returns the allocations and the bytes allocated per call of f.
func allocated(f func()) (allocs, bytes float64) {
	const runs = 5
	allocs = testing.AllocsPerRun(runs, f)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return allocs, float64(after.TotalAlloc-before.TotalAlloc) / runs
}

// TestAllocationsGrowLinearly checks that the allocations of each function
// grow no faster than its input, whatever its shape: for an input 4 times
// larger, at most 4.5 times as many allocations, and at most 6 times the
// bytes (a slice grown by appending rounds its capacities up, by 25% to
// 100%). A quadratic cost would give 16. Work that allocates nothing, such
// as a walk through the ancestors of each element, escapes this check: the
// benchmarks show the time. (A test of the time, the best of several runs
// at two sizes, failed now and then on a busy machine with linear code.)
func TestAllocationsGrowLinearly(t *testing.T) {
	const n, maxAllocs, maxBytes = 500, 4.5, 6.0
	for _, shape := range shapes {
		small, large := costs(t, shape.build(n)), costs(t, shape.build(4*n))
		for i := range small {
			t.Run(small[i].name+"/"+shape.name, func(t *testing.T) {
				a1, b1 := allocated(small[i].run)
				a4, b4 := allocated(large[i].run)
				if a1 > 0 {
					assert.LessOrEqual(t, a4/a1, maxAllocs, "allocations: %v for %d, %v for %d", a1, n, a4, 4*n)
				}
				if b1 > 0 {
					assert.LessOrEqual(t, b4/b1, maxBytes, "bytes: %v for %d, %v for %d", b1, n, b4, 4*n)
				}
				t.Logf("allocations %v then %v, bytes %v then %v", a1, a4, b1, b4)
			})
		}
	}
}

// TestDeepTree reads, walks and writes a stanza nested 100,000 deep.
func TestDeepTree(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 100000
	want := `<message xmlns="jabber:client" id="1"><e xmlns:ns1="urn:p" ns1:a="1">t` +
		strings.Repeat(`<e ns1:a="1">t`, n-1) + strings.Repeat(`</e>`, n) + `</message>`
	el := read(t, shapes[0].build(n))
	require.Equal(t, want, string(etreexml.AppendXML(nil, el)))
	out, err := encode(etreexml.ElementTokens(el))
	require.NoError(t, err)
	require.Equal(t, want, string(etreexml.AppendXML(nil, read(t, out))))
}

// TestSawtooth reads, walks and writes a stanza whose depth goes up and
// down across the places where the stacks of open elements grow.
func TestSawtooth(t *testing.T) {
	var b strings.Builder
	depth := 0
	for i := 0; i < 40; i++ {
		up, down := 10+i*7%60, 5+i*5%50
		for j := 0; j < up; j++ {
			fmt.Fprintf(&b, "<e%d xmlns:p%d='urn:%d' p%d:a='%d'>", depth%3, depth, depth%5, depth, j)
			depth++
		}
		for j := 0; j < down && depth > 1; j++ {
			depth--
			fmt.Fprintf(&b, "t</e%d>", depth%3)
		}
	}
	for depth > 0 {
		depth--
		fmt.Fprintf(&b, "</e%d>", depth%3)
	}
	s := stanza(b.String())
	el := read(t, s)
	want := parse(t, s)
	assert.Equal(t, canon(want), canon(el))
	assert.Equal(t, write(el), string(etreexml.AppendXML(nil, el)))
	out, err := encode(etreexml.ElementTokens(want))
	require.NoError(t, err)
	assert.Equal(t, canon(want), canon(read(t, out)))
}
