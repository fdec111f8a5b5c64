package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	hsync "github.com/hearth-home/hearth/sync"
	"github.com/hearth-home/hearth/sync/mqtttest"
	"github.com/hearth-home/hearth/sync/proto"
)

// The status section: how soon the fleet learns that a device is gone, and
// how soon a device is back after its broker restarts. One headless hearthd
// (--keepalive 5s --heartbeat 10s) on the section's own Mosquitto, watched
// by a subscriber to the retained state and heartbeat topics.
//
//  1. Silent loss: SIGSTOP on hearthd right after the subscriber saw its
//     heartbeat (so the broker has just heard from it: the worst case). The
//     socket stays open; only the broker's keepalive timer (1.5 x keepalive
//     with no packet) finds out and publishes the Will. Timed to the
//     subscriber seeing "lost" with the device's session. SIGCONT then, and
//     the device comes back with a new session.
//  2. Killed: SIGKILL; the kernel closes the socket and the broker publishes
//     the Will at once. hearthd is started again for the next run.
//  3. Broker restart: Mosquitto stopped (SIGTERM, it saves its persistence)
//     and started again on the same port; timed from the broker accepting
//     connections again to the subscriber seeing the device's "ready" with a
//     higher session. Anchor: a plain paho client (AutoReconnect and
//     ConnectRetry, otherwise defaults) that publishes a retained "ready" on
//     every connect, measured the same way in the same runs; a fresh one
//     every run, as paho's own backoff remembers failures for a minute (see
//     docs/bench.md).

const (
	statusDevice    = "status-bench"
	statusAnchor    = "paho-anchor"
	statusVictim    = "mqtt-sub" // the plain client beside the silent device
	victimTopic     = "hearthbench/status/victim"
	statusKeepAlive = 5 * time.Second
	statusHeartbeat = 10 * time.Second
)

// statusBound is what the protocol promises for a silent device: the broker
// publishes the Will 1.5 x keepalive after the last packet.
func statusBound(keepAlive time.Duration) time.Duration { return keepAlive * 3 / 2 }

