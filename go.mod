module github.com/ampxmpp/amp

go 1.23.0

require github.com/beevik/etree v1.8.1
