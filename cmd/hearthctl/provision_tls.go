package main

import (
	"crypto/tls"
	"path/filepath"
	"strings"

	"github.com/hearth-home/hearth/provisioning"
)

// tlsConfig is the client side of mutual TLS from --tls DIR (ca.crt,
// client.crt, client.key: provision client-cert writes them); nil unless
// the broker is mqtts:// and a folder is named.
func tlsConfig(broker, dir string) (*tls.Config, error) {
	if dir == "" || !strings.HasPrefix(broker, "mqtts://") {
		return nil, nil
	}
	return provisioning.ClientTLS(filepath.Join(dir, provisioning.CACertFile),
		filepath.Join(dir, provisioning.ClientCertFile), filepath.Join(dir, provisioning.ClientKeyFile), broker)
}
