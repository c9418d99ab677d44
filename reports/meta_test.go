package reports

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestMetaThresholdsRoundTrip covers the limits added after the first
// meta.json shape: they are written as *_ms numbers and read back exactly.
func TestMetaThresholdsRoundTrip(t *testing.T) {
	want := Meta{Scenario: "failover", Thresholds: map[string]Threshold{
		"ping": {MaxTimeToFailoverAddress: 2500 * time.Millisecond, MaxHypervisorDowntime: 300 * time.Millisecond},
		"ssh":  {MaxHypervisorDowntime: 1500 * time.Microsecond},
		"icmp": {MaxGap: time.Second},
	}, Probes: []ProbeMeta{}}
	var buf bytes.Buffer
	if err := WriteMeta(&buf, want); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"max_time_to_failover_address_ms": 2500`, `"max_hypervisor_downtime_ms": 300`, `"max_hypervisor_downtime_ms": 1.5`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("meta.json lacks %s:\n%s", key, buf.String())
		}
	}
	if strings.Count(buf.String(), "max_time_to_failover_address_ms") != 1 {
		t.Errorf("unset limits are written:\n%s", buf.String())
	}
	got, err := ReadMeta(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
