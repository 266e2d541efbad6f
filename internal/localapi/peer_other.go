//go:build !linux && !windows

package localapi

import (
	"errors"
	"net"
)

func selfPeer() (Peer, error) {
	return Peer{}, errors.New("peer identification is not supported on this OS")
}
func connPeer(net.Conn) (Peer, error) {
	return Peer{}, errors.New("peer identification is not supported on this OS")
}
