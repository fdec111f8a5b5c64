// Package config is hearthd's one typed configuration: defaults, a JSON
// file, then command-line flags, validated once at load. A provisioning
// bundle (hearthd --bundle-path) supplies the identity, broker and local
// settings over the file's; flags given on the command line win.
package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device"
	"github.com/hearth-home/hearth/sync/proto"
)

// Config is everything hearthd needs to start.
type Config struct {
	DeviceID string `json:"device_id"`
	Broker   string `json:"broker"`
	// FallbackBrokers are tried in turn when Broker cannot be reached;
	// comma-separated on the command line.
	FallbackBrokers []string `json:"fallback_brokers"`
	Data            string   `json:"data"`
	Locale          string   `json:"locale"`
	Timezone        string   `json:"timezone"`
	// Night is "HH:MM-HH:MM" in local time, or "off".
	Night string `json:"night"`
	// NightMode is "dim" or "off" (blank screen).
	NightMode string   `json:"night_mode"`
	Dwell     Duration `json:"dwell"`
	// Screen is the display size photos are scaled for, "WIDTHxHEIGHT".
	Screen    string   `json:"screen"`
	Headless  bool     `json:"headless"`
	Windowed  bool     `json:"windowed"`
	KeepAlive Duration `json:"keepalive"`
	LogLevel  string   `json:"log_level"`
	LogJSON   bool     `json:"log_json"`

	// Panel is how the display itself is powered: off for night-off, on
	// for every call. "x11" (DPMS, or X's screen saver without it),
	// "backlight" (/sys/class/backlight/*/bl_power), "none", or "auto":
	// X11 when DISPLAY is set, else a backlight, else none.
	Panel string `json:"panel"`
	// PrivacyLED names an LED in /sys/class/leds that is lit while the
	// camera or microphone is open ("" for none).
	PrivacyLED string `json:"privacy_led"`

	// Name is what callers see ("Mum's kitchen").
	Name string `json:"name"`
	// Media is "real" (V4L2 camera, ALSA microphone and speaker) or "test"
	// (mediadevices' test pattern and tone, for development and CI);
	// "test-stuck" is "test" with a capture that never finishes closing,
	// for the watchdog's test.
	Media string `json:"media"`
	// OrgKey is the organisation's public key file (org.pub) that signs
	// allowlists; without it the device takes no calls.
	OrgKey string `json:"org_key"`
	// RequireSignedItems refuses photos and messages that no sender on the
	// allowlist signed (docs/protocol.md, "Senders"); off, unsigned items
	// are taken and show the name they carry.
	RequireSignedItems bool     `json:"require_signed_items"`
	Announce           Duration `json:"announce"`
	Ring               Duration `json:"ring"`
	CallLimit          Duration `json:"call_limit"`
	// BookingLead is how long before a carer's booked call the screen
	// shows it ("Nurse Eva will call at 14:00").
	BookingLead Duration `json:"booking_lead"`
	// ICELoopback lets calls use 127.0.0.1 (a caller on the same machine).
	ICELoopback bool `json:"ice_loopback"`
	// ICEServers are STUN/TURN URLs, comma-separated on the command line.
	ICEServers []string `json:"ice_servers"`
	// Heartbeat is how often the device reports its health.
	Heartbeat Duration `json:"heartbeat"`
	// Simulate runs this many light simulated devices instead of one
	// (scale tests); needs --headless.
	Simulate int `json:"simulate"`
	// BundlePath are folders (the boot partition, a USB stick's mount
	// point) where hearthd looks for a provisioning bundle at start;
	// comma-separated on the command line. With it, the device id may
	// come from the bundle.
	BundlePath []string `json:"bundle_path"`
	// BundleWatch is how often a running device looks in BundlePath for
	// a newer bundle (an installer's stick).
	BundleWatch Duration `json:"bundle_watch"`
	// Pprof, when set, serves Go's profiles (net/http/pprof) on this
	// loopback address, for a developer measuring the daemon; off by
	// default, and never on another interface.
	Pprof string `json:"pprof"`

	// Given names the flags set on the command line: they win over a
	// provisioning bundle's values.
	Given map[string]bool `json:"-"`
	// FileErr says why the --config file was refused (unreadable, not
	// JSON, an unknown or bad setting); the config is then the defaults
	// and the command line. Nil when the file was taken or there is none.
	FileErr error `json:"-"`
}

