package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig checks what is sent
	_ "image/png"
	"io"
	"net/http"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	_ "golang.org/x/image/webp"

	"github.com/hearth-home/hearth/media/photo"
	"github.com/hearth-home/hearth/provisioning"
	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/proto"
)

// Default display windows when the sender gives none: a photo for some
// weeks, a message for a day (KOMP's advice to senders).
const (
	defaultPhotoDays   = 14
	defaultMessageDays = 1
)

type sendFlags struct {
	to, from, id, start, until string
	days                       int
	caller                     *string
	strict                     *bool
	fromGiven                  bool // --from was on the command line
}

func (e *env) sendFlagSet(name string, f *sendFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.to, "to", "", "device `id`s, comma separated")
	fs.StringVar(&f.from, "from", defaultFrom(), "sender `name` shown on screen, for an unsigned item (a signed one shows the name listed for the key)")
	fs.StringVar(&f.id, "id", "", "item `id` (to edit an item; default a new one)")
	fs.StringVar(&f.start, "start", "", "show from `TIME` (default now)")
	fs.StringVar(&f.until, "until", "", "show until `TIME`")
	fs.IntVar(&f.days, "days", 0, "show for `N` days")
	f.caller = senderFlag(fs)
	f.strict = strictFlag(fs)
	return fs
}

// parse parses the flags and notes which were given.
func (f *sendFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "from" {
			f.fromGiven = true
		}
	})
	return nil
}

func defaultFrom() string {
	if v := os.Getenv("HEARTH_FROM"); v != "" {
		return v
	}
	if u, err := user.Current(); err == nil {
		if n, _, _ := strings.Cut(u.Name, ","); n != "" {
			return n
		}
		return u.Username
	}
	return ""
}

// item builds the item common to photos and messages, for one device.
func (e *env) item(f *sendFlags, kind proto.Kind, defaultDays int) (proto.Item, []string, error) {
	var devices []string
	for _, d := range strings.Split(f.to, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		if !proto.ValidID(d) {
			return proto.Item{}, nil, fmt.Errorf("--to: device id %q is not valid", d)
		}
		devices = append(devices, d)
	}
	if len(devices) == 0 {
		return proto.Item{}, nil, errors.New("--to: name at least one device")
	}
	now := e.now().Truncate(time.Second)
	it := proto.Item{V: proto.Version, Kind: kind, From: f.from, Created: now, Start: now, Rev: 1, ID: f.id}
	if f.start != "" {
		t, err := parseTime(f.start, e.loc)
		if err != nil {
			return it, nil, fmt.Errorf("--start: %w", err)
		}
		it.Start = t
	}
	switch {
	case f.until != "" && f.days != 0:
		return it, nil, errors.New("give --until or --days, not both")
	case f.until != "":
		t, err := parseTime(f.until, e.loc)
		if err != nil {
			return it, nil, fmt.Errorf("--until: %w", err)
		}
		it.End = t
	case f.days != 0:
		it.Days = f.days
	default:
		it.Days = defaultDays
	}
	if it.ID == "" {
		it.ID = newID(kind)
	}
	return it, devices, nil
}

func newID(kind proto.Kind) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return string(kind[0]) + "-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (e *env) sendMessage(ctx context.Context, args []string) error {
	var f sendFlags
	fs := e.sendFlagSet("send message", &f)
	if err := f.parse(fs, args); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if strings.TrimSpace(text) == "" {
		return errors.New("send message: no text")
	}
	it, devices, err := e.item(&f, proto.KindMessage, defaultMessageDays)
	if err != nil {
		return fmt.Errorf("send message: %w", err)
	}
	it.Text = text
	return e.publishItem(ctx, it, devices, &f)
}

