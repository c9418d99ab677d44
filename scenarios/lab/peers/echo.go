package peers

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Echo is a TCP echo service (RFC 862) run by socat: every connection gets
// its own process, which sends back what it receives.
type Echo struct {
	Addr netip.Addr
	Port int

	d *daemon
}

// StartEcho runs the echo service inside namespace ns on addr:port and
// returns once it listens.
func StartEcho(ns string, addr netip.Addr, port int) (*Echo, error) {
	if err := need("socat", "socat"); err != nil {
		return nil, err
	}
	bind := addr.String()
	listen := "TCP4-LISTEN"
	if addr.Is6() {
		listen = "TCP6-LISTEN"
	}
	// -d -d: socat says "listening on" once the socket is bound.
	argv := []string{"socat", "-d", "-d",
		fmt.Sprintf("%s:%d,bind=%s,reuseaddr,fork", listen, port, bind), "PIPE"}
	d, err := start(ns, "socat", argv, nil, func(l string) bool { return strings.Contains(l, "listening on") })
	if err != nil {
		return nil, err
	}
	return &Echo{Addr: addr, Port: port, d: d}, nil
}

// HostPort returns "host:port" of the service.
func (e *Echo) HostPort() string { return net.JoinHostPort(e.Addr.String(), strconv.Itoa(e.Port)) }

// Close stops the service and every connection it forked.
func (e *Echo) Close() error { return e.d.close() }
