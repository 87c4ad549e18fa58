package amp_test

import (
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the specification and the code")

// specPath is the XEP-0079 text the examples in testdata/ are taken from.
const specPath = "../shared/spec/xep-0079.xml"

var exampleRE = regexp.MustCompile(`(?s)<example caption=(?:'([^']*)'|"([^"]*)")><!\[CDATA\[\n?(.*?)\]\]></example>`)

// specExample is one example of XEP-0079, numbered as the XEP numbers them.
type specExample struct {
	Number  int
	Caption string
	Text    string
	sum     string // the SHA-256 the index records for the text
}

// File is the name of the example's file in testdata/.
func (e specExample) File() string {
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(e.Caption), "-"), "-")
	return fmt.Sprintf("example-%02d-%s.xml", e.Number, slug)
}

// Name is how tests cite the example.
func (e specExample) Name() string {
	return fmt.Sprintf("Example %d: %s", e.Number, e.Caption)
}

func readSpecExamples(text string) []specExample {
	var out []specExample
	for i, m := range exampleRE.FindAllStringSubmatch(text, -1) {
		caption := m[1] + m[2]
		out = append(out, specExample{Number: i + 1, Caption: caption, Text: m[3]})
	}
	return out
}

// examples lists the XEP's examples as testdata/ holds them.
var examples = func() []specExample {
	b, err := os.ReadFile("testdata/examples.txt")
	if err != nil {
		panic(err)
	}
	var out []specExample
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		file, rest, _ := strings.Cut(line, "\t")
		caption, sum, _ := strings.Cut(rest, "\t")
		text, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			panic(err)
		}
		out = append(out, specExample{Number: i + 1, Caption: caption, Text: string(text), sum: sum})
	}
	return out
}()

func sha(text string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(text)))
}

// example returns the text of the XEP's example number n.
func example(t testing.TB, n int, caption string) string {
	t.Helper()
	e := examples[n-1]
	if e.Caption != caption {
		t.Fatalf("example %d is %q, not %q", n, e.Caption, caption)
	}
	return e.Text
}

// TestSpecExamples checks that testdata/ holds every example of XEP-0079
// exactly as the specification writes it; go test -update copies them.
// Without the specification beside the repository, it checks the files
// against the SHA-256 sums the index recorded when they were copied.
func TestSpecExamples(t *testing.T) {
	b, err := os.ReadFile(specPath)
	if errors.Is(err, fs.ErrNotExist) && !*update {
		t.Logf("%s is not there: checking testdata/ against its recorded sums", specPath)
		if len(examples) != 26 {
			t.Fatalf("testdata has %d examples, want 26", len(examples))
		}
		for _, e := range examples {
			if got := sha(e.Text); got != e.sum {
				t.Errorf("%s: testdata/%s has SHA-256 %s, the index %s", e.Name(), e.File(), got, e.sum)
			}
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := readSpecExamples(string(b))
	if len(want) != 26 {
		t.Fatalf("found %d examples in %s, want 26", len(want), specPath)
	}
	if *update {
		var index strings.Builder
		for _, e := range want {
			fmt.Fprintf(&index, "%s\t%s\t%s\n", e.File(), e.Caption, sha(e.Text))
			if err := os.WriteFile(filepath.Join("testdata", e.File()), []byte(e.Text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile("testdata/examples.txt", []byte(index.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(examples) != len(want) {
		t.Fatalf("testdata has %d examples, the XEP %d", len(examples), len(want))
	}
	for i, w := range want {
		if got := examples[i]; got.Caption != w.Caption || got.Text != w.Text || got.sum != sha(w.Text) {
			t.Errorf("%s: testdata/%s differs from the XEP; run go test -run TestSpecExamples -update", w.Name(), w.File())
		}
	}
}
