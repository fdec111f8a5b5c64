package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Version is stamped at build time.
var Version = "dev"

const usage = `usage: hearthctl [--broker URL] COMMAND ...

Commands:
  send photo   --to ID[,ID...] [--days N | --until TIME] [--start TIME] [--caption TEXT] [--from NAME] FILE
  send message --to ID[,ID...] [--days N | --until TIME] [--start TIME] [--from NAME] TEXT
  content ls   --device ID [--at TIME] [--json]
  content rm   --device ID ITEM-ID
  blobs serve  --dir DIR [--addr HOST:PORT]     (a photo store for photos sent by URL)
  provision ca init --out DIR [--name ORG]      (the organisation's signing key and CA)
  provision new --ca DIR --device ID --broker URL[,URL] --out FILE [--name NAME] [--wifi SSID:PSK]...
                [--timezone ZONE] [--locale L] [--night HH:MM-HH:MM] [--serial S] [--valid 5y]
  provision inspect FILE [--json]               (show a bundle without its secrets; fails when invalid)
  provision batch --ca DIR --csv FILE --out DIR  (one DEVICE.hearth-bundle.json per CSV row)
  provision broker-cert --ca DIR --host NAME[,IP] --out DIR   (the broker's TLS certificate)
  provision client-cert --ca DIR --id NAME --out DIR          (an admin's certificate, for --tls)
  caller new   --name NAME --out DIR [--id ID]  (a caller's signing key)
  call         ID --caller DIR [--forced --reason TEXT] [--for 30s] [--json]   (a test caller)
  allow        --org DIR --device ID --caller DIR --may forced|signalled|both|none
  admin        ID --org DIR reboot|factory-reset|night HH:MM-HH:MM|off|volume 0-100|
               dnd --for DURATION|--until TIME|off   (signed admin command; dnd: only forced calls)
  web          --caller DIR [--ws URL] [--listen HOST:PORT] [--public]  (a web page to call devices)
  fleet        [--watch] [--json] [--stale-after N|DURATION]   (every device's state, problems first)
  activity     ID [--since TIME|DURATION] [--json] [--follow]  (a device's activity log)
  simulate     --devices N [--prefix sim] [--heartbeat 60s]    (a fleet of simulated devices)
  version

TIME is RFC 3339 (2026-11-24T14:00:00+01:00) or local "2026-11-24T14:00" or "2026-11-24".
The broker comes from --broker or $HEARTH_BROKER (default mqtt://127.0.0.1:1883).
For mqtts:// brokers, --tls DIR or $HEARTH_TLS_DIR holds ca.crt, client.crt and client.key.
`

type env struct {
	broker string
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	loc    *time.Location
	// progress shows progress bars when stderr is a terminal.
	progress bool
	// tls has the client certificate for mqtts:// brokers (--tls).
	tls *tls.Config
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runEnv(ctx, args, stdout, stderr, nil)
}

// runEnv is run with a hook to set the clock and zone (tests).
func runEnv(ctx context.Context, args []string, stdout, stderr io.Writer, adjust func(*env)) error {
	fs := flag.NewFlagSet("hearthctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	broker := fs.String("broker", envOr("HEARTH_BROKER", "mqtt://127.0.0.1:1883"), "MQTT broker `url`")
	tlsDir := fs.String("tls", os.Getenv("HEARTH_TLS_DIR"), "`folder` with ca.crt, client.crt, client.key for mqtts:// (provision client-cert)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	e := &env{broker: *broker, stdout: stdout, stderr: stderr, now: time.Now, loc: time.Local,
		progress: isTerminal(stderr)}
	var err error
	if e.tls, err = tlsConfig(*broker, *tlsDir); err != nil {
		return err
	}
	if adjust != nil {
		adjust(e)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	cmd, sub := rest[0], ""
	if len(rest) > 1 {
		sub = rest[1]
	}
	switch {
	case cmd == "send" && sub == "photo":
		return e.sendPhoto(ctx, rest[2:])
	case cmd == "send" && sub == "message":
		return e.sendMessage(ctx, rest[2:])
	case cmd == "content" && sub == "ls":
		return e.contentList(ctx, rest[2:])
	case cmd == "content" && sub == "rm":
		return e.contentRemove(ctx, rest[2:])
	case cmd == "blobs" && sub == "serve":
		return e.blobsServe(ctx, rest[2:])
	case cmd == "provision":
		return e.provision(rest[1:])
	case cmd == "caller" && sub == "new":
		return e.callerNew(rest[2:])
	case cmd == "call":
		return e.callCmd(ctx, rest[1:])
	case cmd == "allow":
		return e.allow(ctx, rest[1:])
	case cmd == "admin":
		return e.adminCmd(ctx, rest[1:])
	case cmd == "web":
		return e.web(ctx, rest[1:])
	case cmd == "fleet":
		return e.fleet(ctx, rest[1:])
	case cmd == "activity":
		return e.activity(ctx, rest[1:])
	case cmd == "simulate":
		return e.simulate(ctx, rest[1:])
	case cmd == "demo-photos":
		return e.demoPhotos(rest[1:])
	case cmd == "version":
		fmt.Fprintln(stdout, "hearthctl", Version)
		return nil
	case cmd == "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fs.Usage()
	return fmt.Errorf("unknown command %q", joinFirst(rest, 2))
}

func joinFirst(s []string, n int) string {
	out := ""
	for i := 0; i < len(s) && i < n; i++ {
		if i > 0 {
			out += " "
		}
		out += s[i]
	}
	return out
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// parseTime reads the times hearthctl accepts, in loc when no zone is given.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339, 2006-01-02T15:04 or 2006-01-02", s)
}
