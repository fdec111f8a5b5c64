// Command hearthctl is Hearth for everyone but the resident: family and
// carers send photos and messages, and read what a screen will show.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hearthctl:", err)
		os.Exit(1)
	}
}
