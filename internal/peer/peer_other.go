//go:build !linux && !windows

package peer

import (
	"errors"
	"net"
)

func self() (Peer, error) {
	return Peer{}, errors.New("peer identification is not supported on this OS")
}
func of(net.Conn) (Peer, error) {
	return Peer{}, errors.New("peer identification is not supported on this OS")
}
