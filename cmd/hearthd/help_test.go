package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitBeforeFyne: hearthd --help is quiet and exits 0 whatever the
// locale variables say: the fix of the environment (package fyneenv) runs
// before Fyne's inits read it.
func TestInitBeforeFyne(t *testing.T) {
	needBinaries(t)
	for _, env := range [][]string{
		nil, {"LANG=C"}, {"LANG=C.UTF-8"}, {"LC_ALL=C.UTF-8"}, {"LC_MESSAGES=POSIX.UTF-8", "LANG=sv_SE.UTF-8"},
	} {
		cmd := exec.Command(filepath.Join(binDir, "hearthd"), "--help")
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil || strings.Contains(out.String(), "Fyne") || !strings.Contains(out.String(), "-require-signed-items") {
			t.Errorf("env %v: hearthd --help = %v:\n%s", env, err, out.String())
		}
	}
}
