// Package fyneenv gives Fyne the environment it reads while Go initialises
// its packages, before hearthd's main runs (and glibc's malloc the one it
// reads as the process starts): imported for its init, which
// executes hearthd again (same pid, so systemd does not notice) when a
// variable is missing or wrong.
//
// It must run before Fyne's own inits. Go initialises packages in the
// order of their import paths among those whose imports are ready (Go
// 1.21), and this package imports only the standard library, so it runs
// before fyne.io/fyne/v2/lang, which waits for golang.org/x/text
// (TestInitBeforeFyne checks it on the real binary).
package fyneenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Env is the environment Fyne (and the C library) has to find when the
// process loads.
//
//   - FYNE_CACHE: Fyne keeps the texture of an image that left the screen
//     for a minute (internal/cache.ValidDuration). A carousel drops a
//     full-screen photo every dwell, so that held 4-10 dead textures:
//     make bench measured 235 MiB of private memory with the default and
//     136 MiB with 5 s.
//   - LANG: Fyne logs an error at every start (and for --help) for a "C"
//     locale. The screen's language comes from --locale, not from this.
//   - MALLOC_MMAP_THRESHOLD_ (glibc's malloc, read before any Go code
//     runs, hence here too): allocations from 256 KiB up get their own
//     mapping, returned to the system when freed. By default glibc raises
//     that threshold each time such a block is freed, up to 32 MiB, so
//     Mesa's frame and texture buffers (8 MiB at 1920x1080) came to live
//     in the C heap, which keeps what it once held: make bench measured
//     the C heap at 34.6 MiB with the default and 16.3 MiB with this,
//     private memory 86.4 against 70.2 MiB, CPU unchanged. Ignored by
//     another C library.
var Env = map[string]string{"FYNE_CACHE": "5s", "LANG": "en_GB.UTF-8", "MALLOC_MMAP_THRESHOLD_": "262144"}

func init() {
	if strings.HasSuffix(filepath.Base(os.Args[0]), ".test") {
		return // a test binary: its environment is the test's to set
	}
	if env, changed := Fixed(os.Environ()); changed {
		if exe, err := os.Executable(); err == nil {
			_ = syscall.Exec(exe, os.Args, env)
		}
		// The exec failed: hearthd runs on with Fyne's defaults.
	}
}

// Fixed returns env with Env's variables set where they are missing or
// wrong, and LANGUAGE set when LC_ALL or LC_MESSAGES (C.UTF-8 in many
// containers and units), which win over LANG, still give Fyne a locale it
// cannot parse. changed says whether anything was set.
func Fixed(env []string) (out []string, changed bool) {
	out = slices.Clone(env)
	set := func(k, v string) {
		// Replace, not append: with a duplicate key Go keeps the first.
		out = slices.DeleteFunc(out, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		out = append(out, k+"="+v)
		changed = true
	}
	for _, k := range []string{"FYNE_CACHE", "LANG", "MALLOC_MMAP_THRESHOLD_"} {
		if !Sees(k, lookup(out)(k)) {
			set(k, Env[k])
		}
	}
	if !LocaleParses(lookup(out)) {
		set("LANGUAGE", "en_GB")
	}
	return out, changed
}

// Sees reports whether the value v of variable k is already fine.
func Sees(k, v string) bool {
	if k == "LANG" {
		return v != "" && v != "C" && v != "POSIX" && !strings.HasPrefix(v, "C.")
	}
	return v != ""
}

// LocaleParses reports whether Fyne reads a locale it can parse, as
// github.com/jeandeaual/go-locale finds it: the first set of LC_ALL,
// LC_MESSAGES and LANG, or LANGUAGE instead unless that is exactly C or
// POSIX (which Fyne takes for English). "C.UTF-8" is not: Fyne logs
// "Error parsing user locale C".
func LocaleParses(getenv func(string) string) bool {
	loc := ""
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = getenv(k); loc != "" {
			break
		}
	}
	if loc == "C" || loc == "POSIX" {
		return true
	}
	if l := getenv("LANGUAGE"); l != "" {
		loc = l
	}
	first, _, _ := strings.Cut(loc, ":")
	lang := strings.FieldsFunc(first, func(r rune) bool { return r == '_' || r == '.' || r == '@' || r == '-' })
	return first == "" || (len(lang) > 0 && lang[0] != "C" && lang[0] != "POSIX")
}

// lookup reads variables from an environment list, as os.Getenv does from
// the process's (the first of a repeated key).
func lookup(env []string) func(string) string {
	return func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
}
