//go:build ignore

// Command required prints the version of the module named by its argument
// that the go.mod read as JSON (go mod edit -json) on its standard input
// requires.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	var mod struct {
		Require []struct{ Path, Version string }
	}
	if err := json.NewDecoder(os.Stdin).Decode(&mod); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, r := range mod.Require {
		if r.Path == os.Args[1] {
			fmt.Println(r.Version)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "go.mod does not require %s\n", os.Args[1])
	os.Exit(1)
}
