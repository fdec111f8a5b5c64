package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/provisioning/broker"
	"github.com/hearth-home/hearth/sync/proto"
)

// wifiFlags collects --wifi SSID:PSK (repeatable).
type wifiFlags []provisioning.WiFi

func (w *wifiFlags) String() string { return fmt.Sprint(len(*w), " networks") }
func (w *wifiFlags) Set(s string) error {
	ssid, psk, _ := strings.Cut(s, ":")
	*w = append(*w, provisioning.WiFi{SSID: ssid, PSK: psk})
	return nil
}

// parseValid reads a certificate's life: "5y", "90d" or a Go duration.
func parseValid(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"y": 365 * 24 * time.Hour, "d": 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 || time.Duration(v) > 30*365*24*time.Hour/unit {
				return 0, fmt.Errorf("--valid %q: want e.g. 5y, 90d or 2160h", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--valid %q: want e.g. 5y, 90d or 2160h", s)
	}
	return d, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// provisionNew: hearthctl provision new --ca DIR --device ID --broker URL[,URL] --out FILE ...
func (e *env) provisionNew(args []string) error {
	fs := flag.NewFlagSet("provision new", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	device := fs.String("device", "", "device `id`")
	brokers := fs.String("broker", "", "broker `urls`, comma-separated, in order of preference (mqtts://host:8883)")
	out := fs.String("out", "", "bundle `file` to write (the device looks for "+provisioning.BundleFile+")")
	name := fs.String("name", "", "the device's `name` as callers see it")
	var wifi wifiFlags
	fs.Var(&wifi, "wifi", "a Wi-Fi network `SSID:PSK` (PSK empty for an open network); repeat for more")
	tz := fs.String("timezone", "", "IANA time `zone` (Europe/Stockholm); empty: the device's")
	locale := fs.String("locale", "", "screen language: en, sv, fi, de; empty: the device's")
	night := fs.String("night", "", "night hours `HH:MM-HH:MM` or off; empty: the device's")
	serial := fs.String("serial", "", "bind the bundle to the unit with this hardware `serial`")
	valid := fs.String("valid", "5y", "the device certificate's life (5y, 90d, 2160h)")
	unsigned := fs.Bool("allow-unsigned-items", false, "let the device take unsigned photos and messages (older senders); by default it takes only signed ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || *device == "" || *brokers == "" || *out == "" {
		return errors.New("provision new: --ca, --device, --broker and --out are required")
	}
	v, err := parseValid(*valid)
	if err != nil {
		return fmt.Errorf("provision new: %w", err)
	}
	spec := provisioning.Spec{Device: *device, Name: *name, Serial: *serial, Brokers: splitList(*brokers),
		WiFi: wifi, Timezone: *tz, Locale: *locale, Night: *night, Valid: v, RequireSignedItems: !*unsigned}
	b, err := provisioning.IssueFromDir(*orgDir, spec, e.now())
	if err != nil {
		return fmt.Errorf("provision new: %w", err)
	}
	if err := writeBundle(*out, b); err != nil {
		return fmt.Errorf("provision new: %w", err)
	}
	fmt.Fprintf(e.stdout, "bundle for %s in %s; copy it to the device's boot partition as %s\n", b.Device, *out, provisioning.BundleFile)
	return nil
}

// writeBundle writes a new bundle file, 0600 (it holds a private key); an
// existing file is never overwritten.
func writeBundle(path string, b provisioning.Bundle) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b.Encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// inspection is what provision inspect --json prints.
type inspection struct {
	File        string               `json:"file"`
	Valid       bool                 `json:"valid"`
	Error       string               `json:"error,omitempty"`
	Bundle      *provisioning.Bundle `json:"bundle,omitempty"` // redacted
	CertSubject string               `json:"cert_subject,omitempty"`
	CertExpires *time.Time           `json:"cert_expires,omitempty"`
	OrgKeySHA   string               `json:"org_key_sha256,omitempty"`
}

// provisionInspect: hearthctl provision inspect FILE [--json]. It exits
// non-zero when the device would refuse the bundle.
func (e *env) provisionInspect(args []string) error {
	fs := flag.NewFlagSet("provision inspect", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	// The file may come before or after the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if file == "" || fs.NArg() > 0 {
		return errors.New("provision inspect: want one bundle FILE")
	}
	in := inspection{File: file}
	b, err := provisioning.ReadBundleFile(file)
	if errors.Is(err, provisioning.ErrWorldReadable) {
		// Show it anyway; the device would refuse it.
		if raw, rerr := os.ReadFile(file); rerr == nil {
			if b2, derr := provisioning.DecodeBundle(raw); derr == nil {
				b = b2
				in.Bundle = &b
			}
		}
	} else if err == nil {
		in.Bundle = &b
		err = b.Check(e.now())
	}
	if err != nil {
		in.Error = err.Error()
	}
	in.Valid = err == nil
	if in.Bundle != nil {
		r := b.Redacted()
		in.Bundle = &r
		if c, cerr := b.Certificate(); cerr == nil {
			in.CertSubject = c.Subject.CommonName
			exp := c.NotAfter.UTC()
			in.CertExpires = &exp
		}
		if k, kerr := b.OrgPublic(); kerr == nil {
			sum := sha256.Sum256(k)
			in.OrgKeySHA = hex.EncodeToString(sum[:])
		}
	}
	if *asJSON {
		j, _ := json.MarshalIndent(in, "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", j)
	} else {
		printInspection(e.stdout, in)
	}
	if err != nil {
		return fmt.Errorf("provision inspect: %w", err)
	}
	return nil
}

func printInspection(w io.Writer, in inspection) {
	fmt.Fprintf(w, "file       %s\n", in.File)
	if b := in.Bundle; b != nil {
		fmt.Fprintf(w, "device     %s\n", b.Device)
		if b.Name != "" {
			fmt.Fprintf(w, "name       %s\n", b.Name)
		}
		if b.Serial != "" {
			fmt.Fprintf(w, "serial     %s (only that unit takes it)\n", b.Serial)
		}
		fmt.Fprintf(w, "issued     %s\n", b.Issued.UTC().Format(time.RFC3339))
		fmt.Fprintf(w, "brokers    %s\n", strings.Join(b.Brokers, ", "))
		for _, n := range b.WiFi {
			sec := "open"
			if n.PSK != "" {
				sec = "passphrase (redacted)"
			}
			fmt.Fprintf(w, "wifi       %q, %s\n", n.SSID, sec)
		}
		orDevice := func(s string) string {
			if s == "" {
				return "(the device's own)"
			}
			return s
		}
		fmt.Fprintf(w, "timezone   %s\nlocale     %s\nnight      %s\n", orDevice(b.Timezone), orDevice(b.Locale), orDevice(b.Night))
		items := "signed only (the sender's name from the allowlist)"
		if !b.RequireSignedItems {
			items = "signed, and unsigned too (--allow-unsigned-items)"
		}
		fmt.Fprintf(w, "items      %s\n", items)
		if in.CertExpires != nil {
			fmt.Fprintf(w, "cert       CN=%s, expires %s\n", in.CertSubject, in.CertExpires.Format(time.DateOnly))
		}
		if in.OrgKeySHA != "" {
			fmt.Fprintf(w, "org key    sha256 %s\n", in.OrgKeySHA[:16])
		}
	}
	if in.Valid {
		fmt.Fprintln(w, "valid      yes")
	} else {
		fmt.Fprintf(w, "valid      NO: %s\n", in.Error)
	}
}

// provisionCert: hearthctl provision broker-cert --ca DIR --host NAME[,IP] --out DIR
// and provision client-cert --ca DIR --id NAME --out DIR (an admin's
// hearthctl --tls DIR).
func (e *env) provisionCert(args []string, server bool) error {
	name := "provision client-cert"
	if server {
		name = "provision broker-cert"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	hosts := fs.String("host", "", "the broker's host `names` and IP addresses, comma-separated (broker-cert)")
	id := fs.String("id", "", "the client's `id`, its user name at the broker (client-cert)")
	out := fs.String("out", "", "`folder` to write ca.crt and the certificate and key to")
	valid := fs.String("valid", "5y", "the certificate's life (5y, 90d, 2160h)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || *out == "" || (server && *hosts == "") || (!server && *id == "") {
		if server {
			return fmt.Errorf("%s: --ca, --host and --out are required", name)
		}
		return fmt.Errorf("%s: --ca, --id and --out are required", name)
	}
	v, err := parseValid(*valid)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if server {
		ca, err := provisioning.LoadCA(*orgDir)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		crt, key, err := ca.IssueServer(splitList(*hosts), v, e.now())
		if err == nil {
			err = provisioning.WriteServerCert(*out, ca, crt, key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(e.stdout, "broker certificate for %s in %s (mosquitto: cafile %s, certfile %s, keyfile %s)\n",
			*hosts, *out, provisioning.CACertFile, provisioning.ServerCertFile, provisioning.ServerKeyFile)
		return nil
	}
	if !proto.ValidID(*id) {
		return fmt.Errorf("%s: --id %q: letters, digits, '.', '_' and '-'", name, *id)
	}
	// People (admins, senders, callers) get certificates from the
	// organisation's people CA: the shipped broker trusts it on the people
	// listener only, and the device CA on the device listener only
	// (docs/broker.md).
	if err := broker.IssuePerson(*orgDir, *id, v, e.now(), *out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(e.stdout, "client certificate for %s in %s (hearthctl --tls %s, or HEARTH_TLS_DIR)\n", *id, *out, *out)
	// The broker's people.acl is made from the registry and the
	// allowlists: a certificate alone opens no topic.
	if reg, err := provisioning.ReadRegistry(*orgDir); err == nil {
		if p, ok := reg.Find(*id); !ok {
			fmt.Fprintf(e.stderr, "note: %s is not in the organisation's registry: the broker gives a certificate rights only for a person\n"+
				"made with provision person (a fleet admin: provision person --admin) or listed on an allowlist\n", *id)
		} else if !p.Active() {
			fmt.Fprintf(e.stderr, "note: %s was revoked: the broker's files give this certificate no rights\n", *id)
		}
	}
	return nil
}

// provisionBatch: hearthctl provision batch --ca DIR --csv FILE --out DIR.
// Every row is checked before any bundle is written.
func (e *env) provisionBatch(args []string) error {
	fs := flag.NewFlagSet("provision batch", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	orgDir := fs.String("ca", "", "the organisation's `folder` (provision ca init)")
	csvFile := fs.String("csv", "", "`file`: a header row, then one device a row; CSV UTF-8 with commas, columns "+strings.Join(batchColumns, ","))
	out := fs.String("out", "", "`folder` for the bundles, one DEVICE"+provisioning.BundleSuffix+" each")
	valid := fs.String("valid", "5y", "the device certificates' life (5y, 90d, 2160h)")
	unsigned := fs.Bool("allow-unsigned-items", false, "let the devices take unsigned photos and messages (older senders); by default they take only signed ones")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *orgDir == "" || *csvFile == "" || *out == "" {
		return errors.New("provision batch: --ca, --csv and --out are required")
	}
	v, err := parseValid(*valid)
	if err != nil {
		return fmt.Errorf("provision batch: %w", err)
	}
	specs, err := readBatch(*csvFile, v)
	if err != nil {
		return fmt.Errorf("provision batch: %w", err)
	}
	org, err := provisioning.LoadOrg(*orgDir)
	if err != nil {
		return fmt.Errorf("provision batch: %w", err)
	}
	ca, err := provisioning.LoadCA(*orgDir)
	if err != nil {
		return fmt.Errorf("provision batch: %w", err)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("provision batch: %w", err)
	}
	var bar *progressbar.ProgressBar
	if e.progress {
		bar = progressbar.NewOptions(len(specs), progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription("bundles"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	var errs []error
	made := 0
	for _, r := range specs {
		r.spec.RequireSignedItems = !*unsigned
		b, err := provisioning.Issue(org, ca, r.spec, e.now())
		if err == nil {
			err = writeBundle(filepath.Join(*out, r.spec.Device+provisioning.BundleSuffix), b)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s line %d (%s): %w", *csvFile, r.line, r.spec.Device, err))
		} else {
			made++
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(e.stdout, "%d bundles in %s; copy each to its device's boot partition as %s (or alone, under its own name)\n",
		made, *out, provisioning.BundleFile)
	if len(errs) > 0 {
		return fmt.Errorf("provision batch: %d rows failed: %w", len(errs), errors.Join(errs...))
	}
	return nil
}

type batchRow struct {
	line int
	spec provisioning.Spec
}

// maxBatchCSV bounds the installer's CSV: ten thousand devices fit in a
// tenth of it.
const maxBatchCSV = 16 << 20

// batchColumns are the columns of provision batch --csv, in the order the
// error messages list them.
var batchColumns = []string{"device", "name", "broker", "timezone", "locale", "night", "wifi_ssid", "wifi_psk", "serial"}

// readBatch reads the installer's CSV file (provision batch --csv).
func readBatch(path string, valid time.Duration) ([]batchRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := parseBatch(f, valid)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

// parseBatch reads the installer's CSV by its header's column names; every
// row is checked as far as can be without the keys. It takes what
// spreadsheets write when they save CSV: a UTF-8 byte order mark, CRLF line
// ends, empty rows (also as a line of commas), padded column names, and
// refuses with what to do instead what would otherwise be read wrongly:
// another separator, another encoding, a column named twice, a row with
// more values than the header has columns.
func parseBatch(in io.Reader, valid time.Duration) ([]batchRow, error) {
	data, err := io.ReadAll(io.LimitReader(in, maxBatchCSV+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBatchCSV {
		return nil, fmt.Errorf("larger than %d MiB; split it", maxBatchCSV>>20)
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, errors.New(`the file is UTF-16 text (a spreadsheet's "Unicode text"); save it as "CSV UTF-8", with commas`)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // the byte order mark of Excel's "CSV UTF-8"
	if !utf8.Valid(data) {
		bad := len(data)
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				bad = i
				break
			}
			i += n
		}
		return nil, fmt.Errorf(`line %d is not UTF-8 text (saved in a local code page?); save the file as "CSV UTF-8"`, 1+bytes.Count(data[:bad], []byte("\n")))
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.ContainsRune(first, ',') {
		for sep, name := range map[rune]string{';': "semicolons", '\t': "tabs"} {
			if bytes.ContainsRune(first, sep) {
				return nil, fmt.Errorf("the header is separated by %s: use commas (save as CSV with \"Field delimiter: ,\" or change the list separator); want %s",
					name, strings.Join(batchColumns, ","))
			}
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty: want a header row and at least one device")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			continue // an unnamed column must stay empty (checked below)
		}
		if j, ok := col[name]; ok {
			return nil, fmt.Errorf("column %q is in the header twice (columns %d and %d); keep one", name, j+1, i+1)
		}
		if !slices.Contains(batchColumns, name) {
			return nil, fmt.Errorf("unknown column %q (want %s)", name, strings.Join(batchColumns, ","))
		}
		col[name] = i
	}
	for _, need := range []string{"device", "broker"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("no %q column (want %s)", need, strings.Join(batchColumns, ","))
		}
	}
	raw := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	get := func(rec []string, name string) string { return strings.TrimSpace(raw(rec, name)) }
	var out []batchRow
	var errs []error
	seen := map[string]int{} // lower case: the bundles' file names must differ on a FAT USB stick too
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if !slices.ContainsFunc(rec, func(v string) bool { return strings.TrimSpace(v) != "" }) {
			continue // an empty row, often ",,,," at the end of a spreadsheet
		}
		if extra := unnamedValue(rec, header); extra > 0 {
			if extra > len(header) {
				errs = append(errs, fmt.Errorf("line %d: %d values, the header names %d columns (a comma inside a value? put that value in double quotes)", line, len(rec), len(header)))
			} else {
				errs = append(errs, fmt.Errorf("line %d: a value in column %d, which has no name in the header", line, extra))
			}
			continue
		}
		s := provisioning.Spec{Device: get(rec, "device"), Name: get(rec, "name"), Serial: get(rec, "serial"),
			Brokers: splitList(get(rec, "broker")), Timezone: get(rec, "timezone"), Locale: get(rec, "locale"),
			Night: get(rec, "night"), Valid: valid}
		// A WPA passphrase may begin or end with spaces: taken as written
		// (leading ones need double quotes, TrimLeadingSpace).
		ssid, psk := get(rec, "wifi_ssid"), raw(rec, "wifi_psk")
		if strings.TrimSpace(psk) == "" {
			psk = ""
		}
		if ssid != "" {
			s.WiFi = []provisioning.WiFi{{SSID: ssid, PSK: psk}}
		}
		key := strings.ToLower(s.Device)
		var bad error
		switch {
		case !proto.ValidID(s.Device):
			bad = fmt.Errorf("device %q is not a device id (letters, digits, '.', '_' and '-')", s.Device)
		case seen[key] != 0:
			bad = fmt.Errorf("device %s is also on line %d", s.Device, seen[key])
		case len(s.Brokers) == 0:
			bad = errors.New("no broker")
		case psk != "" && ssid == "":
			bad = errors.New("a wifi_psk without a wifi_ssid")
		}
		if proto.ValidID(s.Device) && seen[key] == 0 {
			seen[key] = line
		}
		if bad != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, bad))
			continue
		}
		out = append(out, batchRow{line: line, spec: s})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no devices: want a header row and at least one device")
	}
	return out, nil
}

// unnamedValue is the column (from 1) of rec's first value under no name
// in header: past its end, or under an empty name. 0 when there is none.
func unnamedValue(rec, header []string) int {
	for i, v := range rec {
		if strings.TrimSpace(v) != "" && (i >= len(header) || strings.TrimSpace(header[i]) == "") {
			return i + 1
		}
	}
	return 0
}
