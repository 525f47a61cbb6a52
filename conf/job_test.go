package conf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// jobBase is a minimal valid job; jobText edits it.
var jobBase = [][2]string{
	{"jobName", "t1"},           // line 1
	{"srcType", "local"},        // line 2
	{"srcPrefix", "/data/src"},  // line 3
	{"destType", "local"},       // line 4
	{"destPrefix", "/data/dst"}, // line 5
}

// objBase is a minimal valid job from an object store (s3) to the default
// destination (oss); objText edits it.
var objBase = [][2]string{
	{"jobName", "t1"}, // line 1
	{"srcType", "s3"}, // line 2
	{"srcDomain", "s3.us-east-1.amazonaws.com"},           // line 3
	{"srcBucket", "src-bucket"},                           // line 4
	{"srcAccessKey", "AKIDSRC"},                           // line 5
	{"srcSecretKey", "srcs3cret"},                         // line 6
	{"srcPrefix", "docs/"},                                // line 7
	{"destDomain", "http://oss-cn-hangzhou.aliyuncs.com"}, // line 8
	{"destBucket", "dest-bucket"},                         // line 9
	{"destAccessKey", "AKIDDEST"},                         // line 10
	{"destSecretKey", "dests3cret"},                       // line 11
	{"destPrefix", "backup/"},                             // line 12
}

// jobText returns jobBase with the given key=value edits: a key of the base
// is replaced in place ("-" as value deletes the line), any other is appended.
func jobText(edits ...string) string { return editText(jobBase, edits) }

// objText is jobText for objBase.
func objText(edits ...string) string { return editText(objBase, edits) }

func editText(base [][2]string, edits []string) string {
	var b strings.Builder
	done := map[string]bool{}
	for _, kv := range base {
		v := kv[1]
		for _, e := range edits {
			if k, nv, _ := strings.Cut(e, "="); k == kv[0] {
				v, done[e] = nv, true
			}
		}
		if v != "-" {
			b.WriteString(kv[0] + "=" + v + "\n")
		}
	}
	for _, e := range edits {
		if !done[e] {
			b.WriteString(e + "\n")
		}
	}
	return b.String()
}

func TestParseJobDefaults(t *testing.T) {
	j, err := ParseJob(strings.NewReader(jobText()), "conf/job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	want := &Job{
		File: "conf/job.cfg", Name: "t1", Type: "import",
		SrcType: "local", SrcPrefix: "/data/src", DestType: "local", DestPrefix: "/data/dst",
		IncrementalModeInterval: 86400 * time.Second,
		TaskObjectCountLimit:    10000, TaskObjectSizeLimit: 1000000000,
		ScanThreadCount: 1, MaxMultiThreadScanDepth: 1,
		HTTPPrefixColumn: 1, RelativePathColumn: 2,
		MultipartUploadThreshold: 150 << 20, MultipartUploadPartSize: 50 << 20, UploadThreadNumPerLargeFile: 3,
		IsAuditAfterImport: true, AuditMode: "general",
		MaxDelete: 1000, PreserveMetadata: true,
	}
	want.props = j.props
	if !jobEqual(j, want) {
		t.Errorf("got  %+v\nwant %+v", j, want)
	}
	if v, line, ok := j.Get("srcPrefix"); v != "/data/src" || line != 3 || !ok {
		t.Errorf("Get(srcPrefix) = %q, %d, %v", v, line, ok)
	}
	if _, _, ok := j.Get("srcBucket"); ok {
		t.Error("Get(srcBucket) found an unset key")
	}
}

