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

// appendUpgradeResponse writes the 101 for key with header and, unless it
// is "", the extension line ext.
func appendUpgradeResponse(dst []byte, key string, header http.Header, ext string) []byte {
	var extra []string
	if ext != "" {
		extra = append(extra, ext)
	}
	for k, vs := range header {
		for _, v := range vs {
			extra = append(extra, k+": "+v)
		}
	}
	return wsframe.AppendUpgradeResponse(dst, key, extra...)
}