func (b *bench) status(ctx context.Context) ([]Result, error) {
	runs := b.p.statusRuns
	dir := filepath.Join(b.work, "status")
	br, err := startStatusBroker(ctx, b.ps, filepath.Join(dir, "broker"))
	if err != nil {
		return nil, err
	}
	defer br.close()
	w, err := watchStatus(ctx, br.url)
	if err != nil {
		return nil, err
	}
	defer func() { w.close() }()

	data := filepath.Join(dir, statusDevice)
	d, err := startStatusDaemon(b.ps, b.bin, br.url, data)
	if err != nil {
		return nil, err
	}
	defer func() { _ = d.stop(10 * time.Second) }()
	ready, err := w.waitReady(ctx, 0, statusDevice, 0, d)
	if err != nil {
		return nil, err
	}
	session := ready.state.Session

	// 1. Silent loss, beside a plain mosquitto_sub with the same keepalive
	// and a Will, started right after the heartbeat and stopped with hearthd.
	// The retained message on its topic tells when it has subscribed.
	if err := publishRetained(ctx, br.url, victimTopic, []byte("x")); err != nil {
		return nil, err
	}
	var silent, victimSilent []time.Duration
	missed := 0 // silent runs with no Will within 3 x the bound
	for i := range runs {
		mark := w.mark()
		hb, err := w.wait(ctx, mark, 2*statusHeartbeat+5*time.Second, "a heartbeat of session "+strconv.FormatUint(session, 10),
			func(e statusEvent) bool {
				return e.device == statusDevice && e.kind == "heartbeat" && !e.retained && e.state.Session == session
			})
		if err != nil {
			return nil, fmt.Errorf("silent run %d: %w\n%s", i+1, err, d.tail)
		}
		vic, err := startVictim(ctx, b.ps, br.url, uint64(i+1))
		if err != nil {
			return nil, err
		}
		mark = w.mark()
		stopped := time.Now()
		if err := syscall.Kill(d.pid(), syscall.SIGSTOP); err != nil {
			_ = vic.stop(5 * time.Second)
			return nil, fmt.Errorf("SIGSTOP hearthd: %w", err)
		}
		_ = syscall.Kill(vic.pid(), syscall.SIGSTOP)
		lost, err := w.wait(ctx, mark, 3*statusBound(statusKeepAlive), "lost after SIGSTOP", func(e statusEvent) bool {
			return e.device == statusDevice && e.kind == "state" && e.state.State == proto.LifeLost && e.state.Session == session
		})
		var vlost statusEvent
		if err == nil {
			vlost, err = w.wait(ctx, mark, 3*statusBound(statusKeepAlive), "mosquitto_sub's Will after SIGSTOP", func(e statusEvent) bool {
				return e.device == statusVictim && e.kind == "state" && e.state.State == proto.LifeLost && e.state.Session == uint64(i+1)
			})
		}
		_ = syscall.Kill(d.pid(), syscall.SIGCONT)
		_ = syscall.Kill(vic.pid(), syscall.SIGCONT)
		_ = vic.stop(5 * time.Second)
		if err != nil && ctx.Err() == nil {
			// Not fatal: counted, and the broker's log kept for a look.
			missed++
			b.log.Warn("status: no Will after SIGSTOP", "run", i+1, "err", err, "session", session,
				"watcher_connected", w.cl.IsConnectionOpen(), "broker_log", lastLines(br.log(), 12),
				"hearthd_log", lastLines(d.tail.String(), 6))
			if !w.cl.IsConnectionOpen() {
				w.close()
				if w, err = watchStatus(ctx, br.url); err != nil {
					return nil, err
				}
				mark = 0
			}
		} else if err != nil {
			return nil, err
		}
		if err == nil {
			took := lost.at.Sub(stopped)
			silent = append(silent, took)
			victimSilent = append(victimSilent, vlost.at.Sub(stopped))
			b.log.Info("status: silent device lost", "run", i+1, "after", took.Round(time.Millisecond),
				"since_heartbeat", lost.at.Sub(hb.at).Round(time.Millisecond), "mosquitto_sub_after", vlost.at.Sub(stopped).Round(time.Millisecond))
		}
		if ready, err = w.waitReady(ctx, mark, statusDevice, session, d); err != nil {
			return nil, fmt.Errorf("silent run %d: after SIGCONT: %w", i+1, err)
		}
		session = ready.state.Session
	}

	// 2. Killed.
	var killed []time.Duration
	for i := range runs {
		mark := w.mark()
		t := time.Now()
		if err := syscall.Kill(d.pid(), syscall.SIGKILL); err != nil {
			return nil, fmt.Errorf("SIGKILL hearthd: %w", err)
		}
		lost, err := w.wait(ctx, mark, 3*statusBound(statusKeepAlive), "lost after SIGKILL", func(e statusEvent) bool {
			return e.device == statusDevice && e.kind == "state" && e.state.State == proto.LifeLost && e.state.Session == session
		})
		if err != nil {
			return nil, fmt.Errorf("kill run %d: %w", i+1, err)
		}
		killed = append(killed, lost.at.Sub(t))
		b.log.Info("status: killed device lost", "run", i+1, "after", lost.at.Sub(t).Round(time.Millisecond))
		<-d.done
		if d, err = startStatusDaemon(b.ps, b.bin, br.url, data); err != nil {
			return nil, err
		}
		if ready, err = w.waitReady(ctx, mark, statusDevice, session, d); err != nil {
			return nil, fmt.Errorf("kill run %d: after restart: %w", i+1, err)
		}
		session = ready.state.Session
	}

	// 3. Broker restarts.
	var devBack, anchorBack, devLink, anchorLink, brokerDown []time.Duration
	var anchorSessions atomic.Uint64
	for i := range runs {
		a, err := startPahoAnchor(ctx, br.url, &anchorSessions)
		if err != nil {
			return nil, err
		}
		aReady, err := w.wait(ctx, 0, 10*time.Second, "the paho anchor's ready", func(e statusEvent) bool {
			return e.device == statusAnchor && e.kind == "state" && e.state.State == proto.LifeReady && e.state.Session == a.first
		})
		if err != nil {
			a.close()
			return nil, err
		}
		w.close()
		downAt := time.Now()
		if err := br.stop(); err != nil {
			a.close()
			return nil, err
		}
		up, err := br.start(ctx)
		if err != nil {
			a.close()
			return nil, err
		}
		if w, err = watchStatus(ctx, br.url); err != nil {
			a.close()
			return nil, err
		}
		dev, err := w.waitReady(ctx, 0, statusDevice, session, d)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("restart run %d: %w", i+1, err)
		}
		anc, err := w.wait(ctx, 0, 2*time.Minute, "the paho anchor back", func(e statusEvent) bool {
			return e.device == statusAnchor && e.kind == "state" && e.state.State == proto.LifeReady && e.state.Session > aReady.state.Session
		})
		a.close()
		if err != nil {
			return nil, fmt.Errorf("restart run %d: %w", i+1, err)
		}
		session = dev.state.Session
		devBack = append(devBack, dev.when().Sub(up))
		anchorBack = append(anchorBack, anc.when().Sub(up))
		brokerDown = append(brokerDown, up.Sub(downAt))
		// hearthd logs "connected to broker" just after its ready went out.
		dl, dok := d.waitOutage(ctx, 2*time.Second)
		al, aok := a.waitOutage(ctx, 2*time.Second)
		if dok {
			devLink = append(devLink, dl)
		}
		if aok {
			anchorLink = append(anchorLink, al)
		}
		b.log.Info("status: back after broker restart", "run", i+1, "broker_down", up.Sub(downAt).Round(time.Millisecond),
			"hearthd", dev.when().Sub(up).Round(time.Millisecond), "paho", anc.when().Sub(up).Round(time.Millisecond),
			"hearthd_link_down", dl.Round(time.Millisecond), "paho_link_down", al.Round(time.Millisecond),
			"hearthd_ready_retained", dev.retained)
	}

	sec := func(d time.Duration) float64 { return d.Seconds() }
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	bound := statusBound(statusKeepAlive)
	boundName := fmt.Sprintf("protocol bound, 1.5 x keepalive (%v)", statusKeepAlive)
	silentGoal := goal{Max: sec(bound + time.Second)} // the test bound
	anchor := "paho AutoReconnect+ConnectRetry, defaults (fresh client per run)"
	linkAnchor := "the same paho client, connection lost to OnConnect"
	rows := []Result{
		newResult("status.offline_silent_p50", sec(percentile(silent, 50)), "s", boundName, sec(bound), silentGoal),
		newResult("status.offline_silent_p95", sec(percentile(silent, 95)), "s", boundName, sec(bound), silentGoal),
		newResult("status.offline_silent_mosquitto_sub_p50", sec(percentile(victimSilent, 50)), "s", boundName, sec(bound), silentGoal),
		newResult("status.offline_silent_mosquitto_sub_p95", sec(percentile(victimSilent, 95)), "s", boundName, sec(bound), silentGoal),
		newResult("status.offline_silent_missed", float64(missed), "runs", "", 0, goal{}),
		newResult("status.offline_killed_p50", ms(percentile(killed, 50)), "ms", "", 0, goal{Max: ms(bound + time.Second)}),
		newResult("status.offline_killed_p95", ms(percentile(killed, 95)), "ms", "", 0, goal{Max: ms(bound + time.Second)}),
		newResult("status.reconnect_after_broker_restart_p50", ms(percentile(devBack, 50)), "ms", anchor, ms(percentile(anchorBack, 50)), goal{Max: 2000}),
		newResult("status.reconnect_after_broker_restart_p95", ms(percentile(devBack, 95)), "ms", anchor, ms(percentile(anchorBack, 95)), goal{Max: 2000}),
		newResult("status.link_down_to_up_p50", ms(percentile(devLink, 50)), "ms", linkAnchor, ms(percentile(anchorLink, 50)), goal{}),
		newResult("status.link_down_to_up_p95", ms(percentile(devLink, 95)), "ms", linkAnchor, ms(percentile(anchorLink, 95)), goal{}),
		newResult("status.broker_down_p50", ms(percentile(brokerDown, 50)), "ms", "", 0, goal{}),
	}
	b.log.Info("status", "runs", runs, "silent_s", secs(silent), "mosquitto_sub_silent_s", secs(victimSilent), "killed_ms", millis(killed),
		"hearthd_back_ms", millis(devBack), "paho_back_ms", millis(anchorBack),
		"hearthd_link_ms", millis(devLink), "paho_link_ms", millis(anchorLink), "broker_down_ms", millis(brokerDown))
	return rows, nil
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100): the
// smallest value with at least p % of the values at or below it, so it is
// always one of the measurements (of 20 runs, p50 is the 10th, p95 the
// 19th). Zero for no values.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func millis(ds []time.Duration) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Milliseconds()
	}
	return out
}

