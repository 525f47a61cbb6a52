package crc64ecma

import (
	"hash/crc64"
	"os"
	"syscall"
	"testing"
)

// TestNoOverread runs every implementation on buffers that start right
// after, or end right before, an inaccessible page, so reading even one
// byte outside p crashes the test.
func TestNoOverread(t *testing.T) {
	page := os.Getpagesize()
	const dataPages = 3
	mem, err := syscall.Mmap(-1, 0, (dataPages+2)*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(mem[(dataPages+1)*page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	data := mem[page : (dataPages+1)*page]
	copy(data, randBytes(t, len(data)))
	lengths := []int{len(data), len(data) - 1, len(data) - 15, len(data) - 255}
	for n := 0; n <= 1100; n++ {
		lengths = append(lengths, n)
	}
	forEachImpl(t, func(t *testing.T) {
		for _, n := range lengths {
			for _, p := range [][]byte{data[:n], data[len(data)-n:]} {
				if got, want := Update(^uint64(n), p), crc64.Update(^uint64(n), ecma, p); got != want {
					t.Fatalf("len %d: got %#016x, want %#016x", n, got, want)
				}
			}
		}
	})
}
