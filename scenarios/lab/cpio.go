package lab

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// cpioWriter writes the "newc" (SVR4, no CRC) cpio format that the Linux
// kernel unpacks as an initramfs. It is small enough to write here, so the
// lab needs no cpio binary.
type cpioWriter struct {
	w    io.Writer
	off  int64
	ino  uint32
	seen map[string]bool
	err  error
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, seen: map[string]bool{}}
}

// Mode bits of the cpio header (they match the kernel's S_IF* values).
const (
	cpioDir     = 0o040000
	cpioReg     = 0o100000
	cpioSymlink = 0o120000
	cpioChar    = 0o020000
)

// Dir adds a directory, and any missing parent directories.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) {
	name = strings.Trim(name, "/")
	if name == "" || c.seen[name] {
		return
	}
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		c.Dir(name[:i], 0o755)
	}
	c.seen[name] = true
	c.entry(name, cpioDir|uint32(perm.Perm()), 0, 0, nil)
}

// File adds a regular file with the given content.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	name = c.parent(name)
	c.entry(name, cpioReg|uint32(perm&0o7777), 0, 0, data)
}

// Symlink adds a symbolic link name pointing to target.
func (c *cpioWriter) Symlink(name, target string) {
	name = c.parent(name)
	c.entry(name, cpioSymlink|0o777, 0, 0, []byte(target))
}

// CharDev adds a character device node (e.g. /dev/console, which the kernel
// needs before devtmpfs is mounted to give /init its stdio).
func (c *cpioWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) {
	name = c.parent(name)
	c.entry(name, cpioChar|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer. It does not close the underlying writer.
func (c *cpioWriter) Close() error {
	c.entry("TRAILER!!!", 0, 0, 0, nil)
	return c.err
}

// parent trims name and creates its parent directories.
func (c *cpioWriter) parent(name string) string {
	name = strings.Trim(name, "/")
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		c.Dir(name[:i], 0o755)
	}
	return name
}

// entry writes one header, the NUL-terminated name and the data, each
// padded to 4 bytes. rmaj and rmin are a device node's numbers.
func (c *cpioWriter) entry(name string, mode, rmaj, rmin uint32, data []byte) {
	if c.err != nil {
		return
	}
	ino := c.ino
	c.ino++
	nlink := uint32(1)
	if mode&0o170000 == cpioDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad()
	c.write(data)
	c.pad()
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil || len(b) == 0 {
		return
	}
	n, err := c.w.Write(b)
	c.off += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.off % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
