package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	hsync "github.com/hearth-home/hearth/sync"
)

// simulate runs a fleet of light devices against the broker until
// interrupted: for trying fleet tools and sizing a broker. It is the same
// code as `hearthd --headless --simulate N` (sync.Simulate).
func (e *env) simulate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	n := fs.Int("devices", 0, "how many devices (`N`)")
	prefix := fs.String("prefix", "sim", "device ids are `PREFIX`-00001, …")
	heartbeat := fs.Duration("heartbeat", 60*time.Second, "time between heartbeats (±10 %)")
	keepAlive := fs.Duration("keepalive", 30*time.Second, "each connection's MQTT keep-alive")
	ramp := fs.Int("ramp", 200, "connections opened at a time")
	verbose := fs.Bool("v", false, "log more")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || fs.NArg() > 0 {
		return fmt.Errorf("simulate: want --devices N (N > 0)")
	}
	lvl := slog.LevelInfo
	if *verbose {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	// Say how many are connected at most once a second, and always when
	// all are: reconnect storms must not flood the terminal.
	var mu gosync.Mutex
	var last time.Time
	lastN := -1
	progress := func(connected, total int) {
		mu.Lock()
		defer mu.Unlock()
		if connected == lastN || (connected != total && time.Since(last) < time.Second) {
			return
		}
		last, lastN = time.Now(), connected
		log.Info("connected", "connected", connected, "total", total)
	}
	return hsync.Simulate(ctx, hsync.SimOptions{Broker: e.broker, Prefix: *prefix, N: *n, Heartbeat: *heartbeat,
		KeepAlive: *keepAlive, Ramp: *ramp, Version: "sim-" + Version, Logger: log, Connected: progress})
}
