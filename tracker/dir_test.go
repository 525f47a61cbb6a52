package tracker

import (
	"reflect"
	"testing"
)

func TestDirBinary(t *testing.T) {
	for _, d := range []Dir{
		{Name: "succeed_tasks/1_2@w", Files: []File{{"audit.log", []byte("a\tb\n")}, {"DONE", []byte{}}}},
		{Name: "failed_tasks/1_2@w\xff", Files: []File{{"error.list", []byte("\xff\n")}}},
		{Name: "x", Files: []File{}},
	} {
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Dir
		if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, d) {
			t.Errorf("round trip of %+v: %+v, %v", d, got, err)
		}
		for n := range len(b) { // every truncation is refused
			if err := new(Dir).UnmarshalBinary(b[:n]); err == nil {
				t.Errorf("%+v cut to %d bytes decoded", d, n)
			}
		}
		if err := new(Dir).UnmarshalBinary(append(b, 0)); err == nil {
			t.Errorf("%+v with a trailing byte decoded", d)
		}
	}
}

func FuzzDirBinary(f *testing.F) {
	b, _ := Dir{Name: "n", Files: []File{{"f", []byte("data")}}}.MarshalBinary()
	f.Add(b)
	f.Add([]byte{dirFormat, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Dir
		if d.UnmarshalBinary(b) != nil {
			return
		}
		again, err := d.MarshalBinary()
		var d2 Dir
		if err != nil || d2.UnmarshalBinary(again) != nil || !reflect.DeepEqual(d, d2) {
			t.Fatalf("%x decoded to %+v, which does not round-trip: %+v, %v", b, d, d2, err)
		}
	})
}