func (e *env) sendPhoto(ctx context.Context, args []string) error {
	var f sendFlags
	fs := e.sendFlagSet("send photo", &f)
	caption := fs.String("caption", "", "caption `text`")
	byURL := fs.String("url", "", "the photo is already at this `url`; send a reference")
	upload := fs.String("upload", "", "upload the photo to this blob store `url` (hearthctl blobs serve) and send a reference")
	uploadToken := fs.String("upload-token", "", "the blob store's upload `token`; default $HEARTH_BLOB_TOKEN, which is better: a flag shows in ps")
	if err := f.parse(fs, args); err != nil {
		return err
	}
	if *uploadToken == "" {
		*uploadToken = os.Getenv("HEARTH_BLOB_TOKEN") // not the flag's default: -h would print it
	}
	if fs.NArg() != 1 {
		return errors.New("send photo: name one photo file")
	}
	if *byURL != "" && *upload != "" {
		return errors.New("send photo: give --url or --upload, not both")
	}
	name := fs.Arg(0)
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("send photo: %w", err)
	}
	cfg, format, refusal := checkPhoto(data)
	if refusal != nil {
		// A screen refuses it. Refused only for the memory its decoder
		// would hold, it goes as a copy made here, which the screens take.
		// A file at --url cannot be changed: there a small copy only tells
		// whether that is the reason.
		side, fitBytes := copySide, proto.MaxInlinePhoto
		switch {
		case *byURL != "":
			side, fitBytes = 64, 0
		case *upload != "":
			fitBytes = 0
		}
		c, err := screenCopy(data, side, fitBytes, refusal)
		if err != nil {
			return fmt.Errorf("send photo %s: %w; nothing sent", name, err)
		}
		if *byURL != "" {
			return fmt.Errorf("send photo %s: %w; nothing sent: --url sends the file as it is, "+
				"while an inline send (no --url) or --upload would send a copy the screens take", name, refusal)
		}
		if cfg, format, err = checkPhoto(c); err != nil {
			return fmt.Errorf("send photo %s: the copy made for the screens: %w; nothing sent", name, err)
		}
		fmt.Fprintf(e.stderr, "%s: %v; sending a copy the screens take: a %dx%d baseline JPEG of %d KiB\n",
			name, refusal, cfg.Width, cfg.Height, len(c)>>10)
		data = c
	}
	it, devices, err := e.item(&f, proto.KindPhoto, defaultPhotoDays)
	if err != nil {
		return fmt.Errorf("send photo: %w", err)
	}
	it.Text = *caption
	switch {
	case *byURL != "" || *upload != "":
		sum := sha256.Sum256(data)
		p := &proto.Photo{URL: *byURL, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
		if *upload != "" {
			if p.URL, err = e.upload(ctx, *upload, *uploadToken, p.SHA256, data); err != nil {
				return fmt.Errorf("send photo: %w", err)
			}
		}
		it.Photo = p
	default:
		if len(data) > proto.MaxInlinePhoto {
			// Too big to travel inside the message: make a copy that fits,
			// still far larger than any screen needs.
			fmt.Fprintf(e.stderr, "%s is %d KiB (%dx%d %s); sending a copy scaled to fit %d KiB\n",
				name, len(data)>>10, cfg.Width, cfg.Height, format, proto.MaxInlinePhoto>>10)
			if data, err = photo.FitInline(data, proto.MaxInlinePhoto, copySide); err != nil {
				return fmt.Errorf("send photo: %w", err)
			}
		}
		sum := sha256.Sum256(data)
		it.Photo = &proto.Photo{Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}
	}
	return e.publishItem(ctx, it, devices, &f)
}

// checkPhoto checks a photo as the device will before anything is sent:
// its header (format, pixel limits, decoded-byte budget) and then every
// byte of it, decoded: a file cut short in a download has a whole header
// and a truncated body.
func checkPhoto(data []byte) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return cfg, "", fmt.Errorf("not a JPEG, PNG or WebP photo: %w", err)
	}
	// Prepare refuses by the header what a device refuses (pixel limits)
	// and decodes the whole image; the small screen keeps the copy cheap.
	if _, err := photo.Prepare(data, photo.Screen{W: 64, H: 64}, photo.Limits{}); err != nil {
		return cfg, format, screenRefusal(err)
	}
	return cfg, format, nil
}

// screenRefusal says why a screen would refuse a photo, from Prepare's
// error.
func screenRefusal(err error) error {
	if errors.Is(err, photo.ErrCorrupt) {
		return fmt.Errorf("the photo is damaged or cut short (%w): a screen would refuse it", err)
	}
	return fmt.Errorf("a screen would refuse this photo: %w", err)
}

// copySide is the longest side of a copy that hearthctl makes: more than
// any screen shows.
const copySide = 3840

// senderLimits are a screen's limits (pixels, side, bytes) with a decoded
// budget no photo inside them reaches: the largest, a 50 MP 16-bit RGBA
// interlaced PNG, takes 800 MB in image/png. A sender's computer has that
// memory; a screen does not (budget.go in media/photo).
var senderLimits = photo.Limits{MaxDecodedBytes: 1 << 30}

// screenCopy makes the copy of a photo that the screens take, when
// refusal (checkPhoto's error) says they refuse the original only for
// the memory its decoder would hold (a large progressive JPEG, WebP or
// interlaced PNG): decoded here with senderLimits, upright, scaled to fit
// side px and written as a baseline JPEG, which a screen decodes scaled,
// holding little (4:2:0: 22 MB even at 3840x3840 without libjpeg-turbo).
// With fitBytes > 0 the copy is then brought within fitBytes as FitInline
// does. A photo that is damaged, or over the pixel or side limit, gets its
// refusal, not a copy.
func screenCopy(data []byte, side, fitBytes int, refusal error) ([]byte, error) {
	if !errors.Is(refusal, photo.ErrDimensions) {
		return nil, refusal
	}
	// FitInline takes no Limits (its decode would be refused again):
	// Prepare with a square screen is the same copy at Quality.
	res, err := photo.Prepare(data, photo.Screen{W: side, H: side}, senderLimits)
	switch {
	case errors.Is(err, photo.ErrDimensions):
		return nil, refusal // the pixel or side limit: no copy helps
	case err != nil:
		return nil, screenRefusal(err)
	}
	out := res.JPEG
	if fitBytes > 0 && len(out) > fitBytes {
		if out, err = photo.FitInline(out, fitBytes, side); err != nil {
			return nil, fmt.Errorf("a copy the screens take: %w", err)
		}
	}
	return out, nil
}

