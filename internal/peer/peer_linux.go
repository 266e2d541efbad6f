package peer

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func self() (Peer, error) {
	return Peer{User: uidUser(uint32(os.Getuid())), PID: uint32(os.Getpid())}, nil
}

func uidUser(uid uint32) string { return "uid:" + strconv.FormatUint(uint64(uid), 10) }

func of(c net.Conn) (Peer, error) {
	switch c := c.(type) {
	case *net.UnixConn:
		return unixPeer(c)
	case *net.TCPConn:
		return tcpPeer(c)
	}
	return Peer{}, fmt.Errorf("cannot identify the peer of a %T", c)
}

// unixPeer reads the socket's peer credentials from the kernel: the process that
// connected, or, on the client's side, the one that is listening.
func unixPeer(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if credErr != nil {
		return Peer{}, credErr
	}
	return Peer{User: uidUser(cred.Uid), PID: uint32(cred.Pid)}, nil
}

// tcpPeer finds the uid owning the other end of a loopback connection in the
// kernel's socket tables: the row whose local address is our remote one and whose
// remote address is our local one.
func tcpPeer(c *net.TCPConn) (Peer, error) {
	local, err1 := netip.ParseAddrPort(c.LocalAddr().String())
	remote, err2 := netip.ParseAddrPort(c.RemoteAddr().String())
	if err1 != nil || err2 != nil || !remote.Addr().Unmap().IsLoopback() {
		return Peer{}, errors.New("not a loopback connection")
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if uid, ok, err := findTCPOwner(table, remote, local); err != nil {
			return Peer{}, err
		} else if ok {
			return Peer{User: uidUser(uid)}, nil
		}
	}
	return Peer{}, errors.New("the connection's owner is not in the kernel's TCP tables")
}

func findTCPOwner(table string, clientEnd, serverEnd netip.AddrPort) (uint32, bool, error) {
	f, err := os.Open(table)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		l, err1 := parseProcAddr(fields[1])
		r, err2 := parseProcAddr(fields[2])
		if err1 != nil || err2 != nil {
			continue
		}
		if sameEnd(l, clientEnd) && sameEnd(r, serverEnd) {
			uid, err := strconv.ParseUint(fields[7], 10, 32)
			if err != nil {
				return 0, false, err
			}
			return uint32(uid), true, nil
		}
	}
	return 0, false, sc.Err()
}

func sameEnd(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseProcAddr reads "0100007F:1F90": the address as 32-bit words in host (little-
// endian) order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, errors.New("no port")
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, errors.New("bad address")
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
