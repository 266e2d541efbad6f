package agent_test

import (
	"context"
	"net"
)

type netConn = net.Conn

func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}
