// Command hearthbench measures hearthd beside what a family would otherwise
// set up, a Chromium kiosk page, on the same photos and the same virtual
// screen: memory and CPU of the running carousel, launch to the first photo
// with 1,000 cached items, the cost of turning a 24 MP photo into a screen
// copy (beside djpeg | convert), durable ingest throughput (beside
// bbolt's single-put rate on the same disk), and call set-up time and CPU
// (beside the same peers connecting with nothing in between, and ffmpeg
// encoding the same picture), and what a family member waits for in the
// web app: opening it, a message and a 12 MP photo until the screen has
// them (beside hearthctl send).
//
// make bench runs it; it writes a JSON list of results and prints a table.
// It asserts nothing: the goals are shown beside the numbers.
//
//	hearthbench -bin DIR -out bench/out/results.json [-quick] [-only calls,...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "hearthbench:", err)
		}
		os.Exit(1)
	}
}
