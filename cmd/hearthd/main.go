// Command hearthd is the device daemon: the photo and message carousel, kept
// in step with the broker and cached on disk. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	// First of all, before Fyne's inits read it: the environment Fyne needs.
	_ "github.com/hearth-home/hearth/cmd/hearthd/fyneenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hearthd:", err)
		os.Exit(1)
	}
}