func secs(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	}
	return out
}

// statusEvent is one message the watcher got on a state or heartbeat topic.
type statusEvent struct {
	at       time.Time // when the watcher got it
	device   string
	kind     string      // "state" or "heartbeat"
	state    proto.State // for a heartbeat only Device and Session
	retained bool        // stored by the broker before the watcher subscribed
}

// when is when the message was published as best known: its arrival, or
// for a retained one (published before the watcher subscribed) the time
// the sender wrote in it, on this machine's clock.
func (e statusEvent) when() time.Time {
	if e.retained && !e.state.Time.IsZero() && e.state.Time.Before(e.at) {
		return e.state.Time
	}
	return e.at
}

// parseStatusMessage reads a message on hearth/v1/dev/{id}/state or
// .../heartbeat; ok is false for anything else or a payload that does not
// decode (an empty retained message clears a topic).
func parseStatusMessage(topic string, payload []byte, at time.Time, retained bool) (statusEvent, bool) {
	dev := proto.DeviceOf(topic)
	if dev == "" || len(payload) == 0 {
		return statusEvent{}, false
	}
	e := statusEvent{at: at, device: dev, retained: retained}
	switch topic {
	case proto.StateTopic(dev):
		s, err := proto.DecodeState(payload)
		if err != nil || s.Device != dev {
			return statusEvent{}, false
		}
		e.kind, e.state = "state", s
	case proto.HeartbeatTopic(dev):
		h, err := proto.DecodeHeartbeat(payload)
		if err != nil || h.Device != dev {
			return statusEvent{}, false
		}
		e.kind = "heartbeat"
		e.state = proto.State{Device: dev, Session: h.Session, Time: h.Time}
	default:
		return statusEvent{}, false
	}
	return e, true
}