func jobEqual(a, b *Job) bool {
	return a.File == b.File && a.Name == b.Name && a.Type == b.Type &&
		a.SrcType == b.SrcType && a.SrcPrefix == b.SrcPrefix && a.SrcDomain == b.SrcDomain &&
		a.SrcBucket == b.SrcBucket && a.SrcAccessKey == b.SrcAccessKey && a.SrcSecretKey == b.SrcSecretKey &&
		a.DestType == b.DestType && a.DestPrefix == b.DestPrefix && a.DestDomain == b.DestDomain &&
		a.DestBucket == b.DestBucket && a.DestAccessKey == b.DestAccessKey && a.DestSecretKey == b.DestSecretKey &&
		a.IsIncremental == b.IsIncremental && a.IncrementalModeInterval == b.IncrementalModeInterval &&
		a.ImportSince == b.ImportSince && a.IsSkipExistFile == b.IsSkipExistFile &&
		a.IsAllowSymbolicLink == b.IsAllowSymbolicLink && a.TaskObjectCountLimit == b.TaskObjectCountLimit &&
		a.TaskObjectSizeLimit == b.TaskObjectSizeLimit && a.ScanThreadCount == b.ScanThreadCount &&
		a.MaxMultiThreadScanDepth == b.MaxMultiThreadScanDepth && slices.Equal(a.Warnings, b.Warnings) &&
		a.SrcRegion == b.SrcRegion && a.DestRegion == b.DestRegion &&
		a.SrcPathStyle == b.SrcPathStyle && a.DestPathStyle == b.DestPathStyle &&
		a.HTTPListFilePath == b.HTTPListFilePath && a.HTTPPrefixColumn == b.HTTPPrefixColumn &&
		a.RelativePathColumn == b.RelativePathColumn && a.MultipartUploadThreshold == b.MultipartUploadThreshold &&
		a.MultipartUploadPartSize == b.MultipartUploadPartSize && a.UploadThreadNumPerLargeFile == b.UploadThreadNumPerLargeFile &&
		a.IsAuditAfterImport == b.IsAuditAfterImport && a.AuditMode == b.AuditMode &&
		a.UpdateMode == b.UpdateMode && a.Mirror == b.Mirror && a.MaxDelete == b.MaxDelete &&
		a.PreserveMetadata == b.PreserveMetadata && a.MaxThroughput == b.MaxThroughput &&
		a.MaxRequestsPerSecond == b.MaxRequestsPerSecond &&
		a.ThroughputSchedule.String() == b.ThroughputSchedule.String() &&
		a.ThroughputSchedule.Default == b.ThroughputSchedule.Default &&
		patternsText(a.Filter.Include) == patternsText(b.Filter.Include) &&
		patternsText(a.Filter.Exclude) == patternsText(b.Filter.Exclude) &&
		a.Filter.MinSize == b.Filter.MinSize && a.Filter.MaxSize == b.Filter.MaxSize &&
		a.Filter.ModifiedAfter.Equal(b.Filter.ModifiedAfter) && a.Filter.ModifiedBefore.Equal(b.Filter.ModifiedBefore)
}