// Locales the screen speaks.
var Locales = []string{"en", "sv", "fi", "de"}

// Default returns the configuration used where nothing else is said.
func Default() Config {
	return Config{
		Broker:      "mqtt://127.0.0.1:1883",
		Data:        "/var/lib/hearthd",
		Locale:      "en",
		Timezone:    "Local",
		Night:       "off",
		NightMode:   "dim",
		Panel:       "auto",
		Dwell:       Duration(15 * time.Second),
		Screen:      "1920x1080",
		KeepAlive:   Duration(30 * time.Second),
		LogLevel:    "info",
		Media:       "real",
		Announce:    Duration(5 * time.Second),
		Ring:        Duration(10 * time.Second),
		CallLimit:   Duration(30 * time.Minute),
		BookingLead: Duration(2 * time.Hour),
		// Loopback candidates let a caller on the same machine (tests, a
		// local web caller) connect; remote callers simply never reach them.
		ICELoopback: true,
		Heartbeat:   Duration(time.Minute),
		BundleWatch: Duration(30 * time.Second),
	}
}

// Duration is a time.Duration written as "15s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "15s" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want \"15s\" or seconds, got %s", b)
		}
		*d = Duration(n * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Load reads defaults, then the file named by --config (if any), then the
// other flags, and validates the result. Errors name the bad setting.
func Load(args []string, stderr io.Writer) (Config, error) {
	cfg := Default()
	fs := flag.NewFlagSet("hearthd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "JSON config `file` (flags override it)")
	// Flags are registered against a scratch copy; only the ones given on
	// the command line are copied over the file's values.
	var f Config
	fs.StringVar(&f.DeviceID, "device-id", "", "this device's `id` (letters, digits, . _ -)")
	fs.StringVar(&f.Broker, "broker", cfg.Broker, "MQTT broker `url`")
	fs.StringVar(&f.Data, "data", cfg.Data, "data `dir` (database and photos)")
	fs.StringVar(&f.Locale, "locale", cfg.Locale, "screen language: "+strings.Join(Locales, ", "))
	fs.StringVar(&f.Timezone, "timezone", cfg.Timezone, "IANA time `zone` for the clock and night hours")
	fs.StringVar(&f.Night, "night", cfg.Night, "night hours `HH:MM-HH:MM`, or off")
	fs.StringVar(&f.NightMode, "night-mode", cfg.NightMode, "at night: dim or off")
	fs.Var((*durationFlag)(&f.Dwell), "dwell", "how long a photo stays on screen, and the least a message does (longer texts stay longer)")
	fs.StringVar(&f.Screen, "screen", cfg.Screen, "screen `size` photos are scaled for")
	fs.BoolVar(&f.Headless, "headless", false, "no display: sync and store only")
	fs.StringVar(&f.Panel, "panel", cfg.Panel, "the display's power, off at night-off and on for calls: x11, backlight, none or auto")
	fs.StringVar(&f.PrivacyLED, "privacy-led", "", "an LED `name` in /sys/class/leds lit while the camera or microphone is open")
	fs.BoolVar(&f.Windowed, "windowed", false, "a window instead of full screen (development)")
	fs.Var((*durationFlag)(&f.KeepAlive), "keepalive", "MQTT keepalive")
	fs.StringVar(&f.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&f.LogJSON, "log-json", false, "log JSON lines")
	fs.StringVar(&f.Name, "name", "", "the device's `name` as callers see it")
	fs.StringVar(&f.Media, "media", cfg.Media, "camera and microphone: real or test")
	fs.StringVar(&f.OrgKey, "org-key", "", "the organisation's public key `file` (org.pub); no calls without it")
	fs.BoolVar(&f.RequireSignedItems, "require-signed-items", false, "refuse photos and messages that no sender on the allowlist signed")
	fs.Var((*durationFlag)(&f.Announce), "announce", "forced calls: chime and notice before the picture")
	fs.Var((*durationFlag)(&f.Ring), "ring", "signalled calls: ring before answering")
	fs.Var((*durationFlag)(&f.CallLimit), "call-limit", "a call's length unless its invite says")
	fs.Var((*durationFlag)(&f.BookingLead), "booking-lead", "how long before a booked call the screen shows it")
	fs.BoolVar(&f.ICELoopback, "ice-loopback", cfg.ICELoopback, "offer loopback ICE candidates too (a caller on this machine; harmless elsewhere)")
	fs.Var((*durationFlag)(&f.Heartbeat), "heartbeat", "how often to report health upward")
	fs.Var((*durationFlag)(&f.BundleWatch), "bundle-watch", "how often a running device looks for a newer provisioning bundle")
	fs.IntVar(&f.Simulate, "simulate", 0, "run `N` light simulated devices (ids DEVICE-ID-00001...) instead of this one; with --headless")
	fs.StringVar(&f.Pprof, "pprof", "", "debug: serve Go's profiles on this loopback `address` (127.0.0.1:6060); off by default")
	var ice string
	fs.StringVar(&ice, "ice-servers", "", "STUN/TURN `urls`, comma-separated")
	var fallbacks string
	fs.StringVar(&fallbacks, "fallback-brokers", "", "further broker `urls`, comma-separated, tried in turn when --broker cannot be reached")
	var bundlePath string
	fs.StringVar(&bundlePath, "bundle-path", "", "`folders` to look for a provisioning bundle in at start, comma-separated (e.g. /boot,/media/usb)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var fileErr error
	if *file != "" {
		cfg, fileErr = readFile(*file, cfg)
	}
	// overlay lays the flags given on the command line over cfg.
	overlay := func(cfg Config) Config {
		cfg.Given = map[string]bool{}
		fs.Visit(func(fl *flag.Flag) {
			cfg.Given[fl.Name] = true
			switch fl.Name {
			case "device-id":
				cfg.DeviceID = f.DeviceID
			case "broker":
				cfg.Broker = f.Broker
			case "data":
				cfg.Data = f.Data
			case "locale":
				cfg.Locale = f.Locale
			case "timezone":
				cfg.Timezone = f.Timezone
			case "night":
				cfg.Night = f.Night
			case "night-mode":
				cfg.NightMode = f.NightMode
			case "dwell":
				cfg.Dwell = f.Dwell
			case "screen":
				cfg.Screen = f.Screen
			case "headless":
				cfg.Headless = f.Headless
			case "panel":
				cfg.Panel = f.Panel
			case "privacy-led":
				cfg.PrivacyLED = f.PrivacyLED
			case "windowed":
				cfg.Windowed = f.Windowed
			case "keepalive":
				cfg.KeepAlive = f.KeepAlive
			case "log-level":
				cfg.LogLevel = f.LogLevel
			case "log-json":
				cfg.LogJSON = f.LogJSON
			case "name":
				cfg.Name = f.Name
			case "media":
				cfg.Media = f.Media
			case "org-key":
				cfg.OrgKey = f.OrgKey
			case "require-signed-items":
				cfg.RequireSignedItems = f.RequireSignedItems
			case "announce":
				cfg.Announce = f.Announce
			case "ring":
				cfg.Ring = f.Ring
			case "call-limit":
				cfg.CallLimit = f.CallLimit
			case "booking-lead":
				cfg.BookingLead = f.BookingLead
			case "ice-loopback":
				cfg.ICELoopback = f.ICELoopback
			case "heartbeat":
				cfg.Heartbeat = f.Heartbeat
			case "bundle-watch":
				cfg.BundleWatch = f.BundleWatch
			case "simulate":
				cfg.Simulate = f.Simulate
			case "pprof":
				cfg.Pprof = f.Pprof
			case "ice-servers":
				cfg.ICEServers = strings.Split(ice, ",")
			case "fallback-brokers":
				cfg.FallbackBrokers = splitList(fallbacks)
			case "bundle-path":
				cfg.BundlePath = splitList(bundlePath)
			}
		})
		return cfg
	}
	out := overlay(cfg)
	err := out.Validate()
	if fileErr == nil && err != nil && *file != "" {
		fileErr = fmt.Errorf("config %s: %w", *file, err)
	}
	if fileErr != nil {
		// A bad file must not keep the device down: it runs on the
		// defaults and the command line (and its provisioning), and
		// says why (FileErr).
		out = overlay(Default())
		if err := out.Validate(); err != nil {
			return Config{}, fmt.Errorf("%w (and the config file was refused: %v)", err, fileErr)
		}
		out.FileErr = fileErr
		return out, nil
	}
	if err != nil {
		return Config{}, err
	}
	return out, nil
}

// readFile lays the JSON config file at path over cfg.
func readFile(path string, cfg Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid config")

// Validate checks every setting.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if c.DeviceID == "" && (len(c.BundlePath) == 0 || c.Simulate > 0) {
		return bad("no device id (--device-id, or --bundle-path to take it from a provisioning bundle)")
	}
	if c.DeviceID != "" && !proto.ValidID(c.DeviceID) {
		return bad("device id %q: letters, digits, '.', '_' and '-' only, at most 64", c.DeviceID)
	}
	if c.Data == "" {
		return bad("no data directory")
	}
	for _, b := range append([]string{c.Broker}, c.FallbackBrokers...) {
		if !strings.Contains(b, "://") {
			return bad("broker %q: want mqtt://host:port", b)
		}
	}
	ok := false
	for _, l := range Locales {
		ok = ok || l == c.Locale
	}
	if !ok {
		return bad("locale %q: want one of %s", c.Locale, strings.Join(Locales, ", "))
	}
	if _, err := c.Location(); err != nil {
		return bad("timezone %q: %v", c.Timezone, err)
	}
	if _, err := device.ParseNightHours(c.Night); err != nil {
		return bad("night hours %q: %v", c.Night, err)
	}
	if c.NightMode != "dim" && c.NightMode != "off" {
		return bad("night mode %q: want dim or off", c.NightMode)
	}
	switch c.Panel {
	case "auto", "x11", "backlight", "none":
	default:
		return bad("panel %q: want x11, backlight, none or auto", c.Panel)
	}
	if strings.ContainsAny(c.PrivacyLED, "/") || c.PrivacyLED == "." || c.PrivacyLED == ".." {
		return bad("privacy led %q: want the name of an LED in /sys/class/leds", c.PrivacyLED)
	}
	if c.Media != "real" && c.Media != "test" && c.Media != "test-stuck" {
		return bad("media %q: want real or test", c.Media)
	}
	if len([]rune(c.Name)) > proto.MaxName {
		return bad("name: at most %d characters", proto.MaxName)
	}
	for _, d := range []struct {
		name string
		v    Duration
		max  time.Duration
	}{{"announce", c.Announce, time.Minute}, {"ring", c.Ring, 2 * time.Minute}, {"call-limit", c.CallLimit, proto.MaxCallLimit},
		{"booking-lead", c.BookingLead, 24 * time.Hour}} {
		if d.v <= 0 || time.Duration(d.v) > d.max {
			return bad("%s %s: want more than 0 and at most %s", d.name, time.Duration(d.v), d.max)
		}
	}
	if w := time.Duration(c.BundleWatch); w < 100*time.Millisecond || w > time.Hour {
		return bad("bundle-watch %s: want 100ms to 1h", w)
	}
	if time.Duration(c.Heartbeat) < time.Second || time.Duration(c.Heartbeat) > time.Hour {
		return bad("heartbeat %s: want 1s to 1h", time.Duration(c.Heartbeat))
	}
	if c.Simulate < 0 || c.Simulate > 100000 || (c.Simulate > 0 && !c.Headless) {
		return bad("simulate %d: 0 to 100000 devices, and only with --headless", c.Simulate)
	}
	if c.Pprof != "" {
		host, _, err := net.SplitHostPort(c.Pprof)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return bad("pprof %q: want a loopback address such as 127.0.0.1:6060 (profiles show the daemon's insides)", c.Pprof)
		}
	}
	for _, u := range c.ICEServers {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return bad("ice server %q: want stun:, turn: or turns:", u)
		}
	}
	if c.Dwell < Duration(3*time.Second) || c.Dwell > Duration(24*time.Hour) {
		return bad("dwell %s: want 3s to 24h", time.Duration(c.Dwell))
	}
	if c.KeepAlive < Duration(time.Second) {
		return bad("keepalive %s: want at least 1s", time.Duration(c.KeepAlive))
	}
	if _, _, err := c.ScreenSize(); err != nil {
		return bad("%v", err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log level %q", c.LogLevel)
	}
	return nil
}

// Location loads the configured time zone.
func (c Config) Location() (*time.Location, error) {
	if c.Timezone == "" || c.Timezone == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(c.Timezone)
}

// ScreenSize parses Screen.
func (c Config) ScreenSize() (w, h int, err error) {
	ws, hs, ok := strings.Cut(c.Screen, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 160 || h < 120 || w > 8192 || h > 8192 {
		return 0, 0, fmt.Errorf("screen %q: want WIDTHxHEIGHT, e.g. 1920x1080", c.Screen)
	}
	return w, h, nil
}

type durationFlag Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationFlag(v)
	return nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