// statusWatcher subscribes to every device's state and heartbeat and keeps
// what came, stamped on arrival.
type statusWatcher struct {
	cl      mqtt.Client
	mu      gosync.Mutex
	events  []statusEvent
	changed chan struct{}
}

func watchStatus(ctx context.Context, broker string) (*statusWatcher, error) {
	u, err := hsync.BrokerURL(broker)
	if err != nil {
		return nil, err
	}
	w := &statusWatcher{changed: make(chan struct{})}
	o := mqtt.NewClientOptions().AddBroker(u).SetClientID("hearthbench-status-watch").SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	w.cl = mqtt.NewClient(o)
	if err := waitMQTT(ctx, w.cl.Connect()); err != nil {
		return nil, fmt.Errorf("status watcher: connect: %w", err)
	}
	tok := w.cl.SubscribeMultiple(map[string]byte{proto.StateFilter: 1, proto.HeartbeatFilter: 1}, func(_ mqtt.Client, m mqtt.Message) {
		e, ok := parseStatusMessage(m.Topic(), m.Payload(), time.Now(), m.Retained())
		if !ok {
			return
		}
		w.mu.Lock()
		w.events = append(w.events, e)
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	})
	if err := waitMQTT(ctx, tok); err != nil {
		w.close()
		return nil, fmt.Errorf("status watcher: subscribe: %w", err)
	}
	return w, nil
}

func (w *statusWatcher) close() { w.cl.Disconnect(100) }

// mark is the index of the next event, for wait.
func (w *statusWatcher) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// wait returns the first event from index from on that matches.
func (w *statusWatcher) wait(ctx context.Context, from int, within time.Duration, what string, match func(statusEvent) bool) (statusEvent, error) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		w.mu.Lock()
		for ; from < len(w.events); from++ {
			if match(w.events[from]) {
				e := w.events[from]
				w.mu.Unlock()
				return e, nil
			}
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return statusEvent{}, fmt.Errorf("timed out after %v waiting for %s", within, what)
		case <-ctx.Done():
			return statusEvent{}, ctx.Err()
		}
	}
}

