package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hearth-home/hearth/provisioning"
	"github.com/hearth-home/hearth/sync/proto"
)

const fiveYears = 5 * 365 * 24 * time.Hour

// What Excel's "CSV UTF-8" and LibreOffice write: a byte order mark, CRLF,
// padded and capitalised names, empty rows as commas, an empty column.
const spreadsheetCSV = "\uFEFFDevice , Name,Broker,Wifi_SSID,wifi_psk,\r\n" +
	"mum-kitchen,Mum's kitchen,mqtts://b.example:8883,Home,correct horse,\r\n" +
	"\r\n" +
	"dad-hall,\"Dad's hall,\r\nupstairs\",mqtts://b.example:8883,,,\r\n" +
	",,,,,\r\n" +
	"gran-lounge,Gran,mqtts://b.example:8883,,,\r\n" +
	",,,,,\r\n\r\n"

func TestParseBatchSpreadsheetQuirks(t *testing.T) {
	rows, err := parseBatch(strings.NewReader(spreadsheetCSV), fiveYears)
	if err != nil {
		t.Fatalf("parseBatch(spreadsheet CSV) = %v, want three devices", err)
	}
	want := []struct {
		line         int
		device, name string
		wifi         int
	}{
		{2, "mum-kitchen", "Mum's kitchen", 1},
		{4, "dad-hall", "Dad's hall,\nupstairs", 0},
		{7, "gran-lounge", "Gran", 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("parseBatch = %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.line != w.line || r.spec.Device != w.device || r.spec.Name != w.name || len(r.spec.WiFi) != w.wifi ||
			len(r.spec.Brokers) != 1 || r.spec.Brokers[0] != "mqtts://b.example:8883" || r.spec.Valid != fiveYears {
			t.Errorf("row %d = line %d %+v, want line %d %s %q with %d Wi-Fi networks", i, r.line, r.spec, w.line, w.device, w.name, w.wifi)
		}
	}
	if psk := rows[0].spec.WiFi[0]; psk.SSID != "Home" || psk.PSK != "correct horse" {
		t.Errorf("mum-kitchen Wi-Fi = %+v, want Home / correct horse", psk)
	}
	// A passphrase is taken as written: WPA allows spaces at its ends
	// (leading ones in double quotes: the reader drops them before a value).
	rows, err = parseBatch(strings.NewReader("device,broker,wifi_ssid,wifi_psk\na,mqtt://b:1, Home ,\" my secret \"\n"), fiveYears)
	if err != nil || len(rows) != 1 || rows[0].spec.WiFi[0] != (provisioning.WiFi{SSID: "Home", PSK: " my secret "}) {
		t.Errorf("spaces around a passphrase: %+v, %v; want Home and \" my secret \"", rows, err)
	}
}

func TestParseBatchRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ csv, want string }{
		"column twice":         {"device,broker,Name, name\na,mqtt://b:1,x,y\n", `column "name" is in the header twice (columns 3 and 4)`},
		"semicolons":           {"device;broker;name\na;mqtt://b:1;x\n", "separated by semicolons: use commas"},
		"quoted semicolons":    {"\uFEFF\"device\";\"broker\"\r\n\"a\";\"mqtt://b:1\"\r\n", "separated by semicolons: use commas"},
		"tabs":                 {"device\tbroker\na\tmqtt://b:1\n", "separated by tabs: use commas"},
		"utf-16":               {"\xff\xfed\x00e\x00v\x00", "UTF-16"},
		"latin-1":              {"device,broker,name\na,mqtt://b:1,K\xf6k\n", "line 2 is not UTF-8"},
		"unknown column":       {"device,broker,colour\na,mqtt://b:1,red\n", `unknown column "colour"`},
		"no broker column":     {"device,name\na,x\n", `no "broker" column`},
		"empty":                {"", "empty"},
		"only a bom":           {"\uFEFF\r\n", "empty"},
		"header only":          {"device,broker\r\n,\r\n", "no devices"},
		"comma in a value":     {"device,name,broker\na,Kitchen, upstairs,mqtt://b:1\n", "line 2: 4 values, the header names 3 columns (a comma inside a value? put that value in double quotes)"},
		"value without header": {"device,,broker\na,x,mqtt://b:1\n", "line 2: a value in column 2, which has no name in the header"},
		"same id in capitals":  {"device,broker\nMum-Kitchen,mqtt://b:1\n\nmum-kitchen,mqtt://b:1\n", "line 4: device mum-kitchen is also on line 2"},
		"psk without ssid":     {"device,broker,wifi_ssid,wifi_psk\na,mqtt://b:1,,secret123\n", "line 2: a wifi_psk without a wifi_ssid"},
		"bad id":               {"device,broker\na/b,mqtt://b:1\n", `line 2: device "a/b" is not a device id`},
		"no broker":            {"device,broker\na,\n", "line 2: no broker"},
		"bare quote":           {"device,broker\na\"b,mqtt://b:1\n", `bare " in non-quoted-field`},
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := parseBatch(strings.NewReader(tc.csv), fiveYears)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseBatch(%q) = %d rows, %v; want an error with %q", tc.csv, len(rows), err, tc.want)
			}
		})
	}
}

