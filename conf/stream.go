package conf

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"ferry/task"
)

// StreamKeys are the keys of a stream job (srcType=kafka, destType=kafka;
// DESIGN.md §10): the topics and consumer groups it moves, streamMode, and
// the SASL mechanism and TLS switch of each side (the SASL user and
// password are the side's AccessKey and SecretKey).
type StreamKeys struct {
	// Topics are names (a name with only the characters a Kafka topic
	// name may hold is taken literally) or regular expressions, matched
	// whole; Groups are regular expressions, matched whole.
	Topics, Groups    []string
	Continuous        bool   // streamMode=continuous (default once)
	SrcSASL, DestSASL string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; "" none
	SrcTLS, DestTLS   bool
	// SrcCAFile and DestCAFile name PEM files of the certificate
	// authorities to trust on each side (srcTlsCaFile; "" the system's);
	// Resolve reads them into SrcCA and DestCA.
	SrcCAFile, DestCAFile string
	SrcCA, DestCA         []byte
}

func (k StreamKeys) spec() *task.Stream {
	return &task.Stream{Topics: k.Topics, Groups: k.Groups, Continuous: k.Continuous,
		SrcSASL: k.SrcSASL, DestSASL: k.DestSASL, SrcTLS: k.SrcTLS, DestTLS: k.DestTLS,
		SrcCA: k.SrcCA, DestCA: k.DestCA}
}

// resolveCAs reads the CA files of a Kafka job (relative to home) and
// checks that each holds a certificate; a CA file turns TLS on.
func (j *Job) resolveCAs(home string) error {
	for _, s := range []struct {
		key  string
		file *string
		pem  *[]byte
		tls  *bool
	}{{"srcTlsCaFile", &j.Stream.SrcCAFile, &j.Stream.SrcCA, &j.Stream.SrcTLS},
		{"destTlsCaFile", &j.Stream.DestCAFile, &j.Stream.DestCA, &j.Stream.DestTLS}} {
		if *s.file == "" {
			continue
		}
		p, err := absPath(home, *s.file)
		if err != nil {
			return errAt(j.File, j.line(s.key), s.key, err.Error())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return errAt(j.File, j.line(s.key), s.key, fmt.Sprintf("cannot read the CA file: %v", err))
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return errAt(j.File, j.line(s.key), s.key, fmt.Sprintf("%s holds no PEM certificate", p))
		}
		*s.file, *s.pem, *s.tls = p, b, true
	}
	return nil
}

// saslMechanisms are the values of srcSaslMechanism and destSaslMechanism.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// topicName matches what Kafka allows as a topic name.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// IsTopicName reports whether a topics= item is a literal topic name
// rather than a regular expression.
func IsTopicName(s string) bool { return topicName.MatchString(s) }

// parsePatterns parses a comma-separated list of regular expressions (or,
// for topics, names); each must compile.
func parsePatterns(v string, topics bool) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !topics || !IsTopicName(p) {
			if _, err := regexp.Compile(`^(?:` + p + `)$`); err != nil {
				return nil, fmt.Errorf("%q is not a topic name nor a valid regular expression: %v", p, err)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseStreamMode(v string) (bool, error) {
	switch v {
	case "once":
		return false, nil
	case "continuous":
		return true, nil
	}
	return false, fmt.Errorf("%q is not a stream mode (once or continuous)", v)
}

func parseSASL(v string) (string, error) {
	for _, m := range saslMechanisms {
		if strings.EqualFold(v, m) {
			return m, nil
		}
	}
	if v == "" {
		return "", nil
	}
	return "", fmt.Errorf("%q is not a SASL mechanism (%s)", v, strings.Join(saslMechanisms, ", "))
}

// checkStream checks the keys of a job between two Kafka clusters.
func (j *Job) checkStream(d *decoder) error {
	if j.SrcType != j.DestType {
		key, other := "destType", "srcType"
		if j.SrcType == "kafka" {
			key, other = other, key
		}
		return errAt(d.file, d.line(other), other, fmt.Sprintf("%s=kafka copies only to and from Kafka: set srcType=kafka and destType=kafka", key))
	}
	if j.Type != "import" {
		return errAt(d.file, d.line("jobType"), "jobType", "a Kafka job copies (import); compare with `console.sh verify <job>`")
	}
	sides := []struct {
		role, domain, user string
		secret             Secret
		sasl               *string
	}{{"src", j.SrcDomain, j.SrcAccessKey, j.SrcSecretKey, &j.Stream.SrcSASL},
		{"dest", j.DestDomain, j.DestAccessKey, j.DestSecretKey, &j.Stream.DestSASL}}
	for _, s := range sides {
		key := s.role + "Domain"
		if s.domain == "" {
			return errAt(d.file, d.line(key), key, "required with Kafka, not set (the brokers, e.g. broker1:9092,broker2:9092)")
		}
		for _, b := range strings.Split(s.domain, ",") {
			if _, port, err := net.SplitHostPort(strings.TrimSpace(b)); err != nil || port == "" {
				return errAt(d.file, d.line(key), key, fmt.Sprintf("broker %q is not host:port", strings.TrimSpace(b)))
			}
		}
		mech := s.role + "SaslMechanism"
		switch {
		case s.user == "" && s.secret != "":
			return errAt(d.file, d.line(s.role+"SecretKey"), s.role+"SecretKey", fmt.Sprintf("set, but %sAccessKey (the SASL user) is not", s.role))
		case s.user != "" && s.secret == "":
			return errAt(d.file, d.line(s.role+"AccessKey"), s.role+"AccessKey", fmt.Sprintf("set, but %sSecretKey (the SASL password) is not", s.role))
		case s.user == "" && *s.sasl != "":
			return errAt(d.file, d.line(mech), mech, fmt.Sprintf("set, but %sAccessKey and %sSecretKey (the SASL user and password) are not", s.role, s.role))
		case s.user != "" && *s.sasl == "":
			*s.sasl = "PLAIN"
		}
	}
	if len(j.Stream.Topics) == 0 {
		return errAt(d.file, d.line("topics"), "topics", "required with srcType=kafka, not set (topic names or regular expressions, comma-separated)")
	}
	if j.IsIncremental {
		d.warn(d.line("isIncremental"), "isIncremental", "not used with srcType=kafka (streamMode=continuous keeps tailing); ignored")
	}
	return nil
}