// waitReady waits for the device's ready with a session above after.
func (w *statusWatcher) waitReady(ctx context.Context, from int, device string, after uint64, d *statusDaemon) (statusEvent, error) {
	e, err := w.wait(ctx, from, 30*time.Second, fmt.Sprintf("%s ready with a session above %d", device, after), func(e statusEvent) bool {
		return e.device == device && e.kind == "state" && e.state.State == proto.LifeReady && e.state.Session > after
	})
	if err != nil && d != nil {
		err = fmt.Errorf("%w; hearthd log:\n%s", err, d.tail)
	}
	return e, err
}

func waitMQTT(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// linkLog keeps when a client's link went down and came up again.
type linkLog struct {
	mu       gosync.Mutex
	down, up time.Time // the latest of each
}

func (l *linkLog) mark(up bool, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case up:
		l.up = at
	case l.down.IsZero() || l.up.After(l.down):
		l.down = at // the first failure after being up; retries that fail log "down" again
	}
}

// lastOutage is the latest down-to-up time; ok is false while down or
// before any.
func (l *linkLog) lastOutage() (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down.IsZero() || !l.up.After(l.down) {
		return 0, false
	}
	return l.up.Sub(l.down), true
}

// waitOutage waits up to within for lastOutage to have one.
func (l *linkLog) waitOutage(ctx context.Context, within time.Duration) (time.Duration, bool) {
	var d time.Duration
	var ok bool
	_ = waitUntil(ctx, within, 10*time.Millisecond, "link up", func() (bool, error) {
		d, ok = l.lastOutage()
		return ok, nil
	})
	return d, ok
}

// statusDaemon is a headless hearthd whose log says when its broker link
// went down ("broker link down") and came back ("connected to broker").
type statusDaemon struct {
	*proc
	linkLog
}

func startStatusDaemon(ps *procs, bin, broker, data string) (*statusDaemon, error) {
	cmd := exec.Command(filepath.Join(bin, "hearthd"), "--headless", "--device-id", statusDevice, "--broker", broker,
		"--data", data, "--keepalive", statusKeepAlive.String(), "--heartbeat", statusHeartbeat.String(), "--log-json")
	cmd.Env = envWith("LANG=en_US.UTF-8")
	d := &statusDaemon{}
	p, err := ps.start("hearthd "+statusDevice, cmd, func(line string) {
		if up, ok := linkLine(line); ok {
			d.mark(up, time.Now())
		}
	})
	if err != nil {
		return nil, err
	}
	d.proc = p
	return d, nil
}

// linkLine reads one of hearthd's JSON log lines: up is true for
// "connected to broker", false for "broker link down"; ok is false for
// every other line.
func linkLine(line string) (up, ok bool) {
	if !strings.HasPrefix(line, "{") || !strings.Contains(line, "broker") {
		return false, false
	}
	var l struct {
		Msg string `json:"msg"`
	}
	if json.Unmarshal([]byte(line), &l) != nil {
		return false, false
	}
	switch l.Msg {
	case "connected to broker":
		return true, true
	case "broker link down":
		return false, true
	}
	return false, false
}

// pahoAnchor is the plain MQTT client a fleet might run instead: paho with
// its own reconnection, publishing a retained ready with a rising session
// on every connect (as hearthd does) so the watcher times both alike.
type pahoAnchor struct {
	cl    mqtt.Client
	first uint64 // the session of its first connect
	linkLog
}

func startPahoAnchor(ctx context.Context, broker string, sessions *atomic.Uint64) (*pahoAnchor, error) {
	u, err := hsync.BrokerURL(broker)
	if err != nil {
		return nil, err
	}
	a := &pahoAnchor{}
	var firstOnce gosync.Once
	firstSet := make(chan struct{})
	o := mqtt.NewClientOptions().AddBroker(u).SetClientID("hearthbench-" + statusAnchor).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			now := time.Now()
			a.mark(true, now)
			s := sessions.Add(1)
			firstOnce.Do(func() { a.first = s; close(firstSet) })
			b, _ := json.Marshal(proto.State{V: proto.Version, Device: statusAnchor, State: proto.LifeReady, Session: s, Time: now.UTC()})
			c.Publish(proto.StateTopic(statusAnchor), 1, true, b)
		}).
		SetConnectionLostHandler(func(mqtt.Client, error) { a.mark(false, time.Now()) })
	a.cl = mqtt.NewClient(o)
	a.cl.Connect() // with ConnectRetry the token completes at once; OnConnect says when it is up
	select {
	case <-firstSet:
	case <-time.After(10 * time.Second):
		a.close()
		return nil, fmt.Errorf("the paho anchor did not connect in 10 s")
	case <-ctx.Done():
		a.close()
		return nil, ctx.Err()
	}
	return a, nil
}

