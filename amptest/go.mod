module github.com/ampxmpp/amp/amptest

go 1.23.0

require (
	github.com/ampxmpp/amp v0.0.0-00010101000000-000000000000
	github.com/beevik/etree v1.8.1
	github.com/stretchr/testify v1.12.1
	mellium.im/sasl v0.3.2
	mellium.im/xmlstream v0.15.4
	mellium.im/xmpp v0.22.0
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.27.0 // indirect
	golang.org/x/mod v0.21.0 // indirect
	golang.org/x/net v0.29.0 // indirect
	golang.org/x/sync v0.8.0 // indirect
	golang.org/x/text v0.18.0 // indirect
	golang.org/x/tools v0.25.0 // indirect
	mellium.im/reader v0.1.0 // indirect
)

replace github.com/ampxmpp/amp => ..
