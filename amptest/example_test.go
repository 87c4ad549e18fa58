package amptest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ampxmpp/amp/amptest"
)

// A tool runs the scenarios outside go test and reports the failures. In a
// server's own tests, amptest.Run(t, s) runs them as subtests instead.
func ExampleCheck() {
	s := amptest.Server{
		Addr:   "127.0.0.1:5222",
		Domain: "localhost",
		Accounts: []amptest.Account{
			{User: "alice", Password: "alice-pw"},
			{User: "bob", Password: "bob-pw"},
			{User: "carol", Password: "carol-pw"},
		},
		// bob's roster lets alice see his presence; carol has no
		// subscription, for the §9 scenarios.
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}},
	}
	results, err := amptest.Check(context.Background(), s)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		if r.Status == amptest.Fail {
			fmt.Println(r.Report())
		}
	}
}
