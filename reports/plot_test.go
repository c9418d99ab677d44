package reports

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var (
	update     = flag.Bool("update", false, "rewrite testdata/timeline.golden.png")
	exampleDir = flag.String("timeline.out", "", "also write the test timelines as PNG files to this directory")
)

// render draws run and decodes the result.
func render(t testing.TB, run *Run) ([]byte, image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTimeline(&buf, run); err != nil {
		t.Fatalf("WriteTimeline: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	return buf.Bytes(), img
}

func saveExample(t *testing.T, name string, b []byte) {
	if *exampleDir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*exampleDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteTimelineSize(t *testing.T) {
	b, img := render(t, fixtureRun())
	saveExample(t, "timeline-example.png", b)
	size := img.Bounds().Size()
	if size.X != plotWidth {
		t.Errorf("width %d, want %d", size.X, plotWidth)
	}
	// Three lanes and a header: taller than three lanes, within the cap.
	if size.Y < 3*rttLanePx || size.Y > maxPlotPx {
		t.Errorf("height %d for 3 lanes", size.Y)
	}

	one := fixtureRun()
	one.Probes = one.Probes[:1]
	_, img1 := render(t, one)
	if h1 := img1.Bounds().Dy(); h1 >= size.Y {
		t.Errorf("one lane is %d px high, three %d: height must grow with lanes", h1, size.Y)
	}
}

func TestWriteTimelineDeterministic(t *testing.T) {
	a, _ := render(t, fixtureRun())
	b, _ := render(t, fixtureRun())
	if !bytes.Equal(a, b) {
		t.Error("the same run gave different PNG bytes")
	}
}

func TestWriteTimelineChangesWithData(t *testing.T) {
	base, baseImg := render(t, fixtureRun())

	more := fixtureRun()
	ms := time.Millisecond
	more.Probes[0].Gaps = append(more.Probes[0].Gaps, Gap{Start: 5000 * ms, End: 5400 * ms, Bound: 10 * ms, Lost: 39})
	changed, changedImg := render(t, more)
	if bytes.Equal(base, changed) {
		t.Fatal("an extra gap did not change the PNG")
	}
	if n := diffPixels(baseImg, changedImg); n < 100 {
		t.Errorf("an extra gap changed only %d pixels", n)
	}

	partial := fixtureRun()
	partial.Partial = true
	if p, _ := render(t, partial); bytes.Equal(base, p) {
		t.Error("a partial run looks like a complete one")
	}
}

// diffPixels counts the pixels that differ between two images of one size.
func diffPixels(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				n++
			}
		}
	}
	return n
}

func TestWriteTimelineGolden(t *testing.T) {
	b, img := render(t, fixtureRun())
	golden := filepath.Join("testdata", "timeline.golden.png")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update to create it)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Rendering is pure Go and byte-identical run to run here; a small
	// allowance keeps the test meaningful on CPUs that fuse floating-point
	// operations differently (arm64) and so anti-alias edges a shade apart.
	r := img.Bounds()
	if n, limit := nearPixels(want, img, 48), r.Dx()*r.Dy()/1000; n > limit {
		t.Errorf("%d pixels differ from %s (allowed %d); look at the new image and rerun with -update if it is right", n, golden, limit)
	}
}

// nearPixels counts the pixels where a channel differs by more than tol
// (of 255), or all of them when the sizes differ.
func nearPixels(a, b image.Image, tol int) int {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Dx() * a.Bounds().Dy()
	}
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c1 := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			c2 := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			if absDiff(c1.R, c2.R) > tol || absDiff(c1.G, c2.G) > tol || absDiff(c1.B, c2.B) > tol || absDiff(c1.A, c2.A) > tol {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
