package mqtttest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// A port taken between choosing it and Mosquitto binding it must not fail
// the test: the broker is started again on other ports. CI once lost a run
// to a WebSockets listener that could not bind.
func TestStartConfRetriesATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := taken.Addr().(*net.TCPAddr).Port

	attempts := 0
	b := StartConf(t, 2, func(ports []int) string {
		attempts++
		ws := ports[1]
		if attempts == 1 {
			ws = busy
		}
		return fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nlistener %d 127.0.0.1\nprotocol websockets\n", ports[0], ws)
	})
	if attempts != 2 {
		t.Fatalf("started after %d attempts, want 2 (the first had a taken port)", attempts)
	}
	if b.Port == 0 {
		t.Fatal("no port")
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	for range 50 {
		ports := FreePorts(t, 3)
		if ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
			t.Fatalf("FreePorts gave a port twice: %v", ports)
		}
	}
}

// Conf is the one broker configuration of the tests and the bench: the
// lines each of its options must give.
func TestConfText(t *testing.T) {
	for name, tc := range map[string]struct {
		c       Conf
		want    []string
		notWant []string
	}{
		"test broker": {
			Conf{Dir: "/d", Port: 1, WSPort: 2, Autosave: time.Second},
			[]string{"user root\n", "listener 1 127.0.0.1\nlistener 2 127.0.0.1\nprotocol websockets\n",
				"persistence true\npersistence_location /d/\nautosave_interval 1\n", "max_queued_messages 100000\n",
				"log_dest file /d/mosquitto.log\n", "log_type notice\n"},
			nil,
		},
		"fleet": {
			Conf{Dir: "/d", Port: 1, MaxQueued: 1000000, Quiet: true, Extra: "max_connections -1\n"},
			[]string{"persistence false\n", "max_queued_messages 1000000\n", "max_connections -1\n"},
			[]string{"websockets", "log_type notice", "persistence_location"},
		},
		"minute autosave": {
			Conf{Dir: "/d", Port: 1, Autosave: time.Minute},
			[]string{"autosave_interval 60\n"},
			nil,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := tc.c.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%+v.String() lacks %q:\n%s", tc.c, w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("%+v.String() has %q:\n%s", tc.c, w, got)
				}
			}
			if !strings.HasSuffix(got, tc.c.Extra) {
				t.Errorf("Extra %q is not last:\n%s", tc.c.Extra, got)
			}
		})
	}
}