func (a *pahoAnchor) close() { a.cl.Disconnect(100) }

// startVictim runs mosquitto_sub with keepalive statusKeepAlive and a
// retained Will that says statusVictim is lost with the given session, and
// returns once it has subscribed (it printed the retained message on
// victimTopic), so the broker has just heard from it.
func startVictim(ctx context.Context, ps *procs, broker string, session uint64) (*proc, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, err
	}
	will, _ := json.Marshal(proto.State{V: proto.Version, Device: statusVictim, State: proto.LifeLost, Session: session})
	subscribed := make(chan struct{})
	var once gosync.Once
	cmd := exec.Command("mosquitto_sub", "-h", u.Hostname(), "-p", u.Port(), "-i", "hearthbench-"+statusVictim,
		"-k", strconv.Itoa(int(statusKeepAlive/time.Second)), "-t", victimTopic,
		"--will-topic", proto.StateTopic(statusVictim), "--will-payload", string(will), "--will-qos", "1", "--will-retain")
	p, err := ps.start("mosquitto_sub (status)", cmd, func(string) { once.Do(func() { close(subscribed) }) })
	if err != nil {
		return nil, err
	}
	select {
	case <-subscribed:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("mosquitto_sub exited: %v\n%s", p.err, p.tail)
	case <-time.After(10 * time.Second):
		_ = p.stop(time.Second)
		return nil, fmt.Errorf("mosquitto_sub did not subscribe in 10 s:\n%s", p.tail)
	case <-ctx.Done():
		_ = p.stop(time.Second)
		return nil, ctx.Err()
	}
}

func publishRetained(ctx context.Context, broker, topic string, payload []byte) error {
	c, err := hsync.Dial(ctx, broker, "hearthbench-status")
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Publish(ctx, topic, payload, true)
}

// statusBroker is a Mosquitto that can be stopped and started again on the
// same port with the same persistence, as sync/mqtttest's Restart does.
type statusBroker struct {
	ps   *procs
	dir  string
	port int
	url  string
	p    *proc
}

func startStatusBroker(ctx context.Context, ps *procs, dir string) (*statusBroker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := mqtttest.Conf{Dir: dir, Port: port, Autosave: time.Minute}
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(cfg.String()), 0o600); err != nil {
		return nil, fmt.Errorf("write mosquitto.conf: %w", err)
	}
	sb := &statusBroker{ps: ps, dir: dir, port: port, url: "mqtt://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	if _, err := sb.start(ctx); err != nil {
		return nil, err
	}
	return sb, nil
}

// start runs the broker and returns when it first accepted a connection
// (polled every 2 ms).
func (sb *statusBroker) start(ctx context.Context) (time.Time, error) {
	p, up, err := runMosquitto(ctx, sb.ps, "mosquitto (status)", filepath.Join(sb.dir, "mosquitto.conf"), sb.port, 2*time.Millisecond)
	sb.p = p
	if err != nil {
		return up, fmt.Errorf("%w\n%s", err, sb.log())
	}
	return up, nil
}

// stop sends SIGTERM (Mosquitto saves its persistence file) and waits.
func (sb *statusBroker) stop() error {
	if sb.p == nil {
		return nil
	}
	err := sb.p.stop(10 * time.Second)
	sb.p = nil
	if err != nil {
		return fmt.Errorf("stop mosquitto: %w", err)
	}
	return nil
}

func (sb *statusBroker) close() { _ = sb.stop() }

func (sb *statusBroker) log() string {
	b, _ := os.ReadFile(filepath.Join(sb.dir, "mosquitto.log"))
	return string(b)
}
