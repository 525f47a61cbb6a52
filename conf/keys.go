package conf

import "strings"

// fileKind names which of the two key=value files a key belongs to.
type fileKind uint8

const (
	jobFile fileKind = 1 + iota
	sysFile
)

func (k fileKind) String() string {
	if k == jobFile {
		return "job.cfg"
	}
	return "sys.properties"
}

// keyInfo describes one key that ossimport or ferry knows.
type keyInfo struct {
	name  string
	file  fileKind
	ferry bool // ferry's own key, unknown to ossimport
	// impl: ferry acts on the key now. A key with impl false is accepted,
	// kept (Job.Get, Sys.Get) and warned about when set to a value that is
	// not empty, not def and not in quiet.
	impl  bool
	def   string   // the value absence means, as written in a file
	quiet []string // other values ossimport's shipped templates carry
	// note replaces the generic warning for an unimplemented key.
	note string
	// remote names the type key ("srcType", "destType") whose value
	// decides whether this key is used: by the remote store types (the
	// S3-protocol ones s3, oss, cos, bos, ks3, qiniu, and azure and
	// youpai), by the S3-protocol ones alone when s3Only, or by the one
	// type remoteType names.
	// With any other type the key is unused, and a value that is not its
	// default (or quiet) is warned about as ignored.
	remote     string
	remoteType string
	s3Only     bool
	// splits: used with the destination types part tasks write
	// (splitsInto), rather than the remote ones.
	splits bool
	// kafka: the key is also used when its type key is kafka (the
	// endpoint's broker list and SASL user and password).
	kafka bool
	// table: the key is also used when its type key is mysql or postgres
	// (the server's address, the database, the user and password).
	table  bool
	secret bool   // never quoted in a message
	alias  string // the key this one is another spelling of
}

// notImplemented is the generic warning for an accepted, unimplemented key.
const notImplemented = "accepted but not implemented by ferry yet; ignored"

