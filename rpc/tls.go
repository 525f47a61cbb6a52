package rpc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// The master's TLS identity: a self-signed certificate made on first start
// and kept in the workdir (key mode 0600). Clients do not trust a CA: they
// pin this exact certificate, handed to them by deploy over SSH, so no
// name or address in it needs to match how they reach the master.

// CertFile and KeyFile are where the master keeps its TLS identity.
func CertFile(dir string) string { return filepath.Join(dir, "tls.crt") }
func KeyFile(dir string) string  { return filepath.Join(dir, "tls.key") }

// LoadOrCreateCert returns the master's certificate and key (PEM), making
// them on first use.
func LoadOrCreateCert(dir string) (certPEM, keyPEM []byte, err error) {
	certPEM, err = os.ReadFile(CertFile(dir))
	if err == nil {
		keyPEM, err = os.ReadFile(KeyFile(dir))
		if err != nil {
			return nil, nil, fmt.Errorf("read master key: %w", err)
		}
		return certPEM, keyPEM, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "ferry master " + host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(20, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"ferry-master"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	// Key first: a certificate file without its key would be unusable.
	if err := writeExclusive(KeyFile(dir), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeExclusive(CertFile(dir), certPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

func writeExclusive(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ServerTLS is the gRPC server option that serves with the master's identity.
func ServerTLS(certPEM, keyPEM []byte) (grpc.ServerOption, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("master TLS identity: %w", err)
	}
	return grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})), nil
}

// ClientTLS is the dial option that accepts only the master whose
// certificate is certPEM.
func ClientTLS(certPEM []byte) (grpc.DialOption, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("master certificate: not a PEM certificate")
	}
	pinned := block.Bytes
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Chain and name checks are replaced by pinning the exact
		// certificate, checked below on every handshake.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], pinned) {
				return errors.New("the master's TLS certificate is not the one deployed to this worker (redeploy with `console.sh deploy`)")
			}
			return nil
		},
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// DialPinned connects to the master whose certificate is certPEM, sending
// token with every call.
func DialPinned(addr, token string, certPEM []byte) (*grpc.ClientConn, error) {
	creds, err := ClientTLS(certPEM)
	if err != nil {
		return nil, err
	}
	return Dial(addr, token, creds)
}
