package mqtttest

import (
	"fmt"
	"net"
	"testing"
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
