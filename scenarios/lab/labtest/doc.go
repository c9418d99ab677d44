// Package labtest holds the integration tests that run the built-in lab's
// scenario files (scenarios/lab/*.yaml) through the real runner, against a
// real QEMU guest, from inside the lab's client namespace. It has no code
// of its own: it is a package apart so that it may import both the runner
// (scenarios) and the lab without a cycle, and so CI can run it alone.
package labtest
