package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-home/hearth/sync/mqtttest"
)

// The fleet section: b.p.fleetDevices simulated devices (hearthctl
// simulate, one MQTT connection each) on one local Mosquitto; how long
// `hearthctl fleet --json` takes to list them all, its peak memory, and the
// simulator's memory per device. The anchor is the broker's raw read
// speed: mosquitto_sub reading the same retained state topics.

// fleetReps is how many times the listing is timed; the median is kept.
const fleetReps = 3

func (b *bench) fleet(ctx context.Context) ([]Result, error) {
	n := b.p.fleetDevices
	// Each device is a socket in the simulator and one in the broker; both
	// are children and inherit this limit (Go gives up restoring its
	// original soft limit in children once the program sets one itself).
	if err := raiseNoFile(uint64(n + 4096)); err != nil {
		return nil, err
	}
	broker, bp, err := startFleetBroker(ctx, b.ps, filepath.Join(b.work, "fleet-broker"))
	if err != nil {
		return nil, err
	}
	defer func() { _ = bp.stop(10 * time.Second) }()

	ctl := filepath.Join(b.bin, "hearthctl")
	all := make(chan struct{})
	want := fmt.Sprintf("connected=%d total=%d", n, n)
	started := time.Now()
	sim, err := b.ps.start("hearthctl simulate", exec.Command(ctl, "--broker", broker, "simulate",
		"--devices", strconv.Itoa(n), "--heartbeat", "60s"), func(line string) {
		if strings.Contains(line, want) {
			select {
			case <-all:
			default:
				close(all)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer func() { _ = sim.stop(60 * time.Second) }()
	select {
	case <-all:
	case <-sim.done:
		return nil, fmt.Errorf("the simulator exited: %v\n%s", sim.err, sim.tail)
	case <-time.After(5 * time.Minute):
		return nil, fmt.Errorf("not all %d devices connected in 5 min:\n%s", n, sim.tail)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rampTook := time.Since(started)
	b.log.Info("fleet connected", "devices", n, "took", rampTook.Round(time.Millisecond))
	// Let the births and first heartbeats settle on the broker.
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return nil, err
	}
	simMem, _, err := sysProc.treeMemory(sim.pid(), false)
	if err != nil {
		return nil, fmt.Errorf("simulator memory: %w", err)
	}
	brokerMem, _, err := sysProc.treeMemory(bp.pid(), false)
	if err != nil {
		return nil, fmt.Errorf("broker memory: %w", err)
	}

	var walls, anchors []time.Duration
	var peak uint64
	for range fleetReps {
		wall, rss, err := b.timeFleet(ctx, ctl, broker, n)
		if err != nil {
			return nil, err
		}
		walls = append(walls, wall)
		peak = max(peak, rss)
	}
	anchorName := "mosquitto_sub, the same retained state topics (raw broker read)"
	if _, err := exec.LookPath("mosquitto_sub"); err == nil {
		for range fleetReps {
			d, err := timeMosquittoSub(ctx, broker, n)
			if err != nil {
				return nil, err
			}
			anchors = append(anchors, d)
		}
	} else {
		anchorName = "mosquitto_sub (not installed: .ci/deps.sh bench)"
		b.log.Warn("no mosquitto_sub; the fleet listing has no anchor")
	}
	b.log.Info("fleet listing", "ms", walls, "anchor_ms", anchors)

	// The devices' clean stop, for the record.
	stopStart := time.Now()
	if err := sim.stop(60 * time.Second); err != nil {
		b.log.Warn("simulator stop", "err", err)
	}
	stopTook := time.Since(stopStart)

	const quiet = 500 * time.Millisecond // hearthctl fleet's default quiet period
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	med := ms(median(walls))
	rows := []Result{
		newResult(fmt.Sprintf("fleet.list_%d_devices", n), med, "ms", anchorName, ms(median(anchors)), goal{}),
		newResult(fmt.Sprintf("fleet.list_%d_devices_without_quiet", n), med-ms(quiet), "ms",
			"the same minus the 500 ms of silence hearthctl waits for", 0, goal{}),
		newResult(fmt.Sprintf("fleet.list_%d_devices_peak_rss", n), float64(peak)/mib, "MiB", "", 0, goal{}),
		newResult("fleet.simulator_rss_per_device", float64(simMem.RSS)/float64(n)/1024, "KiB",
			"", 0, goal{}),
		newResult("fleet.broker_rss_per_device", float64(brokerMem.RSS)/float64(n)/1024, "KiB",
			"", 0, goal{}),
		newResult(fmt.Sprintf("fleet.connect_%d_devices", n), rampTook.Seconds(), "s", "", 0, goal{}),
		newResult(fmt.Sprintf("fleet.disconnect_%d_devices", n), stopTook.Seconds(), "s", "", 0, goal{}),
	}
	return rows, nil
}

// timeFleet runs `hearthctl fleet --json` under GNU time and checks that
// it listed every device, ready.
func (b *bench) timeFleet(ctx context.Context, ctl, broker string, n int) (time.Duration, uint64, error) {
	rssFile, err := os.CreateTemp(b.work, "maxrss-")
	if err != nil {
		return 0, 0, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, timeBin, "-f", "%M", "-o", rssFile.Name(), ctl, "--broker", broker, "fleet", "--json")
	c.Stdout, c.Stderr = &out, &errb
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := c.Run(); err != nil {
		return 0, 0, fmt.Errorf("hearthctl fleet: %w\n%s", err, errb.String())
	}
	wall := time.Since(start)
	var rows []struct {
		DeviceID string `json:"device_id"`
		State    string `json:"state"`
		Session  uint64 `json:"session"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		return 0, 0, fmt.Errorf("hearthctl fleet --json: %w", err)
	}
	ready := 0
	for _, r := range rows {
		if r.State == "ready" && r.Session > 0 {
			ready++
		}
	}
	if len(rows) != n || ready != n {
		return 0, 0, fmt.Errorf("hearthctl fleet listed %d devices, %d ready with a session; want %d", len(rows), ready, n)
	}
	rss, err := readKB(rssFile.Name())
	return wall, rss, err
}

// timeMosquittoSub reads n retained state messages with mosquitto_sub.
func timeMosquittoSub(ctx context.Context, broker string, n int) (time.Duration, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return 0, err
	}
	c := exec.CommandContext(ctx, "mosquitto_sub", "-h", u.Hostname(), "-p", u.Port(),
		"-t", "hearth/v1/dev/+/state", "-C", strconv.Itoa(n), "-v", "-W", "120")
	var errb bytes.Buffer
	lines := &lineCounter{}
	c.Stdout, c.Stderr = lines, &errb
	start := time.Now()
	if err := c.Run(); err != nil {
		return 0, fmt.Errorf("mosquitto_sub: %w: %s", err, errb.String())
	}
	d := time.Since(start)
	if lines.n != n {
		return 0, fmt.Errorf("mosquitto_sub printed %d messages, want %d", lines.n, n)
	}
	return d, nil
}

type lineCounter struct{ n int }

func (l *lineCounter) Write(b []byte) (int, error) {
	l.n += bytes.Count(b, []byte{'\n'})
	return len(b), nil
}

// startFleetBroker is startBroker for many connections: no connection
// limit, no persistence (nothing here must survive), a queue large enough
// for a whole fleet's retained messages to one subscriber.
func startFleetBroker(ctx context.Context, ps *procs, dir string) (string, *proc, error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	cfg := mqtttest.Conf{Dir: dir, Port: port, MaxQueued: 1000000, Quiet: true, Extra: "max_connections -1\n"}
	if err := os.WriteFile(conf, []byte(cfg.String()), 0o600); err != nil {
		return "", nil, fmt.Errorf("write mosquitto.conf: %w", err)
	}
	p, _, err := runMosquitto(ctx, ps, "mosquitto (fleet)", conf, port, 20*time.Millisecond)
	if err != nil {
		return "", nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return "mqtt://" + addr, p, nil
}

// raiseNoFile lifts the open-file limit to at least want: the hard limit
// too when allowed (root), else the soft limit up to the hard one.
func raiseNoFile(want uint64) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if r.Cur >= want {
		return nil
	}
	nr := syscall.Rlimit{Cur: max(want, r.Cur), Max: max(want, r.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nr); err != nil {
		nr = syscall.Rlimit{Cur: r.Max, Max: r.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nr); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
		if r.Max < want {
			return fmt.Errorf("open-file limit %d is below the %d the fleet needs; run as root or raise it (ulimit -Hn)", r.Max, want)
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
