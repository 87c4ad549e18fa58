package amptest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ampxmpp/amp/amptest"
)

// A tool runs the scenarios outside go test and reports what the server
// did not do, with the level of each requirement. In a server's own tests,
// amptest.Run(t, s) runs them as subtests instead.
func ExampleCheck() {
	s := amptest.Server{
		Addr:   "127.0.0.1:5222",
		Domain: "localhost",
		Accounts: []amptest.Account{
			{User: "alice", Password: "alice-pw"},
			{User: "bob", Password: "bob-pw"},
			{User: "carol", Password: "carol-pw"},
		},
		// bob's roster lets alice see his presence, but not carol: the
		// §9 scenarios. alice has not authorized bob: the one-way ones.
		Subscribed: []amptest.Subscription{{Sender: "alice", Recipient: "bob"}},
		Progress: func(r amptest.Result, done, total int) {
			log.Printf("[%d/%d] %s %s", done, total, r.Status, r.Name)
		},
	}
	results, err := amptest.Check(context.Background(), s)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		if r.Status != amptest.Pass && r.Status != amptest.Skip {
			fmt.Println(r.Status, r.Report())
		}
	}
}
