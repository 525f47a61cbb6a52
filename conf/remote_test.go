package conf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// TestOssimportS3ToOSS is the acceptance case of issue 4: ossimport's job.cfg
// for an Amazon S3 source and an OSS destination, changed only in endpoints
// and keys, parses and resolves with no error and no warning.
func TestOssimportS3ToOSS(t *testing.T) {
	const f = "testdata/ossimport-s3-to-oss.cfg"
	j, err := LoadJob(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 0 {
		t.Errorf("warnings: %q", j.Warnings)
	}
	if err := j.Resolve("/opt/ferry"); err != nil {
		t.Fatal(err)
	}
	want := &Job{
		File: f, Name: "local_test", Type: "import",
		SrcType: "s3", SrcDomain: "http://s3.eu-central-1.amazonaws.com", SrcBucket: "mybucket", SrcPrefix: "docs/",
		SrcAccessKey: "AKIAIOSFODNN7EXAMPLE", SrcSecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		DestType: "oss", DestDomain: "http://oss-cn-shanghai.aliyuncs.com", DestBucket: "mybucket", DestPrefix: "docs/",
		DestAccessKey: "LTAI5tExampleKeyId9f3Q", DestSecretKey: "Vq1xExampleSecretNotARealOne2Zk",
		HTTPListFilePath: "c:/example/http.list", HTTPPrefixColumn: 1, RelativePathColumn: 2,
		MultipartUploadThreshold: 150 << 20, MultipartUploadPartSize: 50 << 20, UploadThreadNumPerLargeFile: 3,
		IsAuditAfterImport: true, AuditMode: "general",
		IncrementalModeInterval: 86400e9, TaskObjectCountLimit: 10000, TaskObjectSizeLimit: 1000000000,
		ScanThreadCount: 32, MaxMultiThreadScanDepth: 1,
		MaxDelete: 1000, PreserveMetadata: true,
	}
	if !jobEqual(j, want) {
		t.Errorf("got  %+v\nwant %+v", j, want)
	}
	// The same job with ossimport's audit type, and with an S3 destination.
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range [][2]string{{"jobType=import", "jobType=audit"}, {"destBucket=mybucket", "destBucket=mybucket\ndestType=s3"}} {
		j, err := ParseJob(strings.NewReader(strings.Replace(string(data), edit[0], edit[1], 1)), f)
		if err != nil || len(j.Warnings) != 0 {
			t.Errorf("%s: %v, warnings %q", edit[1], err, j.Warnings)
		}
	}
}

func TestParseJobObjectStore(t *testing.T) {
	j, err := ParseJob(strings.NewReader(objText()), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 0 {
		t.Errorf("warnings: %q", j.Warnings)
	}
	if j.SrcType != "s3" || j.SrcDomain != "s3.us-east-1.amazonaws.com" || j.SrcBucket != "src-bucket" ||
		j.SrcAccessKey != "AKIDSRC" || j.SrcSecretKey.Reveal() != "srcs3cret" || j.SrcPrefix != "docs/" ||
		j.DestType != "oss" || j.DestDomain != "http://oss-cn-hangzhou.aliyuncs.com" || j.DestBucket != "dest-bucket" ||
		j.DestAccessKey != "AKIDDEST" || j.DestSecretKey.Reveal() != "dests3cret" || j.DestPrefix != "backup/" ||
		j.SrcRegion != "" || j.DestRegion != "" || j.SrcPathStyle || j.DestPathStyle {
		t.Errorf("got %+v", j)
	}
	// Resolve leaves key prefixes alone.
	if err := j.Resolve("/opt/ferry"); err != nil || j.SrcPrefix != "docs/" || j.DestPrefix != "backup/" {
		t.Errorf("Resolve: %v, %q, %q", err, j.SrcPrefix, j.DestPrefix)
	}

	tests := []struct {
		edit  []string
		check func(*Job) bool
	}{
		{[]string{"srcRegion=us-west-2", "destRegion=oss-cn-hangzhou", "srcPathStyle=true", "destPathStyle=TRUE"},
			func(j *Job) bool {
				return j.SrcRegion == "us-west-2" && j.DestRegion == "oss-cn-hangzhou" && j.SrcPathStyle && j.DestPathStyle
			}},
		{[]string{"srcPrefix=", "destPrefix="}, func(j *Job) bool { return j.SrcPrefix == "" && j.DestPrefix == "" }},
		{[]string{"srcPrefix=-", "destPrefix=-"}, func(j *Job) bool { return j.SrcPrefix == "" && j.DestPrefix == "" }},
		{[]string{"destType=s3"}, func(j *Job) bool { return j.DestType == "s3" }},
		// Endpoints: with or without scheme, a port, a trailing "/", IPs.
		{[]string{"srcDomain=https://s3.amazonaws.com/"}, func(j *Job) bool { return j.SrcDomain == "https://s3.amazonaws.com/" }},
		{[]string{"srcDomain=HTTP://127.0.0.1:9000"}, func(j *Job) bool { return j.SrcDomain == "HTTP://127.0.0.1:9000" }},
		{[]string{"srcDomain=localhost:9000"}, func(j *Job) bool { return j.SrcDomain == "localhost:9000" }},
		{[]string{"srcDomain=http://[::1]:9000"}, func(j *Job) bool { return j.SrcDomain == "http://[::1]:9000" }},
		{[]string{"srcDomain=[::1]"}, func(j *Job) bool { return j.SrcDomain == "[::1]" }},
		// A host that is the bucket name alone (a container name) is fine,
		// as is a bucket that only starts the first label.
		{[]string{"destDomain=http://dest-bucket:9000"}, func(j *Job) bool { return j.DestDomain == "http://dest-bucket:9000" }},
		{[]string{"destDomain=dest-bucket-x.example.com"}, func(j *Job) bool { return true }},
		{[]string{"destDomain=127.0.0.1", "destBucket=127"}, func(j *Job) bool { return true }},
		// Every S3-protocol source type.
		{[]string{"srcType=oss", "srcDomain=oss-cn-beijing.aliyuncs.com"}, func(j *Job) bool { return j.SrcType == "oss" }},
		{[]string{"srcType=cos", "srcDomain=cos.ap-shanghai.myqcloud.com", "srcBucket=mybucket-1250000000"},
			func(j *Job) bool { return j.SrcType == "cos" }},
		{[]string{"srcType=cos", "srcDomain=http://localhost:9000"}, func(j *Job) bool { return j.SrcType == "cos" }},
		{[]string{"srcType=bos", "srcDomain=s3.bj.bcebos.com"}, func(j *Job) bool { return j.SrcType == "bos" }},
		{[]string{"srcType=ks3", "srcDomain=ks3-cn-beijing.ksyuncs.com"}, func(j *Job) bool { return j.SrcType == "ks3" }},
		{[]string{"srcType=qiniu", "srcDomain=s3-cn-east-1.qiniucs.com"}, func(j *Job) bool { return j.SrcType == "qiniu" }},
		// The same bucket at prefixes that do not overlap, or on another
		// endpoint, or only compared (audit).
		{[]string{"destType=s3", "destDomain=s3.us-east-1.amazonaws.com", "destBucket=src-bucket", "destPrefix=other/"},
			func(j *Job) bool { return true }},
		{[]string{"destType=s3", "destDomain=s3.eu-west-1.amazonaws.com", "destBucket=src-bucket", "destPrefix=docs/"},
			func(j *Job) bool { return true }},
		{[]string{"jobType=audit", "destType=s3", "destDomain=s3.us-east-1.amazonaws.com", "destBucket=src-bucket", "destPrefix=docs/"},
			func(j *Job) bool { return j.Type == "audit" }},
		// Bucket names at the limits.
		{[]string{"srcBucket=abc", "destBucket=" + strings.Repeat("b", 63)}, func(j *Job) bool { return len(j.DestBucket) == 63 }},
		{[]string{"srcBucket=a.b-c.1"}, func(j *Job) bool { return j.SrcBucket == "a.b-c.1" }},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(objText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if len(j.Warnings) != 0 {
			t.Errorf("%v: warnings %q", tc.edit, j.Warnings)
		}
		if !tc.check(j) {
			t.Errorf("%v: wrong value in %+v", tc.edit, j)
		}
	}
}

func TestParseJobObjectErrors(t *testing.T) {
	const f = "conf/job.cfg"
	tests := []struct {
		in   string
		want string // the whole error
	}{
		{objText(), ""}, // control: valid
		// Required keys, each named, with the line where it is set empty.
		{objText("srcDomain=-"), f + ": srcDomain: required with srcType=s3, not set (the endpoint, e.g. s3.us-east-1.amazonaws.com)"},
		{objText("srcDomain="), f + ":3: srcDomain: required with srcType=s3, not set (the endpoint, e.g. s3.us-east-1.amazonaws.com)"},
		{objText("srcType=cos", "srcDomain="), f + ":3: srcDomain: required with srcType=cos, not set (the endpoint, e.g. cos.ap-guangzhou.myqcloud.com)"},
		{objText("destDomain=-"), f + ": destDomain: required with destType=oss, not set (the endpoint, e.g. oss-cn-hangzhou.aliyuncs.com)"},
		{objText("srcBucket=-"), f + ": srcBucket: required with srcType=s3, not set"},
		{objText("destBucket="), f + ":9: destBucket: required with destType=oss, not set"},
		{objText("srcAccessKey=-"), f + ": srcAccessKey: required with srcType=s3, not set"},
		{objText("srcAccessKey=", "srcSecretKey="), f + ":5: srcAccessKey: required with srcType=s3, not set (nor is srcSecretKey)"},
		{objText("srcSecretKey=-"), f + ": srcSecretKey: required with srcType=s3, not set"},
		{objText("destAccessKey="), f + ":10: destAccessKey: required with destType=oss, not set"},
		{objText("destSecretKey="), f + ":11: destSecretKey: required with destType=oss, not set"},
		{objText("destType=s3", "destSecretKey=-"), f + ": destSecretKey: required with destType=s3, not set"},
		// Endpoints.
		{objText("srcDomain=ftp://s3.amazonaws.com"), f + `:3: srcDomain: "ftp://s3.amazonaws.com": scheme "ftp" is not http or https`},
		{objText("srcDomain=https://s3.amazonaws.com/src-bucket"),
			f + `:3: srcDomain: "https://s3.amazonaws.com/src-bucket" has a path ("/src-bucket"): give the endpoint alone, the bucket in srcBucket and a key prefix in srcPrefix`},
		{objText("destDomain=oss-cn-hangzhou.aliyuncs.com/dest-bucket/x"),
			f + `:8: destDomain: "oss-cn-hangzhou.aliyuncs.com/dest-bucket/x" has a path ("/dest-bucket/x"): give the endpoint alone, the bucket in destBucket and a key prefix in destPrefix`},
		{objText("srcDomain=http://"), f + `:3: srcDomain: "http://" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=s3 amazonaws.com"), f + `:3: srcDomain: "s3 amazonaws.com" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=http://user@host"), f + `:3: srcDomain: "http://user@host" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=host?x=1"), f + `:3: srcDomain: "host?x=1" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=::1"), f + `:3: srcDomain: "::1" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=[nohost]"), f + `:3: srcDomain: "[nohost]" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=:9000"), f + `:3: srcDomain: ":9000" is not an endpoint: want host[:port], optionally after http:// or https://`},
		{objText("srcDomain=host:99999"), f + `:3: srcDomain: "host:99999": port "99999" is not 1 to 65535`},
		{objText("srcDomain=host:http"), f + `:3: srcDomain: "host:http": port "http" is not 1 to 65535`},
		{objText("srcDomain=-host.example.com"), f + `:3: srcDomain: "-host.example.com" is not an endpoint: want host[:port], optionally after http:// or https://`},
		// The bucket in the endpoint: the classic mistake.
		{objText("destDomain=mybucket.oss-cn-hangzhou.aliyuncs.com", "destBucket=mybucket"),
			f + ":8: destDomain: includes the bucket name; use oss-cn-hangzhou.aliyuncs.com"},
		{objText("destDomain=http://MyBucket.oss-cn-hangzhou-internal.aliyuncs.com:80/", "destBucket=mybucket"),
			f + ":8: destDomain: includes the bucket name; use http://oss-cn-hangzhou-internal.aliyuncs.com:80"},
		{objText("srcDomain=https://my.bucket.s3.amazonaws.com", "srcBucket=my.bucket"),
			f + ":3: srcDomain: includes the bucket name; use https://s3.amazonaws.com"},
		{objText("srcType=qiniu", "srcDomain=http://mybucket.u.qiniudn.com", "srcBucket=mybucket"),
			f + ":3: srcDomain: includes the bucket name: it is the bucket's download domain, and ferry reads qiniu through its S3-compatible API; use the region's S3 endpoint, e.g. s3-cn-east-1.qiniucs.com"},
		{objText("srcType=qiniu", "srcDomain=mybucket.s3-cn-east-1.qiniucs.com", "srcBucket=mybucket"),
			f + ":3: srcDomain: includes the bucket name; use s3-cn-east-1.qiniucs.com"},
		// ossimport's cos template: a COS v4 region code, and a leading "/".
		{objText("srcType=cos", "srcDomain=sh"),
			f + `:3: srcDomain: "sh" looks like a COS v4 region code; ferry reads cos through its S3-compatible API: use its endpoint, e.g. cos.ap-guangzhou.myqcloud.com`},
		{objText("srcType=cos", "srcDomain=cos.ap-shanghai.myqcloud.com", "srcPrefix=/docs/"),
			f + `:7: srcPrefix: "/docs/" starts with "/", which object keys do not (use "docs/")`},
		// Bucket names.
		{objText("srcBucket=ab"), f + `:4: srcBucket: "ab" is 2 characters long (want 3 to 63)`},
		{objText("srcBucket=" + strings.Repeat("b", 64)), f + `:4: srcBucket: "` + strings.Repeat("b", 64) + `" is 64 characters long (want 3 to 63)`},
		{objText("srcBucket=src-bucket/docs"), f + `:4: srcBucket: "src-bucket/docs" has "/": give the bucket name alone and a key prefix in srcPrefix`},
		{objText("destBucket=/dest-bucket"), f + `:9: destBucket: "/dest-bucket" has "/": give the bucket name alone and a key prefix in destPrefix`},
		{objText("srcBucket=my bucket"), f + `:4: srcBucket: "my bucket" has " " (want a-z 0-9 . -)`},
		{objText("srcBucket=bücket"), f + `:4: srcBucket: "bücket" has "\xc3" (want a-z 0-9 . -)`},
		{objText("srcBucket=-bucket"), f + `:4: srcBucket: "-bucket" must start and end with a letter or digit`},
		{objText("srcBucket=bucket."), f + `:4: srcBucket: "bucket." must start and end with a letter or digit`},
		{objText("srcBucket=my..bucket"), f + `:4: srcBucket: "my..bucket" has ".." (not allowed in bucket names)`},
		{objText("srcBucket=my.-bucket"), f + `:4: srcBucket: "my.-bucket" has ".-" (not allowed in bucket names)`},
		{objText("srcBucket=192.168.1.10"), f + `:4: srcBucket: "192.168.1.10" is shaped like an IP address (not allowed in bucket names)`},
		// Key prefixes.
		{objText("srcPrefix=/docs/"), f + `:7: srcPrefix: "/docs/" starts with "/", which object keys do not (use "docs/")`},
		{objText("destPrefix=//"), f + `:12: destPrefix: "//" starts with "/", which object keys do not (use "")`},
		// Regions and path style.
		{objText("srcRegion=us east 1"), f + `:13: srcRegion: "us east 1" has " " (want a region name such as us-east-1)`},
		{objText("destRegion=cn/hangzhou"), f + `:13: destRegion: "cn/hangzhou" has "/" (want a region name such as us-east-1)`},
		{objText("destRegion=" + strings.Repeat("r", 65)), f + ":13: destRegion: 65 characters long (want at most 64)"},
		{objText("srcPathStyle=yes"), f + `:13: srcPathStyle: "yes" is not a boolean (want true or false)`},
		{objText("destPathStyle=1"), f + `:13: destPathStyle: "1" is not a boolean (want true or false)`},
		// The same bucket at overlapping prefixes.
		{objText("destType=s3", "destDomain=https://S3.us-east-1.amazonaws.com/", "destBucket=src-bucket", "destPrefix=docs/"),
			f + `:12: destPrefix: "docs/" is srcPrefix (line 7) in the same bucket; the copy would overwrite its source`},
		{objText("destType=s3", "destDomain=s3.us-east-1.amazonaws.com", "destBucket=src-bucket", "destPrefix=docs/copy/"),
			f + `:12: destPrefix: "docs/copy/" is inside srcPrefix "docs/" (line 7) in the same bucket; the copy would copy itself`},
		{objText("destType=s3", "destDomain=s3.us-east-1.amazonaws.com", "destBucket=src-bucket", "destPrefix="),
			f + `:12: destPrefix: "" contains srcPrefix "docs/" (line 7) in the same bucket; the copy could overwrite its source`},
		// Multipart sizes and threads.
		{objText("multipartUploadThreshold=512k"), f + `:13: multipartUploadThreshold: "512k" is less than 1M, the least threshold (as in ossimport)`},
		{objText("multipartUploadThreshold=0"), f + `:13: multipartUploadThreshold: "0" is less than 1M, the least threshold (as in ossimport)`},
		{objText("multipartUploadThreshold=5121m"), f + `:13: multipartUploadThreshold: "5121m" is more than 5G, the largest object S3 and OSS take in one PUT`},
		{objText("multipartUploadThreshold=150 m"), f + `:13: multipartUploadThreshold: "150 m" is not a size (want bytes, or a number with K, M, G or T)`},
		{objText("multipartUploadThreshold=-1m"), f + `:13: multipartUploadThreshold: "-1m" is not a size (want bytes, or a number with K, M, G or T)`},
		{objText("multipartUploadThreshold=99999999999T"), f + `:13: multipartUploadThreshold: "99999999999T" is out of range (want 0 to 4611686018427387904 bytes)`},
		{objText("multipartUploadPartSize=99k"), f + `:13: multipartUploadPartSize: "99k" is less than 100K, the least part size of OSS (S3's is 5M)`},
		{objText("multipartUploadPartSize=6g"), f + `:13: multipartUploadPartSize: "6g" is more than 5G, the largest part S3 and OSS take`},
		{objText("multipartUploadPartSize=50mb # parts"), f + `:13: multipartUploadPartSize: "50mb # parts" is not a size (want bytes, or a number with K, M, G or T) (a comment must be on a line of its own)`},
		{objText("uploadThreadNumPerLargeFile=0"), f + ":13: uploadThreadNumPerLargeFile: 0 is out of range (want 1 to 64)"},
		{objText("uploadThreadNumPerLargeFile=65"), f + ":13: uploadThreadNumPerLargeFile: 65 is out of range (want 1 to 64)"},
		// Verification.
		{objText("auditMode=full"), f + `:13: auditMode: "full" is not an audit mode (want simple, general or detailed)`},
		{objText("isAuditAfterImport=yes"), f + `:13: isAuditAfterImport: "yes" is not a boolean (want true or false)`},
		// srcType=http.
		{jobText("srcType=http"), f + ": httpListFilePath: required with srcType=http, not set"},
		{jobText("srcType=http", "httpListFilePath="), f + ":6: httpListFilePath: required with srcType=http, not set"},
		{jobText("srcType=http", "httpListFilePath=/l", "httpPrefixColumn=0"), f + ":7: httpPrefixColumn: 0 is out of range (want at least 1)"},
		{jobText("srcType=http", "httpListFilePath=/l", "relativePathColumn=x"), f + `:7: relativePathColumn: "x" is not an integer`},
		{jobText("srcType=http", "httpListFilePath=/l", "httpPrefixColumn=2"),
			f + ":7: httpPrefixColumn: 2 is also relativePathColumn (its default); the two columns must differ"},
		{jobText("srcType=http", "httpListFilePath=/l", "relativePathColumn=1"),
			f + ":7: relativePathColumn: 1 is also httpPrefixColumn (its default); the two columns must differ"},
		{jobText("srcType=http", "httpListFilePath=/l", "httpPrefixColumn=3", "relativePathColumn=3"),
			f + ":8: relativePathColumn: 3 is also httpPrefixColumn (line 7); the two columns must differ"},
		// The source is checked before the destination.
		{objText("srcBucket=-", "destBucket=-"), f + ": srcBucket: required with srcType=s3, not set"},
	}
	for _, tc := range tests {
		_, err := ParseJob(strings.NewReader(tc.in), f)
		got := ""
		if err != nil {
			got = err.Error()
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%T is not *Error", err)
			}
		}
		if got != tc.want {
			t.Errorf("input:\n%s\ngot  %q\nwant %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("error quotes a secret: %s", got)
		}
	}
}

func TestParseJobObjectWarnings(t *testing.T) {
	tests := []struct {
		edit []string
		want []string
	}{
		{nil, nil},
		// Keys for the http source are unused with s3, but quiet at the
		// values ossimport's templates ship.
		{[]string{"httpListFilePath=c:/example/http.list", "httpPrefixColumn=1", "relativePathColumn=2"}, nil},
		{[]string{"httpListFilePath=/srv/urls.txt"}, []string{"job.cfg:13: httpListFilePath: not used with srcType=s3; ignored"}},
		// Names that minio-go takes but S3's rules refuse.
		{[]string{"srcBucket=My_Bucket"}, []string{
			`job.cfg:4: srcBucket: "My_Bucket" has "M", outside S3's bucket naming rules (a-z 0-9 . -): only some servers accept it`}},
		{[]string{"destBucket=tenant:bucket"}, []string{
			`job.cfg:9: destBucket: "tenant:bucket" has ":", outside S3's bucket naming rules (a-z 0-9 . -): only some servers accept it`}},
		// Prefixes without a trailing slash.
		{[]string{"srcPrefix=docs", "destPrefix=backup"}, []string{
			`job.cfg:7: srcPrefix: "docs" does not end with "/": it selects every key starting with it, such as "docs-old/a.txt"; end it with / to copy one folder`,
			`job.cfg:12: destPrefix: "backup" does not end with "/": a file a.txt becomes the key "backupa.txt"; end it with / to write into a folder`}},
		// A local destination does not use the multipart keys.
		{[]string{"destType=local", "destPrefix=/data/out", "multipartUploadPartSize=8m"}, []string{
			"job.cfg:8: destDomain: not used with destType=local; ignored",
			"job.cfg:9: destBucket: not used with destType=local; ignored",
			"job.cfg:10: destAccessKey: not used with destType=local; ignored",
			"job.cfg:11: destSecretKey: not used with destType=local; ignored",
			"job.cfg:14: multipartUploadPartSize: not used with destType=local; ignored"}},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(objText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if !slices.Equal(j.Warnings, tc.want) {
			t.Errorf("%v: warnings\n%q\nwant\n%q", tc.edit, j.Warnings, tc.want)
		}
	}
}

// bucketNames are names around the edges of the bucket naming rules.
var bucketNames = []string{
	"abc", "ab", "a", "", strings.Repeat("a", 63), strings.Repeat("a", 64), "my-bucket", "my.bucket", "my_bucket",
	"MyBucket", "tenant:bucket", "-abc", "abc-", ".abc", "abc.", "_abc", "abc_", ":abc", "a..b", "a.-b", "a-.b",
	"a--b", "1.2.3.4", "1.2.3.4.5", "256.1.1.1", "1.2.3", "a/b", `a\b`, "a b", " abc", "abc ", "bücket", "a\x00b",
	"..", "...", "a.b.c", "123", "1-2", "x:y:z",
}

// TestBucketNamesAsMinio checks that checkBucket refuses exactly the bucket
// names minio-go, ferry's S3 client, refuses, and warns about exactly those
// S3's strict rules refuse besides.
func TestBucketNamesAsMinio(t *testing.T) {
	for _, name := range bucketNames {
		compareBucket(t, name)
	}
}

func FuzzBucketName(f *testing.F) {
	for _, name := range bucketNames {
		f.Add(name)
	}
	f.Fuzz(compareBucket)
}

func compareBucket(t *testing.T, name string) {
	if name == "" {
		return // refused as "required" before checkBucket
	}
	warning, err := checkBucket(name, "src")
	lax := s3utils.CheckValidBucketName(name)
	strict := s3utils.CheckValidBucketNameStrict(name)
	if (err == nil) != (lax == nil) {
		t.Fatalf("checkBucket(%q) = %v; minio-go says %v", name, err, lax)
	}
	if err == nil && (warning == "") != (strict == nil) {
		t.Fatalf("checkBucket(%q) warns %q; minio-go's strict check says %v", name, warning, strict)
	}
	for _, m := range []string{warning, errString(err)} {
		if strings.ContainsAny(m, "\n\r") {
			t.Fatalf("multi-line message: %q", m)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestResolveHTTPList(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix paths")
	}
	parse := func(edits ...string) *Job {
		t.Helper()
		j, err := ParseJob(strings.NewReader(jobText(append([]string{"srcType=http", "srcPrefix=-"}, edits...)...)), "job.cfg")
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := parse("httpListFilePath=lists/../urls.txt")
	if err := j.Resolve("/opt/ferry"); err != nil || j.HTTPListFilePath != "/opt/ferry/urls.txt" {
		t.Errorf("relative: %v, %q", err, j.HTTPListFilePath)
	}
	if err := j.Resolve("/elsewhere"); err != nil || j.HTTPListFilePath != "/opt/ferry/urls.txt" {
		t.Errorf("second Resolve: %v, %q", err, j.HTTPListFilePath)
	}
	home, err := os.UserHomeDir()
	if err == nil {
		j = parse("httpListFilePath=~/urls.txt")
		if err := j.Resolve("/opt/ferry"); err != nil || j.HTTPListFilePath != filepath.Join(home, "urls.txt") {
			t.Errorf("~: %v, %q", err, j.HTTPListFilePath)
		}
	}
	// ossimport's template path, and a file that does not exist: only
	// the first is Resolve's business.
	j = parse("httpListFilePath=c:/example/http.list")
	if err := j.Resolve("/opt/ferry"); err == nil ||
		err.Error() != `job.cfg:5: httpListFilePath: "c:/example/http.list" is a Windows path; give a path on this `+runtime.GOOS+` host` {
		t.Errorf("Windows path: %v", err)
	}
	j = parse("httpListFilePath=/nonexistent/urls.txt")
	if err := j.Resolve("/opt/ferry"); err != nil || j.HTTPListFilePath != "/nonexistent/urls.txt" {
		t.Errorf("absolute: %v, %q", err, j.HTTPListFilePath)
	}
	// With another source type the list file is not touched.
	j, err = ParseJob(strings.NewReader(objText("httpListFilePath=c:/example/http.list")), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Resolve("/opt/ferry"); err != nil || j.HTTPListFilePath != "c:/example/http.list" {
		t.Errorf("s3 source: %v, %q", err, j.HTTPListFilePath)
	}
}

func TestIsObjectStore(t *testing.T) {
	for _, typ := range knownSrcTypes {
		want := typ != "local" && typ != "http" && typ != "youpai" && typ != "azure" && typ != "kafka" && typ != "zk" && !IsTableType(typ)
		if IsObjectStore(typ) != want {
			t.Errorf("IsObjectStore(%q) = %v", typ, !want)
		}
		if want && exampleEndpoint[typ] == "" {
			t.Errorf("no example endpoint for %s", typ)
		}
	}
	if IsObjectStore("") || IsObjectStore("S3") {
		t.Error("IsObjectStore of an empty or miscased type")
	}
}
