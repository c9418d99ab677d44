package reports

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestWriteHTMLGolden(t *testing.T) {
	run := goldenRun()
	var buf bytes.Buffer
	// Placeholder bytes keep the golden file independent of the plot.
	if err := WriteHTML(&buf, run, []byte("PNG placeholder")); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.html", buf.Bytes())
	html := buf.String()
	for _, want := range []string{
		`<span class="verdict fail">FAIL</span>`,
		"ssh: the session did not survive (1 reset)",
		"52.0 ms (qmp query-migrate)",
		"ping 10.0.0.2: 80.0 ms ± 10.2 ms (network 28.0 ms)",
		`src="data:image/png;base64,UE5HIHBsYWNlaG9sZGVy"`,
		"trigger &#34;notify, ops&#34; failed",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// Self-contained: nothing is fetched from elsewhere.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:|//)[^"]*"|<link|@import|url\(`).FindString(html); m != "" {
		t.Errorf("report.html refers to an external resource: %s", m)
	}
}

func TestWriteHTMLPartialNoTimeline(t *testing.T) {
	run := goldenRun()
	run.Partial, run.Reason = true, "<b>killed</b>"
	run.Meta.Scenario = `<script>alert(1)</script>`
	var buf bytes.Buffer
	if err := WriteHTML(&buf, run, nil); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{"<strong>Partial run:</strong> &lt;b&gt;killed&lt;/b&gt;", "The timeline could not be drawn.", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<img") {
		t.Error("report.html holds a script or an image it should not")
	}
}

// chromium is the browser the real-rendering tests use; CI installs it
// (apt package chromium).
const chromium = "/usr/bin/chromium"

// headless runs chromium headless on the page with args added, in a
// profile of its own, and returns its standard output.
func headless(t *testing.T, page string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+page)...)
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// TestHTMLInBrowser renders report.html in a real browser: the page must
// show its verdict and decode the embedded timeline.
func TestHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("needs chromium (apt install chromium): ", err)
	}
	run := goldenRun()
	var timeline, page bytes.Buffer
	if err := WriteTimeline(&timeline, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, run, timeline.Bytes()); err != nil {
		t.Fatal(err)
	}
	checkInBrowser(t, page.Bytes(), "FAIL", "timeline")
}

// checkInBrowser opens html in chromium twice: once to screenshot it (the
// picture must not be blank), once to dump the DOM after load, with a
// test-only script that writes each image's decoded width into the page.
// The DOM must hold want and every image id in imgIDs must have decoded.
func checkInBrowser(t *testing.T, html []byte, want string, imgIDs ...string) {
	t.Helper()
	dir := t.TempDir()
	page := filepath.Join(dir, "page.html")
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	headless(t, page, "--hide-scrollbars", "--screenshot="+shot, "--window-size=1280,2000")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colours := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot %dx%d is nearly blank: %d colours", b.Dx(), b.Dy(), len(colours))
	}

	probe := []byte(`<script>window.addEventListener("load", () => {
  for (const img of document.images) {
    const p = document.createElement("p");
    p.textContent = "decoded " + img.id + " " + img.naturalWidth + "x" + img.naturalHeight;
    document.body.appendChild(p);
  }
});</script></body>`)
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, bytes.Replace(html, []byte("</body>"), probe, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(headless(t, probed, "--virtual-time-budget=10000", "--dump-dom"))
	if !strings.Contains(dom, want) {
		t.Errorf("the rendered page lacks %q", want)
	}
	for _, id := range imgIDs {
		m := regexp.MustCompile(`decoded ` + regexp.QuoteMeta(id) + ` (\d+)x(\d+)`).FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("image %s: no decoded size in the DOM", id)
			continue
		}
		if w, _ := strconv.Atoi(m[1]); w <= 0 {
			t.Errorf("image %s did not decode: natural size %sx%s", id, m[1], m[2])
		}
		t.Logf("image %s decoded at %sx%s", id, m[1], m[2])
	}
}
