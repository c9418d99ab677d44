package probes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/net/icmp"
)

// resolveTimeout bounds the one name lookup NewICMP makes.
const resolveTimeout = 5 * time.Second

// fixPing is what the error says when no ICMP socket can be opened.
const fixPing = "run as root, or allow unprivileged ping: sysctl -w net.ipv4.ping_group_range='0 2147483647'"

// resolveOnce turns addr (an IPv4 or IPv6 literal, or a host name) into the
// one address a probe uses for its whole run.
func resolveOnce(addr string) (netip.Addr, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if host == "" {
		return netip.Addr{}, errors.New("icmp: empty address")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("icmp: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("icmp: resolve %s: no address", host)
	}
	// The resolver sorts by RFC 6724 preference: take its first choice.
	return ips[0].Unmap(), nil
}

// socketNetwork is the x/net/icmp network of a raw (privileged) or
// datagram (unprivileged) ICMP socket for ip's family, as pro-bing opens it.
func socketNetwork(ip netip.Addr, privileged bool) string {
	switch {
	case ip.Is4() && privileged:
		return "ip4:icmp"
	case ip.Is4():
		return "udp4"
	case privileged:
		return "ip6:ipv6-icmp"
	default:
		return "udp6"
	}
}

// trySocket opens and closes the socket pro-bing will open, to learn now
// rather than mid-run whether it is allowed.
func trySocket(ip netip.Addr, privileged bool) error {
	c, err := icmp.ListenPacket(socketNetwork(ip, privileged), "")
	if err != nil {
		return err
	}
	return c.Close()
}

// chooseSocket picks the socket kind: want if set, else a raw socket when
// allowed (root or CAP_NET_RAW), else an unprivileged ICMP datagram socket
// (allowed when net.ipv4.ping_group_range holds one of our groups).
func chooseSocket(ip netip.Addr, want *bool) (privileged bool, err error) {
	if want != nil {
		if err := trySocket(ip, *want); err != nil {
			kind := "an unprivileged ping socket"
			if *want {
				kind = "a raw socket"
			}
			return false, fmt.Errorf("icmp: cannot open %s: %v (%s); %s", kind, err, pingRange(), fixPing)
		}
		return *want, nil
	}
	rawErr := trySocket(ip, true)
	if rawErr == nil {
		return true, nil
	}
	dgramErr := trySocket(ip, false)
	if dgramErr == nil {
		return false, nil
	}
	return false, fmt.Errorf("icmp: no usable ICMP socket: raw socket: %v; unprivileged ping socket: %v (%s); %s",
		rawErr, dgramErr, pingRange(), fixPing)
}

// pingRange describes our group and the unprivileged ping range, for errors.
func pingRange() string {
	r := "unreadable"
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err == nil {
		r = strings.Join(strings.Fields(string(b)), " ")
	}
	return fmt.Sprintf("gid %d, net.ipv4.ping_group_range %q", os.Getgid(), r)
}
