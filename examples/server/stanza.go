package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"

	"github.com/beevik/etree"
)

// randomID returns a fresh stanza id.
func randomID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("no randomness: " + err.Error()))
	}
	return hex.EncodeToString(b)
}

// attr returns the value of el's attribute key, in no namespace.
func attr(el *etree.Element, key string) string {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value
		}
	}
	return ""
}

// setAttr sets el's attribute key, in no namespace, to value.
func setAttr(el *etree.Element, key, value string) {
	for i, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			el.Attr[i].Value = value
			return
		}
	}
	el.CreateAttr(key, value)
}