func TestParseJobValues(t *testing.T) {
	tests := []struct {
		edit  []string
		check func(*Job) bool
	}{
		{[]string{"taskObjectCountLimit=1"}, func(j *Job) bool { return j.TaskObjectCountLimit == 1 }},
		{[]string{"taskObjectSizeLimit=4096"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 4096 }},
		{[]string{"taskObjectSizeLimit=2G"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 2<<30 }},
		{[]string{"taskObjectSizeLimit=512k"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 512<<10 }},
		{[]string{"taskObjectSizeLimit=3MiB"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 3<<20 }},
		{[]string{"taskObjectSizeLimit=1TB"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 1<<40 }},
		{[]string{"taskObjectSizeLimit=100B"}, func(j *Job) bool { return j.TaskObjectSizeLimit == 100 }},
		{[]string{"taskObjectSizeLimit="}, func(j *Job) bool { return j.TaskObjectSizeLimit == 1000000000 }},
		{[]string{"isSkipExistFile=TRUE"}, func(j *Job) bool { return j.IsSkipExistFile }},
		{[]string{"isAllowSymbolicLink=True"}, func(j *Job) bool { return j.IsAllowSymbolicLink }},
		{[]string{"scanThreadCount=32", "maxMultiThreadScanDepth=16"},
			func(j *Job) bool { return j.ScanThreadCount == 32 && j.MaxMultiThreadScanDepth == 16 }},
		{[]string{"jobType="}, func(j *Job) bool { return j.Type == "import" }},
		{[]string{"jobName=a"}, func(j *Job) bool { return j.Name == "a" }},
		{[]string{"jobName=" + strings.Repeat("x", 128)}, func(j *Job) bool { return len(j.Name) == 128 }},
		{[]string{"jobName=v1.2_final-3"}, func(j *Job) bool { return j.Name == "v1.2_final-3" }},
		{[]string{"srcPrefix=C:\\data\\"}, func(j *Job) bool { return j.SrcPrefix == `C:\data\` }},
		{[]string{"importSince=1700000000"}, func(j *Job) bool { return j.ImportSince == 1700000000 }},
		{[]string{"incrementalModeInterval=900"}, func(j *Job) bool { return j.IncrementalModeInterval == 15*time.Minute }},
		{[]string{"jobType=audit"}, func(j *Job) bool { return j.Type == "audit" }},
		{[]string{"scanThreadCount=10000"}, func(j *Job) bool { return j.ScanThreadCount == 32 }},
		{[]string{"scanThreadCount=33"}, func(j *Job) bool { return j.ScanThreadCount == 32 }},
		{[]string{"auditMode=DETAILED", "isAuditAfterImport=false"},
			func(j *Job) bool { return j.AuditMode == "detailed" && !j.IsAuditAfterImport }},
		{[]string{"auditMode=simple"}, func(j *Job) bool { return j.AuditMode == "simple" }},
		{[]string{"auditMode="}, func(j *Job) bool { return j.AuditMode == "general" && j.IsAuditAfterImport }},
		{[]string{"multipartUploadThreshold=1m", "multipartUploadPartSize=100k", "uploadThreadNumPerLargeFile=64"},
			func(j *Job) bool {
				return j.MultipartUploadThreshold == 1<<20 && j.MultipartUploadPartSize == 100<<10 && j.UploadThreadNumPerLargeFile == 64
			}},
		{[]string{"multipartUploadThreshold=5G", "multipartUploadPartSize=5g", "uploadThreadNumPerLargeFile=1"},
			func(j *Job) bool {
				return j.MultipartUploadThreshold == 5<<30 && j.MultipartUploadPartSize == 5<<30 && j.UploadThreadNumPerLargeFile == 1
			}},
		{[]string{"multipartUploadThreshold=157286400", "multipartUploadPartSize=2MiB"},
			func(j *Job) bool { return j.MultipartUploadThreshold == 150<<20 && j.MultipartUploadPartSize == 2<<20 }},
		// A threshold below the part size is allowed, as in ossimport.
		{[]string{"multipartUploadThreshold=1m", "multipartUploadPartSize=1g"},
			func(j *Job) bool { return j.MultipartUploadThreshold == 1<<20 && j.MultipartUploadPartSize == 1<<30 }},
		{[]string{"srcType=http", "srcPrefix=-", "httpListFilePath=lists/urls.txt", "httpPrefixColumn=2", "relativePathColumn=1"},
			func(j *Job) bool {
				return j.SrcType == "http" && j.HTTPListFilePath == "lists/urls.txt" && j.HTTPPrefixColumn == 2 && j.RelativePathColumn == 1
			}},
		{[]string{"srcType=http", "srcPrefix=-", "httpListFilePath=/l", "httpPrefixColumn=3"},
			func(j *Job) bool {
				return j.HTTPPrefixColumn == 3 && j.RelativePathColumn == 2 && !j.HTTPFollowRedirects
			}},
		{[]string{"srcType=http", "srcPrefix=-", "httpListFilePath=/l", "httpFollowRedirects=true"},
			func(j *Job) bool { return j.HTTPFollowRedirects && j.Spec().HTTPList.FollowRedirects }},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(jobText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if !tc.check(j) {
			t.Errorf("%v: wrong value in %+v", tc.edit, j)
		}
	}
}

func TestParseJobErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // the whole error
	}{
		{jobText("srcPrefx=/x"), "conf/job.cfg:6: srcPrefx: unknown key (did you mean srcPrefix?)"},
		{jobText("SRCPREFIX=/x"), "conf/job.cfg:6: SRCPREFIX: unknown key (did you mean srcPrefix?)"},
		{jobText("workerTaskThreadNum=4"), "conf/job.cfg:6: workerTaskThreadNum: belongs in sys.properties, not job.cfg"},
		{jobText("workerTaskThreadNm=4"), "conf/job.cfg:6: workerTaskThreadNm: unknown key (did you mean workerTaskThreadNum? it belongs in sys.properties)"},
		{jobText("src prefix=/x"), `conf/job.cfg:6: "src prefix": unknown key (did you mean srcPrefix?)`},
		{jobText("jobName=-"), "conf/job.cfg: jobName: required, not set"},
		{jobText("jobName="), "conf/job.cfg:1: jobName: required, not set"},
		{jobText("jobName=my job"), `conf/job.cfg:1: jobName: "my job" has " " (want only A-Z a-z 0-9 . _ -)`},
		{jobText("jobName=.."), `conf/job.cfg:1: jobName: ".." starts with "." (want a letter, digit or _)`},
		{jobText("jobName=-rf"), `conf/job.cfg:1: jobName: "-rf" starts with "-" (want a letter, digit or _)`},
		{jobText("jobName=a/b"), `conf/job.cfg:1: jobName: "a/b" has "/" (want only A-Z a-z 0-9 . _ -)`},
		{jobText("jobName=" + strings.Repeat("x", 129)), "conf/job.cfg:1: jobName: 129 characters long (want at most 128)"},
		{jobText("jobType=copy"), `conf/job.cfg:6: jobType: "copy" is not a known jobType (known: import, audit; supported: import, audit)`},
		{jobText("jobType=Audit"), `conf/job.cfg:6: jobType: "Audit" is not a known jobType; values are case-sensitive (did you mean "audit"?)`},
		{jobText("srcType=-"), "conf/job.cfg: srcType: required, not set (supported: local, s3, oss, cos, bos, ks3, qiniu, http, azure, youpai, kafka, zk, mysql, postgres)"},
		{jobText("srcType=youpai"), `conf/job.cfg: srcBucket: required with srcType=youpai (the service name), not set`},
		{jobText("srcType=azure"), `conf/job.cfg: srcBucket: required with srcType=azure (the container), not set`},
		{jobText("srcType=azure", "srcBucket=My_Container", "srcAccessKey=acct", "srcSecretKey=a2V5"),
			`conf/job.cfg:6: srcBucket: "My_Container" has "M" (an Azure container name has a-z 0-9 -)`},
		{jobText("srcType=azure", "srcBucket=box", "srcSecretKey=a2V5"),
			`conf/job.cfg: srcAccessKey: required with srcType=azure (the storage account name), not set`},
		{jobText("srcType=youpai", "srcBucket=svc", "srcAccessKey=op"),
			`conf/job.cfg: srcSecretKey: required with srcType=youpai (the operator's password), not set`},
		{jobText("srcType=youpai", "srcBucket=svc", "srcAccessKey=op", "srcSecretKey=pw", "srcPrefix=/docs/"),
			`conf/job.cfg:3: srcPrefix: "/docs/" starts with "/", which object keys do not (use "docs/")`},
		{jobText("destType=azure"), `conf/job.cfg: destBucket: required with destType=azure (the container), not set`},
		{jobText("srcType=Local"), `conf/job.cfg:2: srcType: "Local" is not a known srcType; values are case-sensitive (did you mean "local"?)`},
		{jobText("srcType=ftp"), `conf/job.cfg:2: srcType: "ftp" is not a known srcType (known: local, oss, qiniu, bos, ks3, s3, youpai, http, cos, azure, kafka, zk, mysql, postgres; supported: local, s3, oss, cos, bos, ks3, qiniu, http, azure, youpai, kafka, zk, mysql, postgres)`},
		{jobText("destType=cos"), `conf/job.cfg:4: destType: "cos" is not a known destType (known: local, oss, s3, azure, kafka, zk, mysql, postgres; supported: local, oss, s3, azure, kafka, zk, mysql, postgres)`},
		{jobText("destType=OSS"), `conf/job.cfg:4: destType: "OSS" is not a known destType; values are case-sensitive (did you mean "oss"?)`},
		{jobText("destType=oss"), "conf/job.cfg: destDomain: required with destType=oss, not set (the endpoint, e.g. oss-cn-hangzhou.aliyuncs.com)"},
		{jobText("destType=s3"), "conf/job.cfg: destDomain: required with destType=s3, not set (the endpoint, e.g. s3.us-east-1.amazonaws.com)"},
		// No destType means oss, as in ossimport.
		{jobText("destType=-"), "conf/job.cfg: destDomain: required with destType=oss, not set (the endpoint, e.g. oss-cn-hangzhou.aliyuncs.com)"},
		{jobText("destType=", "destDomain="), "conf/job.cfg:6: destDomain: required with destType=oss, not set (the endpoint, e.g. oss-cn-hangzhou.aliyuncs.com)"},
		{jobText("srcPrefix=-"), "conf/job.cfg: srcPrefix: required, not set"},
		{jobText("destPrefix="), "conf/job.cfg:5: destPrefix: required, not set"},
		{jobText("taskObjectCountLimit=0"), "conf/job.cfg:6: taskObjectCountLimit: 0 is out of range (want 1 to 1000000)"},
		{jobText("taskObjectCountLimit=-5"), "conf/job.cfg:6: taskObjectCountLimit: -5 is out of range (want 1 to 1000000)"},
		{jobText("taskObjectCountLimit=ten"), `conf/job.cfg:6: taskObjectCountLimit: "ten" is not an integer`},
		{jobText("taskObjectCountLimit=10 # files"), `conf/job.cfg:6: taskObjectCountLimit: "10 # files" is not an integer (a comment must be on a line of its own)`},
		{jobText("taskObjectCountLimit=99999999999999999999"), `conf/job.cfg:6: taskObjectCountLimit: "99999999999999999999" is out of range (want 1 to 1000000)`},
		{jobText("taskObjectSizeLimit=0"), `conf/job.cfg:6: taskObjectSizeLimit: "0" is out of range (want at least 1 bytes)`},
		{jobText("taskObjectSizeLimit=1.5G"), `conf/job.cfg:6: taskObjectSizeLimit: "1.5G" is not a size (want bytes, or a number with K, M, G or T)`},
		{jobText("taskObjectSizeLimit=GiB"), `conf/job.cfg:6: taskObjectSizeLimit: "GiB" is not a size (want bytes, or a number with K, M, G or T)`},
		{jobText("taskObjectSizeLimit=5iB"), `conf/job.cfg:6: taskObjectSizeLimit: "5iB" is not a size (want bytes, or a number with K, M, G or T)`},
		{jobText("taskObjectSizeLimit=-1"), `conf/job.cfg:6: taskObjectSizeLimit: "-1" is not a size (want bytes, or a number with K, M, G or T)`},
		{jobText("taskObjectSizeLimit=9000000T"), `conf/job.cfg:6: taskObjectSizeLimit: "9000000T" is out of range (want at least 1 bytes)`},
		{jobText("isSkipExistFile=yes"), `conf/job.cfg:6: isSkipExistFile: "yes" is not a boolean (want true or false)`},
		{jobText("scanThreadCount=0"), "conf/job.cfg:6: scanThreadCount: 0 is out of range (want at least 1)"},
		{jobText("maxMultiThreadScanDepth=0"), "conf/job.cfg:6: maxMultiThreadScanDepth: 0 is out of range (want 1 to 16)"},
		{jobText("incrementalModeInterval=60"), "conf/job.cfg:6: incrementalModeInterval: 60 is below ossimport's minimum of 900 seconds (incrementalMinInterval in sys.properties lowers it, for tests)"},
		{jobText("importSince=-1"), "conf/job.cfg:6: importSince: -1 is out of range (want at least 0)"},
		{jobText("jobName=t2"), ""}, // control: valid
		// The first error wins, by line.
		{jobText("srcType=Local", "bogus=1"), `conf/job.cfg:2: srcType: "Local" is not a known srcType; values are case-sensitive (did you mean "local"?)`},
		{"bogus=1\n" + jobText("srcType=Local"), "conf/job.cfg:1: bogus: unknown key (did you mean topics?)"},
		{jobText() + "srcPrefix=/b\n", "conf/job.cfg:6: srcPrefix: set twice (first on line 3); keep one"},
		{"jobName\n" + jobText(), `conf/job.cfg:1: expected key=value, found no "="`},
	}
	for _, tc := range tests {
		_, err := ParseJob(strings.NewReader(tc.in), "conf/job.cfg")
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
	}
}

func TestParseJobWarnings(t *testing.T) {
	tests := []struct {
		edit []string
		want []string
	}{
		{nil, nil},
		// Unimplemented keys at ossimport's defaults (or shipped values) are quiet.
		{[]string{"isIncremental=false", "incrementalModeInterval=86400", "importSince=0", "appId=0",
			"httpListFilePath=c:/example/http.list", "auditMode=General", "isAuditAfterImport=true",
			"multipartUploadThreshold=150m", "expressTunnelAuthToken=", "srcBucket="}, nil},
		// Implemented now: no warning.
		{[]string{"isIncremental=true", "incrementalModeInterval=900", "importSince=1700000000"}, nil},
		{[]string{"auditMode=detailed", "isAuditAfterImport=false"}, nil},
		{[]string{"scanThreadCount=10000"}, nil},
		{[]string{"scanThreadCount=8", "maxMultiThreadScanDepth=2"}, nil},
		{[]string{"scanThreadCount=33"}, []string{"job.cfg:6: scanThreadCount: 33 is more scan threads than ferry runs; using 32"}},
		{[]string{"appId=1250000000"}, []string{"job.cfg:6: appId: ferry reads cos through its S3-compatible API, where the bucket name ends in the app ID (srcBucket=mybucket-1250000000); ignored"}},
		// Object-store keys with a local side are unused; secrets are not quoted.
		{[]string{"destSecretKey=hunter2", "srcBucket=b"}, []string{
			"job.cfg:6: destSecretKey: not used with destType=local; ignored",
			"job.cfg:7: srcBucket: not used with srcType=local; ignored"}},
		{[]string{"expressTunnelAuthToken=tok3n"}, []string{"job.cfg:6: expressTunnelAuthToken: accepted but not implemented by ferry yet; ignored"}},
		// Keys of other types than the job's, at their defaults (or values
		// ossimport's templates ship), are quiet; other values are ignored.
		{[]string{"srcRegion=", "srcPathStyle=false", "destRegion=", "destPathStyle=FALSE", "httpListFilePath=d:/work/oss/http.list",
			"httpPrefixColumn=1", "relativePathColumn=2", "multipartUploadThreshold=150M", "multipartUploadPartSize=50m",
			"uploadThreadNumPerLargeFile=3"}, nil},
		{[]string{"srcRegion=us-east-1", "srcPathStyle=true", "destRegion=oss-cn-hangzhou", "destPathStyle=true"}, []string{
			"job.cfg:6: srcRegion: not used with srcType=local; ignored",
			"job.cfg:7: srcPathStyle: not used with srcType=local; ignored",
			"job.cfg:8: destRegion: not used with destType=local; ignored",
			"job.cfg:9: destPathStyle: not used with destType=local; ignored"}},
		{[]string{"httpListFilePath=/srv/urls.txt", "httpPrefixColumn=3"}, []string{
			"job.cfg:6: httpListFilePath: not used with srcType=local; ignored",
			"job.cfg:7: httpPrefixColumn: not used with srcType=local; ignored"}},
		{[]string{"multipartUploadThreshold=10m", "multipartUploadPartSize=5m", "uploadThreadNumPerLargeFile=8"}, []string{
			"job.cfg:6: multipartUploadThreshold: not used with destType=local; ignored",
			"job.cfg:7: multipartUploadPartSize: not used with destType=local; ignored",
			"job.cfg:8: uploadThreadNumPerLargeFile: not used with destType=local; ignored"}},
		// Only a local source is listed on several threads.
		{[]string{"srcType=http", "httpListFilePath=/srv/urls.txt", "scanThreadCount=8", "maxMultiThreadScanDepth=2"}, []string{
			"job.cfg:3: srcPrefix: not used with srcType=http; ignored",
			"job.cfg:7: scanThreadCount: not used with srcType=http; ignored",
			"job.cfg:8: maxMultiThreadScanDepth: not used with srcType=http; ignored"}},
		// srcType=http uses neither a prefix nor the object-store keys.
		{[]string{"srcType=http", "httpListFilePath=/srv/urls.txt", "srcBucket=b", "srcPathStyle=true"}, []string{
			"job.cfg:3: srcPrefix: not used with srcType=http; ignored",
			"job.cfg:7: srcBucket: not used with srcType=http; ignored",
			"job.cfg:8: srcPathStyle: not used with srcType=http; ignored"}},
	}
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(jobText(tc.edit...)), "job.cfg")
		if err != nil {
			t.Errorf("%v: %v", tc.edit, err)
			continue
		}
		if !slices.Equal(j.Warnings, tc.want) {
			t.Errorf("%v: warnings\n%q\nwant\n%q", tc.edit, j.Warnings, tc.want)
		}
	}
}

func TestParseJobSecrets(t *testing.T) {
	j, err := ParseJob(strings.NewReader(jobText("destSecretKey=hunter2", "srcSecretKey=s3cr3t")), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if j.DestSecretKey.Reveal() != "hunter2" || j.SrcSecretKey.Reveal() != "s3cr3t" {
		t.Errorf("secrets not kept: %q %q", j.DestSecretKey.Reveal(), j.SrcSecretKey.Reveal())
	}
	for _, w := range j.Warnings {
		if strings.Contains(w, "hunter2") || strings.Contains(w, "s3cr3t") {
			t.Errorf("warning leaks a secret: %s", w)
		}
	}
}

func TestLoadJob(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadJob(filepath.Join(dir, "none.cfg"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), filepath.Join(dir, "none.cfg")+": cannot read: open ") {
		t.Errorf("missing file: %v", err)
	}
	// A directory opens but does not read.
	if _, err := LoadJob(dir); err == nil || !strings.Contains(err.Error(), ": cannot read: ") {
		t.Errorf("directory: %v", err)
	}
	p := filepath.Join(dir, "job.cfg")
	if err := os.WriteFile(p, []byte(jobText()), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := LoadJob(p)
	if err != nil || j.File != p || j.Name != "t1" {
		t.Fatalf("LoadJob = %+v, %v", j, err)
	}
	if os.Geteuid() != 0 { // root reads anything
		os.Chmod(p, 0)
		_, err := LoadJob(p)
		if !errors.Is(err, fs.ErrPermission) || err.Error() != p+": cannot read: open "+p+": permission denied" {
			t.Errorf("unreadable file: %v", err)
		}
	}
}

func TestLoadJobBOMCRLF(t *testing.T) {
	j, err := LoadJob("testdata/bom_crlf_job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if j.Name != "bom_crlf" || j.SrcPrefix != "/srv/in/" || j.DestPrefix != "/srv/out/" || len(j.Warnings) != 0 {
		t.Errorf("got %+v", j)
	}
	if _, line, _ := j.Get("destPrefix"); line != 7 {
		t.Errorf("destPrefix on line %d, want 7", line)
	}
}
