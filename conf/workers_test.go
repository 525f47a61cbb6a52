package conf

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseWorkers(t *testing.T) {
	tests := []struct {
		in   string
		want []Host
		err  string
	}{
		{in: ""},
		{in: "# only comments\n\n   # more\n"},
		{in: "192.168.1.6\n192.168.1.7\r\n192.168.1.8", want: []Host{
			{Addr: "192.168.1.6", Line: 1}, {Addr: "192.168.1.7", Line: 2}, {Addr: "192.168.1.8", Line: 3}}},
		{in: "\uFEFFdeploy@w1.example.com:2222   # comment\n", want: []Host{
			{User: "deploy", Addr: "w1.example.com", Port: 2222, Line: 1}}},
		{in: "[::1]:22\n[2001:db8::7]\n2001:db8::8\nroot@[fe80::1]:2200\n", want: []Host{
			{Addr: "::1", Port: 22, Line: 1}, {Addr: "2001:db8::7", Line: 2}, {Addr: "2001:db8::8", Line: 3},
			{User: "root", Addr: "fe80::1", Port: 2200, Line: 4}}},
		{in: "h1\nh1:22\n", want: []Host{{Addr: "h1", Line: 1}, {Addr: "h1", Port: 22, Line: 2}}},
		{in: "h1 h2\n", err: "w:1: expected one host a line as [user@]host[:port], found spaces"},
		{in: "a\nb\nA\n", err: "w:3: A: listed twice (first on line 1)"},
		{in: "h:0\n", err: `w:1: h:0: port "0" is not 1 to 65535`},
		{in: "h:\n", err: `w:1: h:: empty port after ":"`},
		{in: "h:ssh\n", err: `w:1: h:ssh: port "ssh" is not 1 to 65535`},
		{in: "@h\n", err: `w:1: @h: empty user name before "@"`},
		{in: "-oProxyCommand=x\n", err: `w:1: -oProxyCommand=x: "-oProxyCommand=x" is not a host name or IP address`},
		{in: "-l@h\n", err: `w:1: -l@h: user name "-l" starts with '-'`},
		{in: "a@b@c\n", err: `w:1: a@b@c: "b@c" is not a host name or IP address`},
		{in: "[::1\n", err: `w:1: [::1: "[" without "]" (write an IPv6 address as [::1] or [::1]:22)`},
		{in: "[::1]22\n", err: `w:1: [::1]22: unexpected "22" after "]" (want :port)`},
		{in: "[1.2.3.4]:22\n", err: `w:1: [1.2.3.4]:22: "1.2.3.4" in brackets is not an IPv6 address`},
		{in: "fe80::1:x:22\n", err: `w:1: fe80::1:x:22: "fe80::1:x:22" is not an address (write an IPv6 address with a port as [::1]:22)`},
		{in: "bad_host!\n", err: `w:1: bad_host!: "bad_host!" is not a host name or IP address`},
	}
	for _, tc := range tests {
		got, err := ParseWorkers(strings.NewReader(tc.in), "w")
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		// String gives back a form that parses to the same host.
		for _, h := range got {
			again, err := ParseWorkers(strings.NewReader(h.String()), "w")
			if err != nil || len(again) != 1 || again[0].User != h.User || again[0].Addr != h.Addr || again[0].Port != h.Port {
				t.Errorf("%+v: String %q parses to %+v, %v", h, h.String(), again, err)
			}
		}
	}
}

func TestHostString(t *testing.T) {
	for h, want := range map[Host]string{
		{Addr: "h"}:                      "h",
		{User: "u", Addr: "h", Port: 22}: "u@h:22",
		{Addr: "::1", Port: 22}:          "[::1]:22",
		{Addr: "::1"}:                    "::1",
	} {
		if got := h.String(); got != want {
			t.Errorf("%+v: %q, want %q", h, got, want)
		}
	}
}

func TestLoadWorkers(t *testing.T) {
	hosts, err := LoadWorkers(filepath.Join(t.TempDir(), "workers"))
	if err != nil || hosts != nil {
		t.Errorf("missing file: %v, %v", hosts, err)
	}
	hosts, err = LoadWorkers("testdata/ossimport_workers")
	if err != nil || len(hosts) != 3 || hosts[0].Addr != "192.168.1.6" || hosts[2].Line != 3 {
		t.Errorf("ossimport workers: %+v, %v", hosts, err)
	}
}