// keyTable lists every key of ossimport 2.x's job.cfg (the same keys as the
// standalone edition's local_job.cfg) and sys.properties, as found in the
// templates of aliyun/ossimport (conf/*/job.cfg) and the standalone 2.3.x
// package, and in Alibaba Cloud's "Architectures and configurations" page;
// then ferry's own keys. Defaults are ossimport's where it has one.
//
// To implement a key, set impl and give Job or Sys a field and a setter.
var keyTable = []keyInfo{
	// job.cfg: the job.
	{name: "jobName", file: jobFile, impl: true},
	{name: "jobType", file: jobFile, impl: true, def: "import"},
	{name: "isIncremental", file: jobFile, impl: true, def: "false"},
	{name: "incrementalModeInterval", file: jobFile, impl: true, def: "86400"},
	{name: "importSince", file: jobFile, impl: true, def: "0"},
	{name: "lastModify", file: jobFile, def: "0"},
	{name: "isSkipExistFile", file: jobFile, impl: true, def: "false"},
	{name: "taskObjectCountLimit", file: jobFile, impl: true, def: "10000"},
	{name: "taskObjectSizeLimit", file: jobFile, impl: true, def: "1000000000"},
	// ossimport's s3 template ships scanThreadCount=10000; ferry caps it.
	// Only a local source is listed on several threads.
	{name: "scanThreadCount", file: jobFile, impl: true, remote: "srcType", remoteType: "local", def: "1", quiet: []string{"10000"}},
	{name: "maxMultiThreadScanDepth", file: jobFile, impl: true, remote: "srcType", remoteType: "local", def: "1"},
	{name: "isAllowSymbolicLink", file: jobFile, impl: true, def: "false"},

	// job.cfg: source.
	{name: "srcType", file: jobFile, impl: true},
	{name: "srcPrefix", file: jobFile, impl: true},
	{name: "srcAccessKey", file: jobFile, impl: true, remote: "srcType", kafka: true, table: true},
	{name: "srcSecretKey", file: jobFile, impl: true, remote: "srcType", kafka: true, table: true, secret: true},
	{name: "srcDomain", file: jobFile, impl: true, remote: "srcType", kafka: true, table: true},
	{name: "srcBucket", file: jobFile, impl: true, remote: "srcType", table: true},
	{name: "srcRegion", file: jobFile, ferry: true, impl: true, s3Only: true, remote: "srcType"},
	{name: "srcPathStyle", file: jobFile, ferry: true, impl: true, s3Only: true, remote: "srcType", def: "false"},
	{name: "appId", file: jobFile, def: "0",
		note: "ferry reads cos through its S3-compatible API, where the bucket name ends in the app ID (srcBucket=mybucket-1250000000); ignored"},
	{name: "isDownloadFromCdn", file: jobFile, def: "false"},
	{name: "cdnDomain", file: jobFile},
	{name: "httpListFilePath", file: jobFile, impl: true, remote: "srcType", remoteType: "http",
		quiet: []string{"c:/example/http.list", "d:/work/oss/http.list"}},
	{name: "httpPrefixColumn", file: jobFile, impl: true, remote: "srcType", remoteType: "http", def: "1"},
	{name: "relativePathColumn", file: jobFile, impl: true, remote: "srcType", remoteType: "http", def: "2"},
	{name: "httpFollowRedirects", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "http", def: "false"},
	{name: "getObjectMetaMode", file: jobFile, def: "stat"},
	// A key list or an S3 Inventory manifest the scan reads instead of
	// listing the source (any srcType).
	{name: "srcListFile", file: jobFile, ferry: true, impl: true},

	// job.cfg: destination.
	{name: "destType", file: jobFile, ferry: true, impl: true, def: "oss"},
	{name: "destPrefix", file: jobFile, impl: true},
	{name: "destAccessKey", file: jobFile, impl: true, remote: "destType", kafka: true, table: true},
	{name: "destSecretKey", file: jobFile, impl: true, remote: "destType", kafka: true, table: true, secret: true},
	{name: "destDomain", file: jobFile, impl: true, remote: "destType", kafka: true, table: true},
	{name: "destBucket", file: jobFile, impl: true, remote: "destType", table: true},
	{name: "destRegion", file: jobFile, ferry: true, impl: true, s3Only: true, remote: "destType"},
	{name: "destPathStyle", file: jobFile, ferry: true, impl: true, s3Only: true, remote: "destType", def: "false"},
	{name: "uploadThreadNumPerLargeFile", file: jobFile, impl: true, remote: "destType", def: "3"},
	{name: "multipartUploadThreshold", file: jobFile, impl: true, remote: "destType", def: "150m"},
	{name: "multipartUploadPartSize", file: jobFile, impl: true, remote: "destType", def: "50m"},
	{name: "isServerSideEncryption", file: jobFile, def: "false"},
	// Files from this size up are split into part tasks (task.Part).
	{name: "splitFileThreshold", file: jobFile, ferry: true, impl: true, remote: "destType", splits: true, def: "1g", quiet: []string{"0"}},

	// job.cfg: verification.
	{name: "isAuditAfterImport", file: jobFile, impl: true, def: "true"},
	{name: "auditMode", file: jobFile, impl: true, def: "general"},

	// job.cfg: ferry's migration-control keys: update mode, filters,
	// mirror, local metadata, throttling.
	{name: "updateMode", file: jobFile, ferry: true, impl: true},
	{name: "include", file: jobFile, ferry: true, impl: true},
	{name: "exclude", file: jobFile, ferry: true, impl: true},
	{name: "minSize", file: jobFile, ferry: true, impl: true, def: "0"},
	{name: "maxSize", file: jobFile, ferry: true, impl: true, def: "0"},
	{name: "modifiedAfter", file: jobFile, ferry: true, impl: true},
	{name: "modifiedBefore", file: jobFile, ferry: true, impl: true},
	{name: "mirror", file: jobFile, ferry: true, impl: true, def: "false"},
	{name: "maxDelete", file: jobFile, ferry: true, impl: true, def: "1000"},
	{name: "preserveMetadata", file: jobFile, ferry: true, impl: true, remote: "destType", remoteType: "local", def: "true"},
	{name: "maxThroughput", file: jobFile, ferry: true, impl: true, def: "0"},
	{name: "throughputSchedule", file: jobFile, ferry: true, impl: true},
	{name: "maxRequestsPerSecond", file: jobFile, ferry: true, impl: true, def: "0"},

	// job.cfg: stream jobs (srcType=kafka and destType=kafka).
	{name: "topics", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka"},
	{name: "consumerGroups", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka"},
	{name: "streamMode", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka", def: "once"},
	{name: "srcSaslMechanism", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka"},
	{name: "destSaslMechanism", file: jobFile, ferry: true, impl: true, remote: "destType", remoteType: "kafka"},
	{name: "srcTls", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka", def: "false"},
	{name: "destTls", file: jobFile, ferry: true, impl: true, remote: "destType", remoteType: "kafka", def: "false"},
	{name: "srcTlsCaFile", file: jobFile, ferry: true, impl: true, remote: "srcType", remoteType: "kafka"},
	{name: "destTlsCaFile", file: jobFile, ferry: true, impl: true, remote: "destType", remoteType: "kafka"},
	// job.cfg: table jobs (srcType and destType mysql or postgres).
	{name: "tables", file: jobFile, ferry: true, impl: true},
	{name: "tableChunkRows", file: jobFile, ferry: true, impl: true, def: "10000"},
	{name: "updatedColumn", file: jobFile, ferry: true, impl: true},
	{name: "updatedMargin", file: jobFile, ferry: true, impl: true, def: "300"},
	{name: "maxRowsPerSecond", file: jobFile, ferry: true, impl: true, def: "0"},

	// job.cfg: Express Connect tunnel (ossimport 2.3.0).
	{name: "isUseExpressTunnel", file: jobFile, def: "false"},
	{name: "expressTunnelProxyHost", file: jobFile},
	{name: "expressTunnelProxyType", file: jobFile},
	{name: "expressTunnelProxyUser", file: jobFile},
	{name: "expressTunnelProxyDest", file: jobFile},
	{name: "expressTunnelAuthToken", file: jobFile, secret: true},

	// sys.properties: ossimport's keys.
	{name: "workingDir", file: sysFile, impl: true, def: "workdir"},
	{name: "workerUser", file: sysFile, impl: true},
	{name: "workerUserName", file: sysFile, impl: true, alias: "workerUser"},
	{name: "workerPassword", file: sysFile, impl: true, secret: true},
	{name: "privateKeyFile", file: sysFile, impl: true},
	{name: "sshPort", file: sysFile, impl: true, def: "22"},
	{name: "workerTaskThreadNum", file: sysFile, impl: true, def: "60"},
	// ossimport's template ships 100000000 KB/s, in effect no limit.
	{name: "workerMaxThroughput(KB/s)", file: sysFile, impl: true, def: "0", quiet: []string{"100000000"}},
	{name: "workerRecordMd5", file: sysFile, impl: true, def: "false"},
	{name: "dispatcherThreadNum", file: sysFile, def: "1"},
	{name: "workerAbortWhenUncatchedException", file: sysFile, def: "false"},
	{name: "javaHeapMaxSize", file: sysFile, def: "1024m",
		note: "ferry is not a Java program; ignored"},

	// sys.properties: ferry's keys.
	{name: "masterAddress", file: sysFile, ferry: true, impl: true, def: "127.0.0.1:7790"},
	{name: "httpAddress", file: sysFile, ferry: true, impl: true, def: "127.0.0.1:7791"},
	{name: "knownHostsFile", file: sysFile, ferry: true, impl: true, def: "~/.ssh/known_hosts"},
	{name: "taskLeaseSeconds", file: sysFile, ferry: true, impl: true, def: "60"},
	{name: "workerMaxTaskNum", file: sysFile, ferry: true, impl: true, def: "2"},
	{name: "incrementalMinInterval", file: sysFile, ferry: true, impl: true, def: "900"},
}

// keyIndex finds a keyTable entry by exact (case-sensitive) name.
var keyIndex = func() map[string]*keyInfo {
	m := make(map[string]*keyInfo, len(keyTable))
	for i := range keyTable {
		m[keyTable[i].name] = &keyTable[i]
	}
	return m
}()

// usedWith reports whether the key is used when its remote type key has
// the value typ. Keys without remote are always used.
func (k *keyInfo) usedWith(typ string) bool {
	switch {
	case k.remote == "":
		return true
	case k.splits:
		return splitsInto(typ)
	case typ == "zk":
		return zkKeys[k.name]
	case k.remoteType != "":
		return typ == k.remoteType
	case k.s3Only:
		return IsObjectStore(typ)
	case k.kafka && typ == "kafka", k.table && IsTableType(typ):
		return true
	}
	return IsRemoteStore(typ)
}

// isDefault reports whether v is a value for which an unimplemented key stays
// quiet: empty, its default, or a value ossimport's templates ship with.
// Comparison ignores case, as ossimport's parsing of booleans did.
func (k *keyInfo) isDefault(v string) bool {
	if v == "" || strings.EqualFold(v, k.def) {
		return true
	}
	for _, q := range k.quiet {
		if strings.EqualFold(v, q) {
			return true
		}
	}
	return false
}
