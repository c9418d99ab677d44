package lab

import (
	"path/filepath"
	"regexp"
)

// defaultPrefixWord matches the default prefix as a whole word, as it
// appears in the lab's scenario files: the client namespace
// (dtlab-client), the state paths (/run/downtime-lab/dtlab/...) and the
// `--prefix dtlab` of `downtime lab standby`.
var defaultPrefixWord = regexp.MustCompile(`\b` + DefaultPrefix + `\b`)

// RewriteForPrefix returns a lab scenario file written for the default
// lab, rewritten for the lab named prefix (whose state lives in
// runDir/prefix; "" means DefaultRunDir).
func RewriteForPrefix(yaml []byte, prefix, runDir string) []byte {
	if runDir == "" {
		runDir = DefaultRunDir
	}
	out := regexp.MustCompile(`/run/downtime-lab/`+DefaultPrefix+`\b`).
		ReplaceAllLiteral(yaml, []byte(filepath.Join(runDir, prefix)))
	return defaultPrefixWord.ReplaceAllLiteral(out, []byte(prefix))
}
