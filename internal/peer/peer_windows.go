//go:build windows

package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

func self() (Peer, error) { return Process(windows.GetCurrentProcessId()) }

// Process is the session and user of a process. The agent runs as LocalSystem, which
// may open any ordinary process's token; a standard user may open only their own
// processes', so for anyone else's this fails, which callers treat as "not the same".
func Process(pid uint32) (Peer, error) {
	var session uint32
	if err := windows.ProcessIdToSessionId(pid, &session); err != nil {
		return Peer{}, fmt.Errorf("session of process %d: %w", pid, err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return Peer{}, fmt.Errorf("opening process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return Peer{}, fmt.Errorf("token of process %d: %w", pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return Peer{}, err
	}
	return Peer{User: u.User.Sid.String(), Session: session, PID: pid}, nil
}

func of(c net.Conn) (Peer, error) {
	if f, ok := c.(interface{ Fd() uintptr }); ok {
		pid, err := PipeOtherEnd(windows.Handle(f.Fd()))
		if err != nil {
			return Peer{}, err
		}
		return Process(pid)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		pid, err := tcpOwner(tc)
		if err != nil {
			return Peer{}, err
		}
		return Process(pid)
	}
	return Peer{}, fmt.Errorf("cannot identify the peer of a %T", c)
}

// PipeOtherEnd is the process at the other end of a named pipe handle: the client
// when we serve it, the server when we connected to it (go-winio's connections expose
// their handle with Fd).
func PipeOtherEnd(h windows.Handle) (uint32, error) {
	var client, server uint32
	if err := windows.GetNamedPipeClientProcessId(h, &client); err != nil {
		return 0, fmt.Errorf("named pipe client: %w", err)
	}
	if err := windows.GetNamedPipeServerProcessId(h, &server); err != nil {
		return 0, fmt.Errorf("named pipe server: %w", err)
	}
	if server == windows.GetCurrentProcessId() {
		return client, nil
	}
	return server, nil
}

var (
	iphlpapi                = windows.NewLazySystemDLL("iphlpapi.dll")
	procGetExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

const (
	tcpTableOwnerPIDConnections = 4 // TCP_TABLE_OWNER_PID_CONNECTIONS
	tcpStateEstablished         = 5 // MIB_TCP_STATE_ESTAB
)

// tcpOwner finds the process that owns the client end of a loopback connection in
// the system's TCP table (GetExtendedTcpTable): the row whose local end is our
// remote end and whose remote end is our local end. The table is read again a few
// times, briefly, when the row is missing or has no owner yet: Wine builds it from
// the host's socket list and has been seen to miss a connection just accepted,
// which turned a GP's click into "could not tell who opened this link".
func tcpOwner(c *net.TCPConn) (uint32, error) {
	var err error
	for attempt := range 5 {
		var pid uint32
		if pid, err = tcpOwnerOnce(c); err == nil && pid != 0 {
			return pid, nil
		}
		if err == nil {
			err = errors.New("the connection's owner is not known yet")
		}
		if errors.Is(err, errNotLoopback) {
			return 0, err
		}
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	return 0, err
}

var errNotLoopback = errors.New("not a loopback connection")

func tcpOwnerOnce(c *net.TCPConn) (uint32, error) {
	local, err1 := netip.ParseAddrPort(c.LocalAddr().String())
	remote, err2 := netip.ParseAddrPort(c.RemoteAddr().String())
	if err1 != nil || err2 != nil || !remote.Addr().Unmap().IsLoopback() {
		return 0, errNotLoopback
	}
	family, rowSize := uint32(windows.AF_INET), 24
	if remote.Addr().Is6() && !remote.Addr().Is4In6() {
		family, rowSize = windows.AF_INET6, 56
	}
	buf, err := extendedTCPTable(family)
	if err != nil {
		return 0, err
	}
	if len(buf) < 4 {
		return 0, errors.New("empty TCP table")
	}
	n := int(binary.LittleEndian.Uint32(buf))
	for i := range n {
		off := 4 + i*rowSize
		if off+rowSize > len(buf) {
			break
		}
		row := buf[off : off+rowSize]
		var l, r netip.AddrPort
		var pid, state uint32
		if family == windows.AF_INET {
			// MIB_TCPROW_OWNER_PID: state, local addr, local port, remote addr, remote port, pid.
			l = netip.AddrPortFrom(netip.AddrFrom4([4]byte(row[4:8])), binary.BigEndian.Uint16(row[8:10]))
			r = netip.AddrPortFrom(netip.AddrFrom4([4]byte(row[12:16])), binary.BigEndian.Uint16(row[16:18]))
			pid = binary.LittleEndian.Uint32(row[20:24])
			state = binary.LittleEndian.Uint32(row[0:4])
		} else {
			// MIB_TCP6ROW_OWNER_PID: local addr[16], scope, port, remote addr[16], scope, port, state, pid.
			l = netip.AddrPortFrom(netip.AddrFrom16([16]byte(row[0:16])), binary.BigEndian.Uint16(row[20:22]))
			r = netip.AddrPortFrom(netip.AddrFrom16([16]byte(row[24:40])), binary.BigEndian.Uint16(row[44:46]))
			pid = binary.LittleEndian.Uint32(row[52:56])
			state = binary.LittleEndian.Uint32(row[48:52])
		}
		// A closed connection that used the same ports lingers in TIME_WAIT, owned
		// by nobody: only the established one is this connection.
		if state == tcpStateEstablished && sameEnd(l, remote) && sameEnd(r, local) {
			return pid, nil
		}
	}
	return 0, errors.New("the connection's owner is not in the TCP table")
}

func sameEnd(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

func extendedTCPTable(family uint32) ([]byte, error) {
	size := uint32(16 << 10)
	for range 5 {
		buf := make([]byte, size)
		rc, _, _ := procGetExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0,
			uintptr(family), tcpTableOwnerPIDConnections, 0)
		switch windows.Errno(rc) {
		case 0:
			return buf[:size], nil
		case windows.ERROR_INSUFFICIENT_BUFFER:
			size += 4 << 10 // connections may have opened since the size was reported
			continue
		default:
			return nil, fmt.Errorf("GetExtendedTcpTable: %w", windows.Errno(rc))
		}
	}
	return nil, errors.New("GetExtendedTcpTable: the table kept growing")
}
