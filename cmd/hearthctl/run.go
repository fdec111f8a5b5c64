package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Version is stamped at build time.
var Version = "dev"

const usage = `usage: hearthctl [--broker URL] COMMAND ...

Commands:
  send photo   --to ID[,ID...] [--days N | --until TIME] [--start TIME] [--caption TEXT] [--caller DIR]
               [--upload STORE-URL | --url URL] [--strict] FILE   (--upload: with $HEARTH_BLOB_TOKEN)
  send message --to ID[,ID...] [--days N | --until TIME] [--start TIME] [--caller DIR] [--strict] TEXT
               (--caller DIR or $HEARTH_CALLER: signed with the sender's key, shown with the name the
               organisation listed; without: unsigned, --from NAME, refused by screens that require signing)
  content ls   --device ID [--at TIME] [--json]
  content rm   --device ID [--caller DIR] ITEM-ID...
  content edit --device ID [--start TIME] [--until TIME | --days N] [--caller DIR] ITEM-ID
               (the content commands, call, book, admin and activity warn when the device has never
               reported to the broker; --strict refuses)
  blobs serve  --dir DIR [--addr HOST:PORT]     (a photo store for photos sent by URL; uploads need
               $HEARTH_BLOB_TOKEN unless --addr is loopback)
  provision ca init --out DIR [--name ORG]      (the organisation's signing key and CA)
  provision new --ca DIR --device ID --broker URL[,URL] --out FILE [--name NAME] [--wifi SSID:PSK]...
                [--timezone ZONE] [--locale L] [--night HH:MM-HH:MM] [--serial S] [--valid 5y]
                [--allow-unsigned-items]   (bundles make screens take only signed items unless this)
  provision inspect FILE [--json]               (show a bundle without its secrets; fails when invalid)
  provision batch --ca DIR --csv FILE --out DIR  (one DEVICE.hearth-bundle.json per CSV row)
  provision broker-cert --ca DIR --host NAME[,IP] --out DIR   (the broker's TLS certificate)
  provision person --ca DIR --id ID --name NAME --out DIR [--admin] [--no-password] [--valid 2y]
                (a person: certificate for hearthctl, signing key, broker password for the web app)
  provision broker-files --ca DIR [--out DIR]   (people.acl, people.passwd and the CRLs for Mosquitto)
  provision client-cert --ca DIR --id NAME --out DIR          (a bare certificate, for --tls)
  provision revoke --ca DIR --device ID|--person ID|--serial HEX|--cert FILE [--reason TEXT]
                [--publish] [--out DIR]
                (shut a lost device out, or a person everywhere: CRLs, password, ACL, allowlists)
  provision crl --ca DIR                        (sign the CRLs again before they expire; monthly from cron)
  caller new   --name NAME --out DIR [--id ID]  (a caller's signing key)
  caller greeting --caller DIR FILE.ogg|--record 5s [--media real|test]
               (a greeting of at most 5 s, Ogg Opus, played after the chime of the caller's forced calls)
  caller picture  --caller DIR FILE              (the caller's picture on call screens: a photo, cut square)
  call         ID --caller DIR [--forced --reason TEXT] [--for 30s] [--json]   (a test caller)
  book         ID --caller DIR --at TIME|HH:MM [--for 15m] [--reason TEXT] [--id ID]
               | ID --caller DIR --cancel ID   (a carer books a call: shown on the screen before)
  allow        --org DIR --device ID --caller DIR|--person ID --may forced,signalled,send,book,admin|both|none
               | --org DIR --publish [--device ID]   (publish the recorded allowlists again)
  admin        ID --org DIR reboot|factory-reset|night HH:MM-HH:MM|off|volume 0-100|
               dnd --for DURATION|--until TIME|off   (signed admin command; dnd: only forced calls)
  web          [--caller DIR] [--ws URL] [--listen HOST:PORT] [--public]
               (the family and carer web app: send, see, book, call)
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
	// width is the width tables are fitted to; 0: the terminal's.
	width int
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
	if c, args, ok := findCommand(rest); ok {
		// --help is asked for, not a mistake: the command's flag set has
		// printed its flags; exit 0 (every command, one place).
		if err := c.run(e, ctx, args); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	if slices.ContainsFunc(rest, isHelp) {
		fmt.Fprint(stdout, usage) // "hearthctl provision --help"
		return nil
	}
	fs.Usage()
	return unknownCommand(rest)
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// command is one hearthctl command: the words that name it ("send photo")
// and what runs it with the arguments after them.
type command struct {
	name string
	run  func(e *env, ctx context.Context, args []string) error
	// hidden commands are helpers for make demo, not in the usage text.
	hidden bool
}

// noCtx adapts a command that needs no context.
func noCtx(f func(e *env, args []string) error) func(*env, context.Context, []string) error {
	return func(e *env, _ context.Context, args []string) error { return f(e, args) }
}

// commands is every command hearthctl runs. The usage text lists them all
// but the hidden ones (TestUsageListsEveryCommand).
var commands = []command{
	{name: "send photo", run: (*env).sendPhoto},
	{name: "send message", run: (*env).sendMessage},
	{name: "content ls", run: (*env).contentList},
	{name: "content rm", run: (*env).contentRemove},
	{name: "content edit", run: (*env).contentEdit},
	{name: "blobs serve", run: (*env).blobsServe},
	{name: "provision ca init", run: noCtx((*env).caInit)},
	{name: "provision new", run: noCtx((*env).provisionNew)},
	{name: "provision inspect", run: noCtx((*env).provisionInspect)},
	{name: "provision batch", run: noCtx((*env).provisionBatch)},
	{name: "provision broker-cert", run: noCtx(func(e *env, args []string) error { return e.provisionCert(args, true) })},
	{name: "provision client-cert", run: noCtx(func(e *env, args []string) error { return e.provisionCert(args, false) })},
	{name: "provision revoke", run: noCtx((*env).provisionRevoke)},
	{name: "provision crl", run: noCtx((*env).provisionCRL)},
	{name: "caller new", run: noCtx((*env).callerNew)},
	{name: "caller greeting", run: noCtx((*env).callerGreeting)},
	{name: "caller picture", run: noCtx((*env).callerPicture)},
	{name: "call", run: (*env).callCmd},
	{name: "book", run: (*env).bookCmd},
	{name: "allow", run: (*env).allow},
	{name: "admin", run: (*env).adminCmd},
	{name: "web", run: (*env).web},
	{name: "fleet", run: (*env).fleet},
	{name: "activity", run: (*env).activity},
	{name: "simulate", run: (*env).simulate},
	{name: "version", run: noCtx(func(e *env, _ []string) error {
		fmt.Fprintln(e.stdout, "hearthctl", Version)
		return nil
	})},
	{name: "help", hidden: true, run: noCtx(func(e *env, _ []string) error {
		fmt.Fprint(e.stdout, usage)
		return nil
	})},
	{name: "demo-photos", hidden: true, run: noCtx((*env).demoPhotos)},
	{name: "demo-content", hidden: true, run: (*env).demoContent},
}

// findCommand finds the command that args start with, and the arguments
// after its name.
func findCommand(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// unknownCommand says what is wrong with args, and for a known first word
// ("provision x") which commands go on from it.
func unknownCommand(args []string) error {
	var next []string
	for _, c := range commands {
		if rest, ok := strings.CutPrefix(c.name, args[0]+" "); ok && !c.hidden {
			next = append(next, rest)
		}
	}
	if len(next) == 0 {
		return fmt.Errorf("unknown command %q", args[0])
	}
	return fmt.Errorf("unknown command %q (%s: %s)", joinFirst(args, 2), args[0], strings.Join(next, ", "))
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
