package conf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	s := Secret("hunter2")
	for _, f := range []string{"%v", "%s", "%q", "%#v", "%+v", "%x", "%d", "%10s"} {
		if got := fmt.Sprintf(f, s); strings.Contains(got, "hunter2") || strings.Contains(got, "68756e74657232") {
			t.Errorf("%s prints %q", f, got)
		}
	}
	if s.String() != "******" || Secret("").String() != "" || s.Reveal() != "hunter2" {
		t.Errorf("String %q, empty %q, Reveal %q", s.String(), Secret("").String(), s.Reveal())
	}

	j, err := ParseJob(strings.NewReader(jobText("srcSecretKey=hunter2", "destSecretKey=hunter2")), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	sys, err := ParseSys(strings.NewReader("workerPassword=hunter2\n"), "sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("text", "job", j, "sys", sys, "pw", sys.WorkerPassword)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("json", "job", j, "sys", sys, "pw", sys.WorkerPassword)
	js, err := json.Marshal(struct {
		J *Job
		S *Sys
	}{j, sys})
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v %v", j, sys), "%+v": fmt.Sprintf("%+v %+v", j, sys),
		"%#v": fmt.Sprintf("%#v %#v", j, sys), "json": string(js), "slog": logs.String(),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
}

// FuzzJob feeds arbitrary job.cfg and sys.properties text, with secrets
// set, to the parsers: they must not panic, must fail with a one-line
// *Error, and must never quote a secret in an error or a warning.
func FuzzJob(f *testing.F) {
	f.Add([]byte(jobText()))
	f.Add([]byte(jobText("destSecretKey=x", "srcBucket=b", "isIncremental=true")))
	f.Add([]byte("workerPassword=p\nsshPort=22\nworkerUserName=u\n"))
	f.Add([]byte("destSecretKey\n"))
	f.Add([]byte(objText()))
	f.Add([]byte(objText("srcSecretKey=-", "destSecretKey=-", "srcType=oss")))
	f.Add([]byte(objText("destDomain=mybucket.oss-cn-hangzhou.aliyuncs.com", "destBucket=mybucket", "destPrefix=/x")))
	f.Add([]byte(objText("srcType=qiniu", "srcDomain=http://src-bucket.u.qiniudn.com", "srcPrefix=docs")))
	f.Add([]byte(objText("srcType=cos", "srcDomain=sh", "multipartUploadPartSize=99k", "auditMode=Detailed")))
	f.Add([]byte(objText("destType=s3", "destDomain=s3.us-east-1.amazonaws.com", "destBucket=src-bucket")))
	f.Add([]byte(jobText("srcType=http", "httpListFilePath=c:/example/http.list", "relativePathColumn=1")))
	f.Add([]byte(jobText("isIncremental=true", "incrementalModeInterval=900", "isSkipExistFile=true", "updateMode=checksum",
		`include=docs/**,a\,b`, "exclude=**/*.tmp,[a-", "minSize=1k", "maxSize=1G", "modifiedAfter=2024-05-01T00:00:00Z",
		"modifiedBefore=1714521600", "mirror=true", "maxDelete=-1", "preserveMetadata=false", "maxThroughput=20MB/s",
		"throughputSchedule=08:00-20:00=20MB,20:00-08:00=0", "maxRequestsPerSecond=100")))
	f.Add([]byte("workerMaxThroughput(KB/s)=100000000\nincrementalMinInterval=1\n"))
	if data, err := os.ReadFile("testdata/ossimport-s3-to-oss.cfg"); err == nil {
		f.Add(data)
	}
	const secret = "Zq7-SENTINEL-wK3"
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.Contains(in, []byte(secret)) {
			return
		}
		for _, pre := range []string{"destSecretKey=", "srcSecretKey=", "workerPassword=", "expressTunnelAuthToken="} {
			text := string(in) + "\n" + pre + secret + "\n"
			var msgs []string
			j, err := ParseJob(strings.NewReader(text), "fuzz.cfg")
			if err == nil {
				msgs = append(msgs, j.Warnings...)
				if err := j.Resolve("/nonexistent/ferry"); err != nil {
					msgs = append(msgs, err.Error())
				}
			} else {
				msgs = append(msgs, checkErr(t, err, text))
			}
			s, err := ParseSys(strings.NewReader(text), "fuzz.properties")
			if err == nil {
				msgs = append(msgs, s.Warnings...)
			} else {
				msgs = append(msgs, checkErr(t, err, text))
			}
			for _, m := range msgs {
				if strings.Contains(m, secret) {
					t.Fatalf("message quotes a secret: %s", m)
				}
				if strings.ContainsAny(m, "\n\r") {
					t.Fatalf("multi-line message: %q", m)
				}
			}
		}
	})
}

func checkErr(t *testing.T, err error, text string) string {
	t.Helper()
	ce, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T, want *Error: %v", err, err)
	}
	if n := len(splitLines([]byte(text))); ce.Line < 0 || ce.Line > n {
		t.Fatalf("error on line %d of %d: %v", ce.Line, n, err)
	}
	return err.Error()
}