// upload PUTs data into a blob store, with token as a bearer token when
// set, and returns the photo's URL there.
func (e *env) upload(ctx context.Context, base, token, sum string, data []byte) (string, error) {
	u := strings.TrimSuffix(base, "/") + "/" + sum
	var body = bytes.NewReader(data)
	var req *http.Request
	var err error
	if e.progress {
		bar := progressbar.DefaultBytes(int64(len(data)), "uploading")
		r := progressbar.NewReader(body, bar)
		req, err = http.NewRequestWithContext(ctx, http.MethodPut, u, &r)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPut, u, body)
	}
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	req.ContentLength = int64(len(data))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return "", fmt.Errorf("upload to %s: %s: %s", u, resp.Status, blobTokenHint)
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return "", fmt.Errorf("upload to %s: %s: %s", u, resp.Status, strings.TrimSpace(string(msg)))
	}
	return u, nil
}

// publishItem sends one item to each device, retained, so a device that
// is set up later still receives what is current; signed with the
// sender's key when f names one.
func (e *env) publishItem(ctx context.Context, it proto.Item, devices []string, f *sendFlags) error {
	who, err := loadSender(*f.caller)
	if err != nil {
		return fmt.Errorf("send %s: %w", it.Kind, err)
	}
	// Check every item before connecting, so a mistake fails as the device
	// would fail it, and before anything is sent.
	items := make([]proto.Item, len(devices))
	for i, d := range devices {
		items[i] = it
		items[i].Device = d
		if err := items[i].Normalize(); err != nil {
			return fmt.Errorf("item for %s: %w", d, err)
		}
	}
	if len(items) > 0 && !items[0].End.After(e.now()) {
		// A screen refuses a signed item that has already ended (expired)
		// and would never show an unsigned one.
		return fmt.Errorf("send %s: it would end at %s, before now: nothing sent", it.Kind, items[0].End.In(e.loc).Format("Mon 2 Jan 15:04"))
	}
	switch {
	case who == nil:
		fmt.Fprintln(e.stderr, unsignedWarning)
	case f.fromGiven && strings.TrimSpace(f.from) != who.Name:
		fmt.Fprintf(e.stderr, "note: a signed item shows the name the organisation listed for %s, not --from %q\n", who.ID, f.from)
	}
	conn, err := hsync.DialTLS(ctx, e.broker, "hearthctl", e.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := e.lookScreens(ctx, conn, "send "+string(it.Kind), devices, *f.strict); err != nil {
		return err
	}
	for _, one := range items {
		if f.id != "" {
			cur, ok, err := e.current(ctx, conn, one.Device, one.ID)
			if err != nil {
				return err
			}
			if ok {
				one.Rev = cur.Rev + 1 // an edit replaces what is there
			}
		}
		if err := e.publishOne(ctx, conn, one, who, "sent"); err != nil {
			return err
		}
	}
	return nil
}

// publishOne signs (when who is set) and publishes one item, retained, and
// says so: "sent message m-x to mum-kitchen: Mon 7 Dec 10:00 until ...".
func (e *env) publishOne(ctx context.Context, conn *hsync.Conn, one proto.Item, who *provisioning.Caller, verb string) error {
	signed := ""
	if who != nil {
		if err := signItem(&one, *who); err != nil {
			return err
		}
		signed = ", signed by " + who.ID
	}
	payload, err := json.Marshal(one)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	if err := conn.Publish(ctx, proto.ContentTopic(one.Device, one.ID), payload, true); err != nil {
		return err
	}
	if one.Deleted {
		fmt.Fprintf(e.stdout, "%s %s from %s%s\n", verb, one.ID, one.Device, signed)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s %s %s to %s: %s until %s%s\n", verb, one.Kind, one.ID, one.Device,
		one.Start.In(e.loc).Format("Mon 2 Jan 15:04"), one.End.In(e.loc).Format("Mon 2 Jan 15:04"), signed)
	return nil
}

// current reads the item the broker holds for device, if any.
func (e *env) current(ctx context.Context, conn *hsync.Conn, device, id string) (proto.Item, bool, error) {
	msgs, err := conn.Retained(ctx, proto.ContentTopic(device, id), 300*time.Millisecond)
	if err != nil {
		return proto.Item{}, false, err
	}
	for _, p := range msgs {
		var it proto.Item
		if json.Unmarshal(p, &it) == nil && it.Rev > 0 {
			return it, true, nil
		}
	}
	return proto.Item{}, false, nil
}
