package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	gosync "sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/sync/proto"
)

// SimOptions configures a simulated fleet (Simulate).
type SimOptions struct {
	Broker string // mqtt://host:port
	// Prefix names the devices Prefix-00001, Prefix-00002, …; default "sim".
	Prefix string
	N      int
	// Heartbeat is the time between heartbeats (±10 %); default 60s.
	Heartbeat time.Duration
	// KeepAlive is each connection's MQTT keep-alive; default 30s (as hearthd).
	KeepAlive time.Duration
	// Ramp is how many connections are opened at a time; default 200.
	Ramp int
	// Version is the software version the devices report; default "sim".
	Version string
	Logger  *slog.Logger
	// Connected, when set, is called after every ramp step and whenever a
	// device connects or is lost after the ramp, with the number connected now.
	Connected func(connected, total int)
}

// simDevice is one simulated device: a paho client and a few words of
// state. No goroutine of its own beyond paho's; one loop beats for all.
type simDevice struct {
	id      string
	n       int
	cl      mqtt.Client
	session atomic.Uint64
	seq     atomic.Uint64
	up      atomic.Bool
	start   time.Time
	next    time.Time // next heartbeat; owned by the beat loop
}

// sim is a running simulated fleet.
type sim struct {
	opt       SimOptions
	log       *slog.Logger
	devs      []*simDevice
	base      uint64 // every device's first session
	connected atomic.Int64
	ramped    atomic.Bool
}

// Simulate runs opt.N light devices, each with its own MQTT connection
// (clean session, the Will "lost" with its session), publishing what hearthd
// publishes about itself: init then ready on every connect, availability,
// and a heartbeat every opt.Heartbeat. It returns when ctx ends, after every
// device said "disconnected". It is the fleet behind `hearthctl simulate`
// and `hearthd --headless --simulate N`, for fleet tools and broker sizing.
func Simulate(ctx context.Context, opt SimOptions) error {
	if opt.N <= 0 {
		return errors.New("simulate: no devices")
	}
	broker, err := BrokerURL(opt.Broker)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if opt.Prefix == "" {
		opt.Prefix = "sim"
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 60 * time.Second
	}
	if opt.KeepAlive <= 0 {
		opt.KeepAlive = 30 * time.Second
	}
	if opt.Ramp <= 0 {
		opt.Ramp = 200
	}
	if opt.Version == "" {
		opt.Version = "sim"
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	width := max(5, len(fmt.Sprint(opt.N)))
	if id := fmt.Sprintf("%s-%0*d", opt.Prefix, width, opt.N); !proto.ValidID(id) {
		return fmt.Errorf("simulate: prefix %q makes invalid device ids (%q)", opt.Prefix, id)
	}
	// Sessions rise across restarts of the simulator too, as hearthd's
	// (kept on disk) do: start from the clock.
	s := &sim{opt: opt, log: opt.Logger.With("component", "simulate"), devs: make([]*simDevice, opt.N),
		base: uint64(time.Now().Unix())}
	for i := range s.devs {
		d := &simDevice{id: fmt.Sprintf("%s-%0*d", opt.Prefix, width, i+1), n: i + 1}
		d.session.Store(s.base)
		d.cl = mqtt.NewClient(s.options(broker, d))
		s.devs[i] = d
	}

	beatDone := make(chan struct{})
	go func() { defer close(beatDone); s.beat(ctx) }()

	s.ramp(ctx)
	s.ramped.Store(true)
	if ctx.Err() == nil {
		s.log.Info("fleet up", "connected", s.connected.Load(), "devices", opt.N)
		s.report()
	}
	<-ctx.Done()
	<-beatDone
	s.stop()
	return nil
}

// options are one device's paho options.
func (s *sim) options(broker string, d *simDevice) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID("hearthd-"+d.id).
		SetCleanSession(true).
		SetKeepAlive(s.opt.KeepAlive).
		SetPingTimeout(s.opt.KeepAlive/2+time.Second).
		SetConnectTimeout(20*time.Second).
		SetWriteTimeout(30*time.Second).
		SetConnectRetry(true).
		SetConnectRetryInterval(5*time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(30*time.Second).
		SetBinaryWill(proto.StateTopic(d.id), s.state(d, proto.LifeLost), 1, true).
		SetOnConnectHandler(func(cl mqtt.Client) { s.onConnect(d) }).
		SetConnectionLostHandler(func(mqtt.Client, error) {
			if d.up.Swap(false) {
				s.connected.Add(-1)
				s.report()
			}
		}).
		// A new connection is a new session, and its Will must say so.
		SetReconnectingHandler(func(_ mqtt.Client, o *mqtt.ClientOptions) {
			d.session.Add(1)
			o.SetBinaryWill(proto.StateTopic(d.id), s.state(d, proto.LifeLost), 1, true)
		})
	return o
}

// ramp opens the connections opt.Ramp at a time, so the broker is not
// flooded with handshakes. A connection that is not up within its batch's
// wait keeps trying on its own (paho's connect retry).
func (s *sim) ramp(ctx context.Context) {
	for i := 0; i < len(s.devs); i += s.opt.Ramp {
		batch := s.devs[i:min(i+s.opt.Ramp, len(s.devs))]
		toks := make([]mqtt.Token, len(batch))
		for j, d := range batch {
			d.start = time.Now()
			toks[j] = d.cl.Connect()
		}
		wait := time.NewTimer(15 * time.Second)
		for _, t := range toks {
			select {
			case <-t.Done():
				if err := t.Error(); err != nil {
					s.log.Warn("connect", "err", err)
				}
			case <-wait.C:
			case <-ctx.Done():
				wait.Stop()
				return
			}
		}
		wait.Stop()
		s.log.Debug("ramp", "opened", i+len(batch), "connected", s.connected.Load())
		s.report()
	}
}

func (s *sim) report() {
	if s.opt.Connected != nil {
		s.opt.Connected(int(s.connected.Load()), len(s.devs))
	}
}

// onConnect is a device's birth: init, then ready with its session, its
// availability and a first heartbeat. It runs on paho's goroutine; nothing
// waits for the broker.
func (s *sim) onConnect(d *simDevice) {
	if !d.up.Swap(true) {
		s.connected.Add(1)
		if s.ramped.Load() {
			s.report()
		}
	}
	d.cl.Publish(proto.StateTopic(d.id), 1, true, s.state(d, proto.LifeInit))
	d.cl.Publish(proto.AvailabilityTopic(d.id), 1, true, s.availability(d))
	d.cl.Publish(proto.HeartbeatTopic(d.id), 1, true, s.heartbeat(d))
	d.cl.Publish(proto.StateTopic(d.id), 1, true, s.state(d, proto.LifeReady))
}

// beat is the one loop that sends every device's heartbeats: each is due
// opt.Heartbeat ±10 % after the one before.
func (s *sim) beat(ctx context.Context) {
	step := min(time.Second, s.opt.Heartbeat/10)
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, d := range s.devs {
				if !d.up.Load() {
					continue
				}
				if d.next.IsZero() {
					// The connect sent the first one.
					d.next = now.Add(s.jitter())
					continue
				}
				if now.Before(d.next) {
					continue
				}
				d.cl.Publish(proto.HeartbeatTopic(d.id), 1, true, s.heartbeat(d))
				d.next = now.Add(s.jitter())
			}
		}
	}
}

