package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ampxmpp/amp/amptest"
)

// verdicts in the order the summary names them.
var verdicts = []amptest.Status{amptest.Pass, amptest.NonStrict, amptest.Informational, amptest.Fail, amptest.Skip}

// table prints results and returns the exit code: 1 when a MUST is
// broken, or when strict a SHOULD.
func table(w io.Writer, results []amptest.Result, strict, verbose, wire bool) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tLEVEL\tRESULT")
	counts := map[amptest.Status]int{}
	code := 0
	for _, r := range results {
		counts[r.Status]++
		if r.Failed(strict) {
			code = 1
		}
		if r.Status == amptest.Skip {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Level, r.Status, r.Reason)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Level, r.Status)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s\n", summary(counts))
	for _, r := range results {
		if r.Status == amptest.Pass || r.Status == amptest.Skip {
			if !verbose {
				continue
			}
		}
		fmt.Fprintf(w, "\n%s %s\n", strings.ToUpper(r.Status.String()), r.Report())
		if wire {
			fmt.Fprint(w, r.Wire())
		}
	}
	return code
}

// summary says how many results have each verdict.
func summary(counts map[amptest.Status]int) string {
	var parts []string
	for _, s := range verdicts {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	return strings.Join(parts, ", ")
}

// writeJSON writes results to path as one JSON document: how many have
// each verdict, whether the run failed (as the exit status says), and
// every result.
func writeJSON(path string, results []amptest.Result, strict bool) error {
	counts := map[string]int{}
	failed := false
	for _, s := range verdicts {
		counts[s.String()] = 0
	}
	for _, r := range results {
		counts[r.Status.String()]++
		failed = failed || r.Failed(strict)
	}
	b, err := json.MarshalIndent(struct {
		Counts  map[string]int   `json:"counts"`
		Strict  bool             `json:"strict"`
		Failed  bool             `json:"failed"`
		Results []amptest.Result `json:"results"`
	}{counts, strict, failed, results}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// expectHeader starts a file of expected verdicts.
const expectHeader = `# The verdicts ampprobe expects, one scenario a line: verdict, level, name.
# Rewrite on purpose with ampprobe -expect FILE -update (bash .ci/jabberd2 -update).
`

// compare checks the verdicts of results against the file at path, or
// rewrites it when update is set. It returns 0 when they agree.
func compare(stdout, stderr io.Writer, path string, results []amptest.Result, update bool) int {
	var b strings.Builder
	b.WriteString(expectHeader)
	got := map[string]string{}
	for _, r := range results {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", r.Status, r.Level, r.Name)
		got[r.Name] = r.Status.String() + " " + r.Level.String()
	}
	if update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(stderr, "ampprobe: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "\nwrote the verdicts to %s\n", path)
		return 0
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "ampprobe: %v (write it with -update)\n", err)
		return 1
	}
	defer f.Close()
	want := map[string]string{}
	var diffs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 {
			fmt.Fprintf(stderr, "ampprobe: %s: bad line %q\n", path, line)
			return 2
		}
		want[fields[2]] = fields[0] + " " + fields[1]
	}
	for _, r := range results {
		if w, ok := want[r.Name]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %s, not in the file", r.Name, got[r.Name]))
		} else if w != got[r.Name] {
			diffs = append(diffs, fmt.Sprintf("%s: %s, want %s", r.Name, got[r.Name], w))
		}
	}
	for name, w := range want {
		if _, ok := got[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: not run, want %s", name, w))
		}
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stdout, "\n%d verdicts differ from %s:\n  %s\n", len(diffs), path, strings.Join(diffs, "\n  "))
		return 1
	}
	fmt.Fprintf(stdout, "\nthe verdicts are those of %s\n", path)
	return 0
}
