package netns

import (
	"fmt"
	"time"
)

// LinkSet sets interface ifname in namespace nsName up or down over netlink
// and returns the instant the kernel acknowledged the change.
func LinkSet(nsName, ifname string, up bool) (time.Time, error) {
	h, err := handle(nsName)
	if err != nil {
		return time.Time{}, err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return time.Time{}, fmt.Errorf("netns: %s: find %s: %w", nsName, ifname, err)
	}
	if up {
		err = h.LinkSetUp(l)
	} else {
		err = h.LinkSetDown(l)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("netns: %s: set %s up=%t: %w", nsName, ifname, up, err)
	}
	return time.Now(), nil
}
