package s3

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/s3test"
)

// TestClassicMistakes checks the one-line errors of New. The s3test server
// checks AWS Signature V4 itself (gofakes3 does not), so a wrong secret is
// refused there as S3 refuses it.
func TestClassicMistakes(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   []string // all in the message
		is     error
	}{
		{"wrong secret", func(c *Config) { c.SecretKey = "not-the-secret"; c.Role = "dest" },
			[]string{"SignatureDoesNotMatch", "check destSecretKey", srv.Bucket, srv.Endpoint}, store.ErrPermission},
		{"unknown access key", func(c *Config) { c.AccessKey = "NOSUCHKEY" },
			[]string{"InvalidAccessKeyId", "check srcAccessKey", srv.Bucket, srv.Endpoint}, store.ErrPermission},
		{"missing bucket", func(c *Config) { c.Bucket = "no-such-bucket"; c.Provider = "oss" },
			[]string{"NoSuchBucket", "no-such-bucket", "check srcBucket", srv.Endpoint, "oss-cn-hangzhou.aliyuncs.com"}, store.ErrNotExist},
		{"bucket in endpoint", func(c *Config) { c.Endpoint = "https://mybucket.oss-cn-hangzhou.aliyuncs.com"; c.Bucket = "mybucket" },
			[]string{`endpoint "mybucket.oss-cn-hangzhou.aliyuncs.com" already holds the bucket "mybucket"`, `bare endpoint "oss-cn-hangzhou.aliyuncs.com"`}, nil},
		{"bucket in endpoint with port", func(c *Config) { c.Endpoint = "MyBucket.example.com:9000"; c.Bucket = "mybucket" },
			[]string{`bare endpoint "example.com:9000"`}, nil},
		{"endpoint with path", func(c *Config) { c.Endpoint = srv.URL + "/" + srv.Bucket },
			[]string{"has a path", "srcBucket"}, nil},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"srcDomain"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(srv, srv.URL, "")
			c.change(&cfg)
			_, err := New(ctx, cfg)
			if err == nil {
				t.Fatalf("New succeeded")
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, srv.SecretKey) || strings.Contains(msg, "not-the-secret") || strings.Contains(msg, "\n") {
				t.Errorf("error %q holds a secret or several lines", msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q does not wrap %v", msg, c.is)
			}
			if store.IsRetryable(err) {
				t.Errorf("error %q is retryable", msg)
			}
			t.Log(msg)
		})
	}
}

func TestClockSkew(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetClockSkew(-time.Hour) // the server is an hour behind: the local clock is ahead
	_, err := New(context.Background(), config(srv, srv.URL, ""))
	if err == nil {
		t.Fatalf("New succeeded with a clock an hour off")
	}
	if msg := err.Error(); !strings.Contains(msg, "RequestTimeTooSkewed") || !strings.Contains(msg, "1h0m0s ahead") {
		t.Fatalf("error %q does not say the clock is 1h0m0s ahead", msg)
	}
	srv.SetClockSkew(0)
	open(t, config(srv, srv.URL, ""))
}

func TestParseEndpoint(t *testing.T) {
	for ep, want := range map[string]struct {
		host   string
		secure bool
	}{
		"oss-cn-hangzhou.aliyuncs.com":          {"oss-cn-hangzhou.aliyuncs.com", true},
		"http://127.0.0.1:9000":                 {"127.0.0.1:9000", false},
		"https://s3.amazonaws.com/":             {"s3.amazonaws.com", true},
		" cos.ap-guangzhou.myqcloud.com ":       {"cos.ap-guangzhou.myqcloud.com", true},
		"http://bucketless.example.com:80":      {"bucketless.example.com:80", false},
		"https://mybucket-other.example.com":    {"mybucket-other.example.com", true},
		"http://mybucket:9000":                  {"mybucket:9000", false},
		"mybucketx.oss-cn-beijing.aliyuncs.com": {"mybucketx.oss-cn-beijing.aliyuncs.com", true},
	} {
		host, secure, err := parseEndpoint(Config{Endpoint: ep, Bucket: "mybucket", Role: "src"})
		if err != nil || host != want.host || secure != want.secure {
			t.Errorf("parseEndpoint(%q) = %q, %v, %v; want %q, %v", ep, host, secure, err, want.host, want.secure)
		}
	}
	if _, _, err := parseEndpoint(Config{Endpoint: "ftp://x", Bucket: "b", Role: "src"}); err == nil {
		t.Errorf("ftp endpoint accepted")
	}
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, ""))
	px.SetFaults(s3test.Faults{})
	_, err := s.Stat(context.Background(), "missing")
	if !errors.Is(err, store.ErrNotExist) || store.IsRetryable(err) || store.Attempts(err) != 1 {
		t.Fatalf("Stat(missing) = %v (attempts %d), want one attempt, ErrNotExist", err, store.Attempts(err))
	}
	if n := px.Count(s3test.KindHead); n != 1 {
		t.Fatalf("%d HEAD requests reached the server, want 1", n)
	}
}