// A spreadsheet's export goes through provision batch as it is.
func TestProvisionBatchFromSpreadsheet(t *testing.T) {
	dir := t.TempDir()
	org := filepath.Join(dir, "org")
	mustCtl(t, "provision", "ca", "init", "--out", org)
	csvFile := filepath.Join(dir, "devices.csv")
	if err := os.WriteFile(csvFile, []byte(spreadsheetCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCtl(t, "provision", "batch", "--ca", org, "--csv", csvFile, "--out", filepath.Join(dir, "bundles"))
	if !strings.Contains(out, "3 bundles") {
		t.Fatalf("provision batch = %s, want 3 bundles", out)
	}
	b, err := provisioning.ReadBundleFile(filepath.Join(dir, "bundles", "mum-kitchen"+provisioning.BundleSuffix))
	if err != nil || b.Device != "mum-kitchen" || len(b.WiFi) != 1 {
		t.Fatalf("mum-kitchen's bundle = %+v, %v", b.Redacted(), err)
	}
}

// FuzzReadBatch: any file gives rows or an error, never a panic, and
// whatever is accepted can be issued as it stands: valid device ids that
// differ even without case, a broker each, lines in order, UTF-8 text.
func FuzzReadBatch(f *testing.F) {
	f.Add([]byte(spreadsheetCSV))
	f.Add([]byte("device,name,broker,timezone,locale,night,wifi_ssid,wifi_psk,serial\n" +
		"a,A,mqtts://b:1 mqtts://c:2,Europe/Stockholm,sv,22:00-07:00,Home,secret123,S1\n"))
	f.Add([]byte("device;broker\na;b\n"))
	f.Add([]byte("device,broker,,\n\"a\nb\",x,,\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseBatch(bytes.NewReader(data), fiveYears)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("accepted a file without devices")
		}
		seen := map[string]bool{}
		last := 1
		for _, r := range rows {
			s := r.spec
			if !proto.ValidID(s.Device) {
				t.Fatalf("line %d: accepted device id %q", r.line, s.Device)
			}
			if seen[strings.ToLower(s.Device)] {
				t.Fatalf("line %d: accepted device %q twice", r.line, s.Device)
			}
			seen[strings.ToLower(s.Device)] = true
			if r.line <= last {
				t.Fatalf("row on line %d after line %d", r.line, last)
			}
			last = r.line
			if len(s.Brokers) == 0 || s.Valid != fiveYears {
				t.Fatalf("line %d: %+v, want a broker and the life given", r.line, s)
			}
			for _, v := range append([]string{s.Name, s.Serial, s.Timezone, s.Locale, s.Night}, s.Brokers...) {
				if !utf8.ValidString(v) || v != strings.TrimSpace(v) {
					t.Fatalf("line %d: value %q is not trimmed UTF-8", r.line, v)
				}
			}
			for _, w := range s.WiFi {
				if w.SSID == "" {
					t.Fatalf("line %d: a Wi-Fi network without a name", r.line)
				}
			}
		}
	})
}
