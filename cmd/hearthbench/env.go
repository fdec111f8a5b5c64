package main

import (
	"context"
	"fmt"
	"image"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
)

// startBroker runs Mosquitto the way sync/mqtttest does, with its
// configuration (mqtttest.Conf): "user root" (so it does not switch users
// and lose the parent-death signal), its own process group, persistence on
// disk, free loopback ports. It returns the broker's
// mqtt:// URL and the ws:// URL of a second listener that speaks MQTT over
// WebSockets, for browsers (the web caller).
func startBroker(ctx context.Context, ps *procs, dir string) (mqttURL, wsURL string, _ *proc, _ error) {
	ports, err := freePorts(2)
	if err != nil {
		return "", "", nil, err
	}
	port, wsPort := ports[0], ports[1]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	cfg := mqtttest.Conf{Dir: dir, Port: port, WSPort: wsPort, Autosave: time.Minute, Extra: nodelay()}
	if err := os.WriteFile(conf, []byte(cfg.String()), 0o600); err != nil {
		return "", "", nil, fmt.Errorf("write mosquitto.conf: %w", err)
	}
	p, _, err := runMosquitto(ctx, ps, "mosquitto", conf, port, 20*time.Millisecond)
	if err != nil {
		return "", "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return "mqtt://" + addr, "ws://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(wsPort)), p, nil
}

// runMosquitto starts Mosquitto on conf and returns once it accepts a TCP
// connection on port (checked every poll), with the time it first did.
func runMosquitto(ctx context.Context, ps *procs, name, conf string, port int, poll time.Duration) (*proc, time.Time, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	p, err := ps.start(name, exec.Command(bin, "-c", conf), nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var up time.Time
	err = waitUntil(ctx, 10*time.Second, poll, "mosquitto to listen on "+addr, func() (bool, error) {
		if !p.running() {
			return false, fmt.Errorf("mosquitto exited: %v\n%s", p.err, p.tail)
		}
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return false, nil
		}
		up = time.Now()
		c.Close()
		return true, nil
	})
	return p, up, err
}

func freePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// freePorts returns n distinct loopback ports that were free a moment ago;
// the listeners are held until all are chosen, so none is handed out twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// xserver is a virtual screen. Its framebuffer is a file that Xvfb maps
// (-fbdir), in XWD format: the bench maps it too and reads the screen
// straight from memory, with no X request and no help from the server.
// That makes a "screenshot" cost about a millisecond instead of the ~100 ms
// of xwd, which would also load the X server while it is measured.
type xserver struct {
	display string
	w, h    int
	proc    *proc
	fbdir   string
	fb      []byte // the mapped framebuffer file
}

// startXvfb starts Xvfb on a free display (-displayfd) with a black root
// window (-br), so an empty screen is plain black, and its framebuffer in a
// file under fbParent (a tmpfs such as /dev/shm, so nothing is written back
// to disk).
func startXvfb(ps *procs, name string, w, h int, fbParent string) (*xserver, error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("no Xvfb: %w", err)
	}
	fbdir, err := os.MkdirTemp(fbParent, "hearthbench-fb-")
	if err != nil {
		return nil, err
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-nolisten", "tcp", "-br", "-noreset", "-fbdir", fbdir)
	cmd.ExtraFiles = []*os.File{wr}
	p, err := ps.start(name, cmd, nil)
	wr.Close()
	if err != nil {
		os.RemoveAll(fbdir)
		return nil, err
	}
	x := &xserver{w: w, h: h, proc: p, fbdir: fbdir}
	buf := make([]byte, 16)
	_ = r.SetReadDeadline(time.Now().Add(15 * time.Second))
	n, err := r.Read(buf) // written once the server accepts connections
	if err != nil {
		x.close()
		return nil, fmt.Errorf("read the display number from Xvfb: %w\n%s", err, p.tail)
	}
	x.display = ":" + strings.TrimSpace(string(buf[:n]))
	if err := x.mapFramebuffer(); err != nil {
		x.close()
		return nil, err
	}
	if _, err := x.screenshot(1); err != nil {
		x.close()
		return nil, err
	}
	return x, nil
}

func (x *xserver) mapFramebuffer() error {
	f, err := os.Open(filepath.Join(x.fbdir, "Xvfb_screen0"))
	if err != nil {
		return fmt.Errorf("open the Xvfb framebuffer: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	x.fb, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map Xvfb framebuffer: %w", err)
	}
	return nil
}

// close stops the server and removes its framebuffer file.
func (x *xserver) close() {
	if x.fb != nil {
		_ = syscall.Munmap(x.fb)
		x.fb = nil
	}
	_ = x.proc.stop(5 * time.Second)
	os.RemoveAll(x.fbdir)
}

// screenshot reads the screen now. step > 1 reads every step-th pixel of
// every step-th row (a smaller image, enough to tell which photo shows).
func (x *xserver) screenshot(step int) (*image.RGBA, error) {
	if x.fb == nil {
		return nil, fmt.Errorf("no framebuffer for Xvfb %s", x.display)
	}
	return decodeXWD(x.fb, step)
}

// shot is one timed screenshot.
type shot struct {
	start, end time.Time
	img        *image.RGBA
}

// pollEvery is the pause between screenshots while the bench watches a
// screen: short enough for a fine timing, long enough that the watching
// does not take a core from what is watched.
const pollEvery = 20 * time.Millisecond

// timedShot waits pollEvery and reads the screen (every 4th pixel).
func (x *xserver) timedShot(ctx context.Context) (shot, error) {
	select {
	case <-time.After(pollEvery):
	case <-ctx.Done():
		return shot{}, ctx.Err()
	}
	s := shot{start: time.Now()}
	img, err := x.screenshot(4)
	s.end = time.Now()
	s.img = img
	return s, err
}

// nodelay is the shipped broker config's set_tcp_nodelay line
// (provisioning/broker), unless HEARTH_BENCH_NAGLE=1 asks for Mosquitto's
// default, to compare.
func nodelay() string {
	if os.Getenv("HEARTH_BENCH_NAGLE") == "1" {
		return ""
	}
	return "set_tcp_nodelay true\n"
}