func (s *sim) jitter() time.Duration {
	return time.Duration(float64(s.opt.Heartbeat) * (0.9 + 0.2*rand.Float64()))
}

// stop says "disconnected" for every device and closes the connections,
// many at a time.
func (s *sim) stop() {
	const workers = 256
	var wg gosync.WaitGroup
	ch := make(chan *simDevice)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ch {
				if d.up.Load() {
					t := d.cl.Publish(proto.StateTopic(d.id), 1, true, s.state(d, proto.LifeDisconnected))
					if !t.WaitTimeout(10 * time.Second) {
						s.log.Warn("disconnected state not acknowledged", "device", d.id)
					}
				}
				d.cl.Disconnect(100)
			}
		}()
	}
	for _, d := range s.devs {
		ch <- d
	}
	close(ch)
	wg.Wait()
	s.log.Info("fleet down", "devices", len(s.devs))
}

func (s *sim) state(d *simDevice, l proto.Lifecycle) []byte {
	b, _ := json.Marshal(proto.State{V: proto.Version, Device: d.id, State: l, Session: d.session.Load(),
		Time: time.Now().UTC(), Version: s.opt.Version})
	return b
}

func (s *sim) availability(d *simDevice) []byte {
	b, _ := json.Marshal(proto.Availability{V: proto.Version, Device: d.id, Name: fmt.Sprintf("Simulated %d", d.n),
		Time: time.Now().UTC(), State: proto.AvailAvailable,
		Answer: map[proto.CallMode]proto.Answer{proto.ModeForced: proto.AnswerAuto, proto.ModeSignalled: proto.AnswerRings},
		Camera: true, Microphone: true})
	return b
}

// heartbeat makes up plausible numbers, stable per device.
func (s *sim) heartbeat(d *simDevice) []byte {
	now := time.Now()
	synced := true
	signal := 40 + d.n%55
	temp := 45 + float64(d.n%150)/10
	b, _ := json.Marshal(proto.Heartbeat{
		V: proto.Version, Device: d.id, Session: d.session.Load(), Seq: d.seq.Add(1), Time: now.UTC(),
		// The next one may come up to 10 % late.
		IntervalS:  int((s.opt.Heartbeat*11/10 + time.Second - 1) / time.Second),
		TimeSynced: &synced, UptimeS: int64(now.Sub(d.start) / time.Second), Boots: 1,
		Version: s.opt.Version,
		Network: &proto.Net{Interface: "wlan0", Type: "wifi", SSID: "sim-net", Signal: &signal,
			IP: fmt.Sprintf("10.%d.%d.%d", d.n>>16&255, d.n>>8&255, d.n&255), State: "connected"},
		Reconnects: int64(d.session.Load() - s.base),
		Storage:    proto.Usage{Used: 1 << 30, Free: 14 << 30},
		MemoryRSS:  60 << 20, MemoryAvailable: 2 << 30, CPUTempC: &temp,
		Items: 12, OnScreen: "welcome", LastSync: d.start.UTC(), Display: "on",
		Camera: true, Microphone: true, Speaker: true, Availability: proto.AvailAvailable,
	})
	return b
}
