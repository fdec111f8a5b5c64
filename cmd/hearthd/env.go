package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
)

// fyneEnv is the environment Fyne has to find when it loads. Fyne reads
// both variables in package init, before main runs, so hearthd sets them
// by executing itself again once (same pid, so systemd does not notice).
//
//   - FYNE_CACHE: Fyne keeps the texture of an image that left the screen
//     for a minute (internal/cache.ValidDuration). A carousel drops a
//     full-screen photo every dwell, so that held 4-10 dead textures:
//     make bench measured 235 MiB of private memory with the default and
//     136 MiB with 5 s.
//   - LANG: Fyne logs an error at every start for the "C" locale. The
//     screen's language comes from --locale, not from this.
var fyneEnv = map[string]string{"FYNE_CACHE": "5s", "LANG": "en_GB.UTF-8"}

// reexecForFyne executes hearthd again with fyneEnv when its variables are
// missing. It returns only if nothing needs doing or the exec failed (then
// hearthd runs on with Fyne's defaults).
func reexecForFyne() {
	env := os.Environ()
	changed := false
	for k, v := range fyneEnv {
		if ok := fyneSees(k, os.Getenv(k)); ok {
			continue
		}
		// Replace, not append: with a duplicate key Go keeps the first.
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		env = append(env, k+"="+v)
		changed = true
	}
	if !changed {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env)
}

// fyneSees reports whether the value v of variable k is already fine.
func fyneSees(k, v string) bool {
	if k == "LANG" {
		return v != "" && v != "C" && v != "POSIX" && !strings.HasPrefix(v, "C.")
	}
	return v != ""
}

// reexec starts this program again in the same process (same PID), with
// the same arguments and environment.
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start again: %w", err)
	}
	return fmt.Errorf("start again: %w", syscall.Exec(exe, os.Args, os.Environ()))
}
