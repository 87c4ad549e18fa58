module github.com/ampxmpp/amp/examples/server

go 1.23.0

require (
	github.com/ampxmpp/amp v0.0.0-00010101000000-000000000000
	github.com/ampxmpp/amp/amptest v0.0.0-00010101000000-000000000000
	github.com/beevik/etree v1.8.1
	go.etcd.io/bbolt v1.4.3
	mellium.im/sasl v0.3.2
	mellium.im/xmlstream v0.15.4
	mellium.im/xmpp v0.22.0
)

require (
	golang.org/x/crypto v0.27.0 // indirect
	golang.org/x/mod v0.21.0 // indirect
	golang.org/x/net v0.29.0 // indirect
	golang.org/x/sync v0.10.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
	golang.org/x/text v0.18.0 // indirect
	golang.org/x/tools v0.25.0 // indirect
	mellium.im/reader v0.1.0 // indirect
)

replace github.com/ampxmpp/amp => ../..

replace github.com/ampxmpp/amp/amptest => ../../amptest
