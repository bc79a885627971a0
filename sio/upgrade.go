package sio

import (
	"net/http"
	"strings"

	"github.com/sioloop/sioloop/wsframe"
)

func checkUpgrade(r *http.Request) (string, error) {
	return wsframe.CheckHandshake(r.Method, func(name string) string {
		return strings.Join(r.Header.Values(name), ", ")
	})
}

func appendUpgradeResponse(dst []byte, key string, header http.Header) []byte {
	var extra []string
	for k, vs := range header {
		for _, v := range vs {
			extra = append(extra, k+": "+v)
		}
	}
	return wsframe.AppendUpgradeResponse(dst, key, extra...)
}
