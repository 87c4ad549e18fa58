module github.com/ampxmpp/amp

go 1.23.0

require github.com/beevik/etree v1.3.0

require (
	github.com/davecgh/go-spew v1.1.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.0-20200313102051-9f266ea9e77c // indirect
)

require github.com/stretchr/testify v1.7.0
