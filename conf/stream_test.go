package conf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const kafkaBase = "jobName=k\nsrcType=kafka\nsrcDomain=127.0.0.1:9092\ndestType=kafka\ndestDomain=127.0.0.1:9093\ntopics=orders,logs\\..*\n"

func TestStreamJob(t *testing.T) {
	j, err := ParseJob(strings.NewReader(kafkaBase+"consumerGroups=app-.*\nstreamMode=continuous\nsrcAccessKey=u\nsrcSecretKey=p\n"), "k.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) > 0 {
		t.Errorf("warnings: %q", j.Warnings)
	}
	s := j.Spec()
	if !s.IsStream() || !slices.Equal(s.Stream.Topics, []string{"orders", `logs\..*`}) || !slices.Equal(s.Stream.Groups, []string{"app-.*"}) ||
		!s.Stream.Continuous || s.Stream.SrcSASL != "PLAIN" || s.Stream.DestSASL != "" || s.Src.AccessKey != "u" || s.Src.Domain != "127.0.0.1:9092" {
		t.Errorf("spec: %+v %+v", s, s.Stream)
	}
	if j, _ := ParseJob(strings.NewReader(kafkaBase), "k.cfg"); j.Spec().Stream.Continuous {
		t.Error("streamMode default is not once")
	}
	if j, _ := ParseJob(strings.NewReader(jobText()), "k.cfg"); j.Spec().IsStream() {
		t.Error("a file job is a stream job")
	}
}

func TestStreamJobErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{strings.Replace(kafkaBase, "destType=kafka", "destType=local\ndestPrefix=/tmp/x", 1), "k.cfg:4: destType: srcType=kafka copies only to and from Kafka"},
		{strings.Replace(kafkaBase, "srcDomain=127.0.0.1:9092", "srcDomain=", 1), "k.cfg:3: srcDomain: required with Kafka, not set"},
		{strings.Replace(kafkaBase, "destDomain=127.0.0.1:9093", "destDomain=b1:9092,b2", 1), `k.cfg:5: destDomain: broker "b2" is not host:port`},
		{strings.Replace(kafkaBase, "topics=orders,logs\\..*", "topics=", 1), "k.cfg:6: topics: required with srcType=kafka"},
		{strings.Replace(kafkaBase, "topics=orders,logs\\..*", "topics=a,(b", 1), `k.cfg:6: topics: "(b" is not a topic name nor a valid regular expression`},
		{kafkaBase + "streamMode=forever\n", `k.cfg:7: streamMode: "forever" is not a stream mode (once or continuous)`},
		{kafkaBase + "srcSaslMechanism=GSSAPI\n", `k.cfg:7: srcSaslMechanism: "GSSAPI" is not a SASL mechanism`},
		{kafkaBase + "destSaslMechanism=PLAIN\n", "k.cfg:7: destSaslMechanism: set, but destAccessKey and destSecretKey"},
		{kafkaBase + "srcAccessKey=u\n", "k.cfg:7: srcAccessKey: set, but srcSecretKey (the SASL password) is not"},
		{kafkaBase + "jobType=audit\n", "k.cfg:7: jobType: a Kafka job copies"},
	} {
		_, err := ParseJob(strings.NewReader(tc.text), "k.cfg")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("input:\n%s\ngot  %v\nwant %s...", tc.text, err, tc.want)
		}
	}
}

// TestStreamCAFile: a CA file is read relative to the home into the spec
// and turns TLS on; a missing one or one without a certificate is an error
// naming the file, line and key.
func TestStreamCAFile(t *testing.T) {
	home := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	mkfile := func(name, body string) {
		if err := os.WriteFile(filepath.Join(home, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkfile("ca.pem", ca)
	mkfile("junk.pem", "not a certificate\n")
	j, err := ParseJob(strings.NewReader(kafkaBase+"srcTlsCaFile=ca.pem\n"), "k.cfg")
	if err == nil {
		err = j.Resolve(home)
	}
	if err != nil {
		t.Fatal(err)
	}
	if s := j.Spec().Stream; !s.SrcTLS || string(s.SrcCA) != ca || s.DestTLS || s.DestCA != nil {
		t.Errorf("spec: TLS %v/%v, CA %d/%d bytes", s.SrcTLS, s.DestTLS, len(s.SrcCA), len(s.DestCA))
	}
	for _, tc := range []struct{ text, want string }{
		{"destTlsCaFile=none.pem\n", "k.cfg:7: destTlsCaFile: cannot read the CA file: open " + filepath.Join(home, "none.pem")},
		{"srcTlsCaFile=junk.pem\n", "k.cfg:7: srcTlsCaFile: " + filepath.Join(home, "junk.pem") + " holds no PEM certificate"},
	} {
		j, err := ParseJob(strings.NewReader(kafkaBase+tc.text), "k.cfg")
		if err == nil {
			err = j.Resolve(home)
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s...", tc.text, err, tc.want)
		}
	}
}
