package conf

import (
	"strings"
	"testing"
)

// TestOssimportAzureAndYoupai: ossimport's job.cfg templates for an Azure
// Blob and an Upyun source (conf/blob/job.cfg, conf/youpai/job.cfg) with an
// OSS destination, changed only in endpoints and keys, parse and resolve
// with no error and no warning, the keys keeping ossimport's meanings.
func TestOssimportAzureAndYoupai(t *testing.T) {
	for _, c := range []struct {
		file                               string
		typ, domain, bucket, access, count string
		threshold, part                    int64
	}{
		{"testdata/ossimport-azure-to-oss.cfg", "azure", "core.chinacloudapi.cn", "mycontainer", "myaccount", "10000", 50 << 20, 150 << 20},
		{"testdata/ossimport-youpai-to-oss.cfg", "youpai", "http://v0.api.upyun.com", "mybucket", "myoperator", "1", 150 << 20, 50 << 20},
	} {
		j, err := LoadJob(c.file)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if len(j.Warnings) != 0 {
			t.Errorf("%s: warnings: %q", c.file, j.Warnings)
		}
		if err := j.Resolve("/opt/ferry"); err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		s := j.Spec()
		if s.Src.Type != c.typ || s.Src.Domain != c.domain || s.Src.Bucket != c.bucket || s.Src.AccessKey != c.access ||
			s.Src.SecretKey.Reveal() == "" || s.Src.Prefix != "docs/" || s.Dest.Type != "oss" ||
			j.MultipartUploadThreshold != c.threshold || j.MultipartUploadPartSize != c.part ||
			!j.IsAuditAfterImport || j.TaskObjectCountLimit != map[string]int{"10000": 10000, "1": 1}[c.count] {
			t.Errorf("%s: got %+v", c.file, j)
		}
	}
}

// TestRemoteKeysUsed: the *Domain, *Bucket and key keys are used with
// azure and youpai, the S3 ones (*Region, *PathStyle) are not, and say so.
func TestRemoteKeysUsed(t *testing.T) {
	j, err := ParseJob(strings.NewReader(jobText("srcType=youpai", "srcBucket=svc", "srcAccessKey=op", "srcSecretKey=pw",
		"srcDomain=v1.api.upyun.com", "srcRegion=us-east-1", "srcPrefix=docs/")), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 1 || !strings.Contains(j.Warnings[0], "srcRegion: not used with srcType=youpai") {
		t.Errorf("warnings = %q, want one about srcRegion", j.Warnings)
	}
}
