package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"ferry/task"
)

// side is one cluster of a job: its brokers and how to authenticate.
type side struct {
	role    string // "source" or "destination", for messages
	key     string // "srcDomain" or "destDomain", for messages
	brokers []string
	user    string
	pass    task.Secret
	mech    string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; "" none
	tls     bool
	ca      []byte // PEM; nil: the system's authorities
}

func sidesOf(spec task.Spec) (src, dst side) {
	s := spec.Stream
	if s == nil {
		s = &task.Stream{}
	}
	mk := func(role, key string, e task.Endpoint, mech string, tls bool, ca []byte) side {
		var brokers []string
		for _, b := range strings.Split(e.Domain, ",") {
			if b = strings.TrimSpace(b); b != "" {
				brokers = append(brokers, b)
			}
		}
		return side{role: role, key: key, brokers: brokers, user: e.AccessKey, pass: e.SecretKey, mech: mech, tls: tls, ca: ca}
	}
	return mk("source", "srcDomain", spec.Src, s.SrcSASL, s.SrcTLS, s.SrcCA),
		mk("destination", "destDomain", spec.Dest, s.DestSASL, s.DestTLS, s.DestCA)
}

// opts are the client options that reach and authenticate to the side.
func (s side) opts() []kgo.Opt {
	o := []kgo.Opt{
		kgo.SeedBrokers(s.brokers...),
		kgo.DialTimeout(5 * time.Second),
		kgo.RetryTimeout(30 * time.Second),
		kgo.ClientID("ferry"),
	}
	if s.tls {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if len(s.ca) > 0 {
			cfg.RootCAs = x509.NewCertPool()
			cfg.RootCAs.AppendCertsFromPEM(s.ca)
		}
		o = append(o, kgo.DialTLSConfig(cfg))
	}
	switch s.mech {
	case "PLAIN":
		o = append(o, kgo.SASL(plain.Auth{User: s.user, Pass: s.pass.Reveal()}.AsMechanism()))
	case "SCRAM-SHA-256":
		o = append(o, kgo.SASL(scram.Auth{User: s.user, Pass: s.pass.Reveal()}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		o = append(o, kgo.SASL(scram.Auth{User: s.user, Pass: s.pass.Reveal()}.AsSha512Mechanism()))
	}
	return o
}

// client opens a client of the side and checks that its brokers answer,
// so that an unreachable cluster or refused credentials are one clear
// error naming the side, not a stall.
func (s side) client(ctx context.Context, extra ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(s.opts(), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", s.role, s.key, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, s.wrap(err)
	}
	return cl, nil
}

// admin opens an admin client of the side.
func (s side) admin(ctx context.Context) (*kadm.Client, error) {
	cl, err := s.client(ctx)
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// ErrUnreachable and ErrAuth classify the errors of reaching a cluster.
var (
	ErrUnreachable = errors.New("brokers unreachable")
	ErrAuth        = errors.New("authentication failed")
)

// wrap says which side an error is from, and classifies the two most
// common: brokers that do not answer, and refused credentials. It never
// quotes the password.
func (s side) wrap(err error) error {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState), errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("%s %s=%s: %w (user %q, mechanism %s): %v", s.role, s.key, strings.Join(s.brokers, ","), ErrAuth, s.user, s.mech, err)
	case s.mech != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		// Some brokers refuse credentials by closing the connection.
		return fmt.Errorf("%s %s=%s: the brokers closed the connection (user %q, mechanism %s: wrong credentials?): %v",
			s.role, s.key, strings.Join(s.brokers, ","), s.user, s.mech, err)
	case errors.As(err, &oe), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrClientClosed):
		return fmt.Errorf("%s %s=%s: %w: %v", s.role, s.key, strings.Join(s.brokers, ","), ErrUnreachable, err)
	}
	return fmt.Errorf("%s %s=%s: %w", s.role, s.key, strings.Join(s.brokers, ","), err)
}
