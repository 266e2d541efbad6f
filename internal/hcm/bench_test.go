package hcm

import (
	"context"
	"net"
	"os"
	"testing"
)

// BenchmarkEstablishedTo is the cost of one tunnel check (gopsutil reading this
// process's TCP table), paid every poll interval on the HCM PC.
func BenchmarkEstablishedTo(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	for b.Loop() {
		if got, err := EstablishedTo(ctx, os.Getpid(), port); err != nil || len(got) != 1 {
			b.Fatalf("%v %v", got, err)
		}
	}
}

// BenchmarkPoll is one full round against the fake service manager, with the real
// connection lookup: the monitor's own overhead per interval.
func BenchmarkPoll(b *testing.B) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, os.Getpid())
	m := New(Config{TunnelPort: 443}, f, nil, &recEvents{}, quiet())
	ctx := context.Background()
	for b.Loop() {
		m.Poll(ctx)
	}
}
