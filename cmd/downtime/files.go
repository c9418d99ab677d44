package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// outFile is one file a command writes, and how.
type outFile struct {
	name  string
	write func(io.Writer) error
}

// writeFiles creates dir if need be and writes each file into it (0644),
// stopping at the first error, which names the file.
func writeFiles(dir string, files ...outFile) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, of := range files {
		f, err := os.OpenFile(filepath.Join(dir, of.name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		err = of.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", of.name, err)
		}
	}
	return nil
}
