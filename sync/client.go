package sync

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/device/callauth"
	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/internal/backoff"
	"github.com/hearth-home/hearth/sync/proto"
)

// Options configures a device's sync Client.
type Options struct {
	Broker string // mqtt://host:port (tcp://, ws:// also accepted)
	// Fallbacks are further brokers in order of preference (the bundle's
	// list after the first). A connection that fails moves on to the next
	// broker, round the list; a link that was up tries its own broker
	// first again.
	Fallbacks []string
	DeviceID  string
	// ClientID must stay the same across restarts so the broker keeps the
	// session; default "hearthd-" + DeviceID.
	ClientID  string
	Store     *store.Store
	Clock     clock.Clock
	Logger    *slog.Logger
	KeepAlive time.Duration // default 30s
	// InventoryDelay batches inventory reports after changes; default 1s.
	InventoryDelay time.Duration
	// Calls takes call signalling and allowlists; nil: the device takes no calls.
	Calls CallSink
	// Outbox carries replies to callers and the availability through this
	// Client's connection; nil: New makes one. It is made first when the
	// call side, which needs it, must exist before the Client.
	Outbox *Outbox
	// Version is this build, carried by the lifecycle messages.
	Version string
	// TLS is used for mqtts:// brokers: the device's client certificate and
	// the organisation's CA (provisioning.State.TLSConfig). ServerName, if
	// empty, is the broker's host. Nil: the system's roots, no client
	// certificate.
	TLS *tls.Config
	// Admin takes signed admin commands (the payload, unchecked); nil:
	// the device obeys none. It must not block for long: the message is
	// acknowledged when it returns, so a reboot is not delivered again.
	Admin func(payload []byte)
	// Bookings takes carers' bookings (decoded, unchecked); nil: the
	// device takes none.
	Bookings BookingSink
	// Senders holds the allowlist that signed items are checked against
	// (the call side's callauth.Checker); nil: the device has no
	// organisation key, and refuses signed items ("no allowlist").
	Senders *callauth.Checker
	// RequireSignedItems refuses items that carry no sender's signature
	// (docs/protocol.md, "Senders: signed items").
	RequireSignedItems bool
	// ClockTrusted says whether the device believes its wall clock; only
	// then is an item whose window is over refused as expired. Nil: it
	// always does.
	ClockTrusted func() bool
	// AllowlistWait bounds how long content waits for a retained
	// allowlist when the device holds none; default 3 s.
	AllowlistWait time.Duration
	// QueueSettle is how long after connecting messages queued for the
	// device's session are taken to be arriving (an older allowlist among
	// them is history, not reported); default 5 s.
	QueueSettle time.Duration
}

// BookingSink is the device's keeper of bookings (device.Bookings). Take
// returns a refusal (recorded upward; the message is acknowledged) or a
// store failure (the message is left for the broker to send again).
type BookingSink interface {
	Take(b proto.Booking) (refused, err error)
}

// CallSink is the device's call side as the link feeds it.
type CallSink interface {
	Deliver(m proto.CallIn)
	SetAllowlist(a proto.Allowlist) error
}

// Client is the device's MQTT link. Run it once.
type Client struct {
	opt        Options
	log        *slog.Logger
	reconnects atomic.Int64
	lastSync   atomic.Int64 // unix nanoseconds of the last stored item
	received   atomic.Int64

	out *Outbox

	mu      gosync.Mutex
	cl      mqtt.Client // the connected client, nil between connections
	session uint64      // of the current or last connection
	alert   string      // why the device needs a person; "" when it does not

	callRefusals    refusalCounter
	bookingRefusals refusalCounter

	// resubscribed: the content subscription was made in this process
	// (Run's goroutine only).
	resubscribed bool

	// listIn is closed when an allowlist is installed (content held back
	// for one waits on it).
	listIn   chan struct{}
	listOnce gosync.Once
	// listBy is when (unix nanoseconds, real time) content stops waiting
	// for an allowlist on this connection.
	listBy atomic.Int64
	// backlogBy is when (unix nanoseconds, real time) the messages queued
	// in the session while the device was away have surely been delivered.
	backlogBy atomic.Int64

	// reported remembers refusals that come again with every reconnect
	// (retained expired items by id and rev, older allowlists by
	// serial), so they are reported once per process.
	reportedMu gosync.Mutex
	reported   map[string]bool

	// handlers is held for reading by every message handler (paho runs
	// them on goroutines of its own) and for writing by Run as it
	// returns: Run waits for the handlers in flight, so none writes to a
	// store its owner is closing. stopped, set then, turns later ones
	// away unacknowledged (the broker sends them again); stop, closed
	// then, ends a handler's wait for the allowlist.
	handlers gosync.RWMutex
	stopped  bool
	stop     chan struct{}
}

// New checks the options and returns a Client.
func New(opt Options) (*Client, error) {
	if !proto.ValidID(opt.DeviceID) {
		return nil, fmt.Errorf("sync: device id %q is not valid", opt.DeviceID)
	}
	if opt.Store == nil {
		return nil, errors.New("sync: no store")
	}
	for _, b := range append([]string{opt.Broker}, opt.Fallbacks...) {
		if _, err := BrokerURL(b); err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
	}
	if opt.ClientID == "" {
		opt.ClientID = "hearthd-" + opt.DeviceID
	}
	if opt.Clock == nil {
		opt.Clock = clock.Real()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.KeepAlive == 0 {
		opt.KeepAlive = 30 * time.Second
	}
	if opt.InventoryDelay == 0 {
		opt.InventoryDelay = time.Second
	}
	if opt.QueueSettle == 0 {
		opt.QueueSettle = 5 * time.Second
	}
	if opt.AllowlistWait == 0 {
		opt.AllowlistWait = 3 * time.Second
	}
	out := opt.Outbox
	if out == nil {
		out = NewOutbox(opt.DeviceID, opt.Logger)
	}
	return &Client{opt: opt, out: out, log: opt.Logger.With("component", "sync"),
		listIn: make(chan struct{}), stop: make(chan struct{}), reported: map[string]bool{}}, nil
}

// BrokerURL turns a broker address into the form paho dials: mqtt:// and
// mqtts:// become tcp:// and ssl://.
func BrokerURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("broker url %q: want mqtt://host:port", s)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "tcp"
	case "mqtts", "ssl", "tls":
		u.Scheme = "ssl"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("broker url %q: unknown scheme %q", s, u.Scheme)
	}
	if u.Port() == "" {
		return "", fmt.Errorf("broker url %q: no port", s)
	}
	return u.String(), nil
}

// tlsFor is tc with ServerName set to broker's host when it is empty.
func tlsFor(tc *tls.Config, broker string) *tls.Config {
	if tc.ServerName != "" {
		return tc
	}
	tc = tc.Clone()
	if u, err := url.Parse(broker); err == nil {
		tc.ServerName = u.Hostname()
	}
	return tc
}

// Stats are counters for status reports.
type Stats struct {
	Reconnects int64
	Received   int64
	LastSync   time.Time
}

// Stats returns the link's counters.
func (c *Client) Stats() Stats {
	s := Stats{Reconnects: c.reconnects.Load(), Received: c.received.Load()}
	if n := c.lastSync.Load(); n != 0 {
		s.LastSync = time.Unix(0, n)
	}
	return s
}

// reconnect is the wait between attempts to reach a broker: up to 1 s
// after a lost link, growing to at most 3 s while no broker answers, with
// full jitter so that a fleet that lost its broker does not come back in
// step. The cap is the product's promise: a device is back within 5 s of its
// broker's return (TestReconnectAfterBrokerDownAMinute), so the wait after
// the broker is up again must stay well below that, whatever the outage.
var reconnect = backoff.Policy{Base: time.Second, Cap: 3 * time.Second, Floor: 100 * time.Millisecond}

// Run keeps a connection to the broker until ctx ends, reconnecting with
// backoff. Cancellation is not an error.
func (c *Client) Run(ctx context.Context) error {
	defer c.drain()
	brokers := append([]string{c.opt.Broker}, c.opt.Fallbacks...)
	next := 0    // index into brokers
	attempt := 0 // failed rounds of the list since the link was last up
	for ctx.Err() == nil {
		broker := brokers[next]
		connected, err := c.once(ctx, broker)
		if ctx.Err() != nil {
			break
		}
		if connected {
			attempt = 0
		} else {
			// Unreachable or refused: the next broker, round the list.
			next = (next + 1) % len(brokers)
		}
		wait := reconnect.Delay(attempt)
		c.log.Warn("broker link down", "broker", broker, "err", err, "retry_in", wait, "next", brokers[next])
		t := c.opt.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C():
		}
		if next == 0 || connected {
			// Back off once per round of the list, not per broker.
			attempt++
		}
		c.reconnects.Add(1)
	}
	return nil
}

// drain waits for the message handlers in flight and turns away any
// that paho starts after Run has returned.
func (c *Client) drain() {
	close(c.stop)
	c.handlers.Lock()
	c.stopped = true
	c.handlers.Unlock()
}

// once runs one connection until it is lost or ctx ends.
func (c *Client) once(ctx context.Context, brokerURL string) (connected bool, err error) {
	lost := make(chan error, 1)
	broker, _ := BrokerURL(brokerURL)
	// Every connection is a new session, numbered above all before it (on
	// disk), and the Will says which session was lost.
	session, err := c.opt.Store.NextSession()
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.session = session
	c.mu.Unlock()
	o := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(c.opt.ClientID).
		SetCleanSession(false).
		// Run is the only retry loop: paho must add no waits of its own
		// (its ConnectRetry would retry inside Connect, and its
		// reconnect backoff remembers failures for 2 x ConnectTimeout).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(c.opt.KeepAlive).
		SetPingTimeout(c.opt.KeepAlive/2+time.Second).
		SetConnectTimeout(10*time.Second).
		SetWriteTimeout(30*time.Second).
		// The broker tells everyone the device is lost if it vanishes.
		SetBinaryWill(proto.StateTopic(c.opt.DeviceID), c.stateBytes(proto.LifeLost, session, ""), 1, true).
		// Acknowledge only after the store committed: a crash before the
		// commit leaves the message with the broker, which sends it again.
		SetAutoAckDisabled(true).
		// Handlers run concurrently so store commits can be batched;
		// revisions make the order irrelevant.
		SetOrderMatters(false).
		// Messages queued for our persistent session can arrive before
		// Subscribe returns; the default handler takes them.
		SetDefaultPublishHandler(c.handle).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if c.opt.TLS != nil {
		o.SetTLSConfig(tlsFor(c.opt.TLS, brokerURL))
	}
	cl := mqtt.NewClient(o)
	// Queued content may arrive as soon as the connection is up, before
	// the allowlist does.
	c.listBy.Store(time.Now().Add(c.opt.AllowlistWait).UnixNano())
	c.backlogBy.Store(time.Now().Add(c.opt.QueueSettle).UnixNano())
	tok := cl.Connect()
	if err := waitToken(ctx, tok); err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer cl.Disconnect(250)
	ct := tok.(*mqtt.ConnectToken)
	log := c.log.With("broker", brokerURL, "session_present", ct.SessionPresent())
	stateTopic := proto.StateTopic(c.opt.DeviceID)
	if err := waitToken(ctx, cl.Publish(stateTopic, 1, true, c.stateBytes(proto.LifeInit, session, ""))); err != nil {
		return true, fmt.Errorf("publish state: %w", err)
	}
	// Watch our own state: a Will from an older session delivered late
	// would otherwise stand as the retained state of a live device.
	if err := waitToken(ctx, cl.Subscribe(stateTopic, 1, nil)); err != nil {
		return true, fmt.Errorf("subscribe state: %w", err)
	}
	if c.opt.Admin != nil {
		if err := waitToken(ctx, cl.Subscribe(proto.AdminTopic(c.opt.DeviceID), 1, nil)); err != nil {
			return true, fmt.Errorf("subscribe admin: %w", err)
		}
	}
	if c.opt.Bookings != nil {
		// Every connect, as for calls: a session from an older build
		// may lack it.
		if err := waitToken(ctx, cl.Subscribe(proto.BookingTopic(c.opt.DeviceID), 1, nil)); err != nil {
			return true, fmt.Errorf("subscribe bookings: %w", err)
		}
	}
	if c.opt.Calls != nil {
		// Every connect, not only new sessions: a session from an older
		// build may lack them, and the retained allowlist comes with it.
		st := cl.SubscribeMultiple(map[string]byte{
			proto.CallInTopic(c.opt.DeviceID):    1,
			proto.AllowlistTopic(c.opt.DeviceID): 1,
		}, nil)
		if err := waitToken(ctx, st); err != nil {
			return true, fmt.Errorf("subscribe calls: %w", err)
		}
	}
	// A new session: subscribe, which also brings the retained items. So
	// does a new database under an old session (a factory reset, a
	// database set aside): the broker sent those items to the old one.
	// After the allowlist's subscription, so that the broker sends the
	// retained list before the retained items. Handlers run side by side:
	// a signed item that finds no list yet waits for it in its own
	// handler (awaitAllowlist); nothing else waits.
	if !ct.SessionPresent() || (c.opt.Store.Created() && !c.resubscribed) {
		st := cl.Subscribe(proto.ContentFilter(c.opt.DeviceID), 1, nil)
		if err := waitToken(ctx, st); err != nil {
			return true, fmt.Errorf("subscribe: %w", err)
		}
		c.resubscribed = true
	}
	c.mu.Lock()
	c.cl = cl
	c.mu.Unlock()
	c.out.attach(cl) // publishes the latest availability again
	defer func() {
		c.out.attach(nil)
		c.mu.Lock()
		c.cl = nil
		c.mu.Unlock()
	}()
	if err := waitToken(ctx, c.publishState(cl)); err != nil {
		return true, fmt.Errorf("publish state: %w", err)
	}
	log.Info("connected to broker", "session", session)

	var wg gosync.WaitGroup
	inner, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.reportInventory(inner, cl)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.deliverActivity(inner, cl)
	}()
	defer func() { cancel(); wg.Wait() }()
	select {
	case <-ctx.Done():
		// A clean stop: say so, so nobody waits for the Will.
		t := cl.Publish(stateTopic, 1, true, c.stateBytes(proto.LifeDisconnected, session, ""))
		t.WaitTimeout(2 * time.Second)
		return true, nil
	case err := <-lost:
		return true, fmt.Errorf("connection lost: %w", err)
	}
}

func waitToken(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) stateBytes(s proto.Lifecycle, session uint64, reason string) []byte {
	b, _ := json.Marshal(proto.State{V: proto.Version, Device: c.opt.DeviceID, State: s, Session: session,
		Time: c.opt.Clock.Now().UTC(), Reason: reason, Version: c.opt.Version})
	return b
}

// publishState publishes ready, or alert with its reason.
func (c *Client) publishState(cl mqtt.Client) mqtt.Token {
	c.mu.Lock()
	state, reason, session := proto.LifeReady, c.alert, c.session
	c.mu.Unlock()
	if reason != "" {
		state = proto.LifeAlert
	}
	return cl.Publish(proto.StateTopic(c.opt.DeviceID), 1, true, c.stateBytes(state, session, reason))
}

// SetAlert marks the device as needing a person (reason), or clears it ("").
func (c *Client) SetAlert(reason string) {
	c.mu.Lock()
	changed := c.alert != reason
	c.alert = reason
	cl := c.cl
	c.mu.Unlock()
	if changed && cl != nil {
		c.publishState(cl)
	}
}

// Session is the number of the current (or last) connection.
func (c *Client) Session() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// PublishHeartbeat publishes h, retained, if connected; its Session is
// the connection's.
func (c *Client) PublishHeartbeat(h proto.Heartbeat) bool {
	c.mu.Lock()
	cl := c.cl
	h.Session = c.session
	c.mu.Unlock()
	if cl == nil {
		return false
	}
	b, err := json.Marshal(h)
	if err != nil {
		return false
	}
	cl.Publish(proto.HeartbeatTopic(c.opt.DeviceID), 1, true, b)
	return true
}

// ownState answers a state message on our own topic that is not ours
// (a late Will of an older session): the current state goes out again.
func (c *Client) ownState(m mqtt.Message) {
	st, err := proto.DecodeState(m.Payload())
	c.mu.Lock()
	session, cl := c.session, c.cl
	c.mu.Unlock()
	if err == nil && st.Session == session && st.State != proto.LifeLost {
		return // our own
	}
	if cl == nil {
		return // still connecting: ready follows
	}
	c.log.Warn("state topic overwritten; publishing ours again", "their_state", st.State, "their_session", st.Session, "session", session)
	c.publishState(cl)
}

// handleCall passes call signalling and allowlists on; they are not stored,
// so they are acknowledged at once.
func (c *Client) handleCall(m mqtt.Message) {
	defer m.Ack()
	if len(m.Payload()) == 0 {
		return
	}
	now := c.opt.Clock.Now()
	refuse := func(err error) { c.refuseCounted(&c.callRefusals, "call", m, "", now, err) }
	if m.Retained() && m.Topic() == proto.CallInTopic(c.opt.DeviceID) {
		// An invite is live or nothing: one kept by the broker would be
		// replayed to the device at every new subscription.
		refuse(errors.New("retained message on call/in ignored"))
		return
	}
	if m.Topic() == proto.AllowlistTopic(c.opt.DeviceID) {
		a, err := proto.DecodeAllowlist(m.Payload())
		if err == nil {
			err = c.opt.Calls.SetAllowlist(a)
		}
		switch {
		case err == nil:
			c.log.Info("allowlist installed", "serial", a.Serial, "callers", len(a.Callers))
			c.listOnce.Do(func() { close(c.listIn) })
		case errors.Is(err, callauth.ErrStale):
			c.staleAllowlist(m, a, now)
		default:
			refuse(err)
		}
		return
	}
	msg, err := proto.DecodeCallIn(c.opt.DeviceID, m.Payload())
	if err != nil {
		c.refuseUndecoded(m, now, err)
		return
	}
	c.opt.Calls.Deliver(msg)
}

// staleAllowlist answers an allowlist the organisation signed whose serial
// is not above the held one: an equal serial is the retained list again
// (silent); a lower one that arrives retained, or live once the session's
// queue is in, is an organisation that
// lost track of its serial (a broker that lost its retained list),
// reported once per serial so that whoever signed it learns why the
// device ignores it. A lower one that arrives from the session's queue
// right after connecting was published while the device was away, before
// the newer list it already holds, and is not reported.
func (c *Client) staleAllowlist(m mqtt.Message, a proto.Allowlist, now time.Time) {
	held := uint64(0)
	if c.opt.Senders != nil {
		held = c.opt.Senders.Serial()
	}
	if a.Serial >= held {
		c.log.Debug("allowlist unchanged", "serial", a.Serial)
		return
	}
	if !m.Retained() && time.Now().UnixNano() < c.backlogBy.Load() {
		// Right after connecting, a list published while the device was
		// away comes from its session's queue, next to the newer one it
		// holds: history, not a mistake. The broker's retained copy being
		// older, or an older list published live, says the organisation
		// or the broker lost track.
		c.log.Debug("older allowlist from the session's queue", "serial", a.Serial, "held", held)
		return
	}
	if !c.firstReport(fmt.Sprintf("allowlist %d", a.Serial)) {
		c.log.Debug("older allowlist again", "serial", a.Serial, "held", held)
		return
	}
	reason := fmt.Sprintf("allowlist serial %d is older than the one held (%d)", a.Serial, held)
	c.log.Warn("allowlist refused", "reason", reason)
	if err := c.opt.Store.AddRefusal(proto.Refusal{Time: now, Topic: m.Topic(), Reason: reason}); err != nil {
		c.log.Error("record refusal", "err", err)
	}
}

// refuseUndecoded records a call/in message that does not decode. An
// invite whose caller and call ids can still be read gets a refused reply
// with the reason (under the same count as the record), so its caller
// does not wait for an answer that will never come.
func (c *Client) refuseUndecoded(m mqtt.Message, now time.Time, err error) {
	if !c.refuseCounted(&c.callRefusals, "call", m, "", now, err) {
		return
	}
	var probe struct {
		Type   string `json:"type"`
		Call   string `json:"call"`
		Caller string `json:"caller"`
	}
	if len(m.Payload()) > proto.MaxPayload || json.Unmarshal(m.Payload(), &probe) != nil {
		return
	}
	if probe.Type != proto.SignalInvite || !proto.ValidID(probe.Call) || !proto.ValidID(probe.Caller) {
		return
	}
	c.out.Reply(probe.Caller, proto.Reply{V: proto.Version, Type: proto.SignalRefused, Call: probe.Call,
		Device: c.opt.DeviceID, Time: now.UTC(), Reason: err.Error()})
}

// firstReport reports whether key is reported for the first time in this
// process, and remembers it.
func (c *Client) firstReport(key string) bool {
	c.reportedMu.Lock()
	defer c.reportedMu.Unlock()
	if c.reported[key] {
		return false
	}
	if len(c.reported) >= maxReported {
		clear(c.reported) // a bound; forgetting costs a second report
	}
	c.reported[key] = true
	return true
}

// maxReported bounds the refusals remembered as reported.
const maxReported = 10000

// awaitAllowlist waits until the device holds an allowlist, or the
// connection's wait for one is over, or ctx ends. It measures real time:
// it waits for the network, not for the device's clock.
func (c *Client) awaitAllowlist(ctx context.Context) {
	if c.opt.Senders == nil {
		return
	}
	if _, ok := c.opt.Senders.Allowlist(); ok {
		return
	}
	wait := time.Until(time.Unix(0, c.listBy.Load()))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-c.listIn:
	case <-t.C:
	case <-c.stop:
	case <-ctx.Done():
	}
}

// refuseCounted records a refused message on a topic where anyone may
// publish (call/in, allowlist, booking): a flood of junk is counted, not
// recorded one by one, so it cannot push real refusals out. kind names
// the messages in the count's reason ("call": "N more call messages
// refused within 1m0s"). It reports whether this one was recorded on its
// own (not only counted).
func (c *Client) refuseCounted(rc *refusalCounter, kind string, m mqtt.Message, id string, now time.Time, err error) bool {
	record, more := rc.note(now)
	if more > 0 {
		c.log.Warn(kind+" messages refused", "count", more, "within", refusalWindow)
		if err := c.opt.Store.AddRefusal(proto.Refusal{Time: now, Topic: m.Topic(),
			Reason: fmt.Sprintf("%d more %s messages refused within %s", more, kind, refusalWindow)}); err != nil {
			c.log.Error("record refusal", "err", err)
		}
	}
	if !record {
		c.log.Debug(kind+" message refused", "topic", m.Topic(), "bytes", len(m.Payload()), "err", err)
		return false
	}
	c.log.Warn(kind+" message refused", "topic", m.Topic(), "bytes", len(m.Payload()), "err", err)
	if err := c.opt.Store.AddRefusal(proto.Refusal{Time: now, Topic: m.Topic(), ID: id, Reason: err.Error()}); err != nil {
		c.log.Error("record refusal", "err", err)
	}
	return true
}

// handleBooking passes a booking on to be checked and kept, and then
// acknowledges it; a refusal is recorded and acknowledged too (sending it
// again would not help), a store failure is not.
func (c *Client) handleBooking(m mqtt.Message) {
	if len(m.Payload()) == 0 {
		m.Ack()
		return
	}
	now := c.opt.Clock.Now()
	b, refused := proto.DecodeBooking(c.opt.DeviceID, m.Payload())
	if refused == nil {
		var err error
		if refused, err = c.opt.Bookings.Take(b); err != nil {
			c.log.Error("store booking; not acknowledged, the broker will send it again", "booking", b.ID, "rev", b.Rev, "err", err)
			return
		}
	}
	if refused != nil {
		c.refuseCounted(&c.bookingRefusals, "booking", m, b.ID, now, refused)
	}
	m.Ack()
}

// handle stores one message and then acknowledges it.
func (c *Client) handle(_ mqtt.Client, m mqtt.Message) {
	c.handlers.RLock()
	defer c.handlers.RUnlock()
	if c.stopped {
		return // not acknowledged: the broker sends it again next session
	}
	c.received.Add(1)
	if c.opt.Admin != nil && m.Topic() == proto.AdminTopic(c.opt.DeviceID) {
		if len(m.Payload()) > 0 {
			c.opt.Admin(m.Payload())
		}
		m.Ack()
		return
	}
	if m.Topic() == proto.StateTopic(c.opt.DeviceID) {
		m.Ack()
		if len(m.Payload()) > 0 {
			c.ownState(m)
		}
		return
	}
	if c.opt.Bookings != nil && m.Topic() == proto.BookingTopic(c.opt.DeviceID) {
		c.handleBooking(m)
		return
	}
	if c.opt.Calls != nil && (m.Topic() == proto.CallInTopic(c.opt.DeviceID) || m.Topic() == proto.AllowlistTopic(c.opt.DeviceID)) {
		c.handleCall(m)
		return
	}
	if len(m.Payload()) == 0 {
		// A cleared retained message: nothing to store.
		m.Ack()
		return
	}
	now := c.opt.Clock.Now()
	it, err := proto.DecodeItem(c.opt.DeviceID, m.Topic(), m.Payload())
	if err != nil {
		ref := proto.Refusal{Time: now, Topic: m.Topic(), ID: it.ID, Rev: it.Rev, Reason: err.Error()}
		if ref.ID == "" {
			ref.ID = topicItem(m.Topic())
		}
		c.log.Warn("content refused", "topic", m.Topic(), "bytes", len(m.Payload()), "err", err)
		if !c.recordRefusal(ref, peekItem(m.Payload())) {
			return // the broker retries later
		}
		m.Ack()
		return
	}
	refused, err := c.judge(&it, now)
	if err != nil {
		c.log.Error("judge item; not acknowledged, the broker will send it again", "id", it.ID, "rev", it.Rev, "err", err)
		return
	}
	if refused != nil {
		if refused.silent {
			c.log.Debug("content refused again", "id", it.ID, "rev", it.Rev, "reason", refused.reason)
		} else {
			c.log.Warn("content refused", "topic", m.Topic(), "id", it.ID, "rev", it.Rev, "sender", it.Sender, "reason", refused.reason, "err", refused.detail)
			ref := proto.Refusal{Time: now, Topic: m.Topic(), ID: it.ID, Rev: it.Rev, Reason: refused.reason}
			if !c.recordRefusal(ref, store.Of{Kind: it.Kind, Text: it.Text}) {
				return
			}
		}
		m.Ack()
		return
	}
	out, err := c.opt.Store.Apply(it, now)
	if err != nil {
		c.log.Error("store item; not acknowledged, the broker will send it again", "id", it.ID, "rev", it.Rev, "err", err)
		return
	}
	m.Ack()
	c.lastSync.Store(now.UnixNano())
	c.log.Debug("content stored", "id", it.ID, "rev", it.Rev, "kind", it.Kind, "sender", it.Sender, "outcome", out)
}

// recordRefusal lists a refused content payload and reports it; false
// when the store failed (the message is then left unacknowledged).
func (c *Client) recordRefusal(ref proto.Refusal, of store.Of) bool {
	if err := c.opt.Store.AddItemRefusal(ref, of); err != nil {
		c.log.Error("record refusal", "err", err)
		return false
	}
	return true
}

// peekItem reads what it can of an item that did not decode (its kind
// and text), for the refusal's report.
func peekItem(payload []byte) store.Of {
	var p struct {
		Kind proto.Kind `json:"kind"`
		Text string     `json:"text"`
	}
	if len(payload) > proto.MaxPayload || json.Unmarshal(payload, &p) != nil {
		return store.Of{}
	}
	if p.Kind != proto.KindPhoto && p.Kind != proto.KindMessage {
		p.Kind = ""
	}
	if !utf8.ValidString(p.Text) {
		p.Text = ""
	}
	return store.Of{Kind: p.Kind, Text: p.Text}
}

// itemRefusal is why a decoded item is not taken.
type itemRefusal struct {
	reason string // what the inventory and the activity say
	detail error  // for the log
	silent bool   // reported before (a retained copy again): not again
}

// Reasons an item that decoded is refused; their text is the protocol's
// (docs/protocol.md, "Senders: signed items").
var (
	errUnsigned = errors.New("unsigned item: this screen takes only signed items")
	errExpired  = errors.New("expired")
)

// judge applies the rules for content after decoding, in the protocol's
// order: unsigned items while signing is required; a signed item's sender
// (on the allowlist, its signature, the right to send); whose the item
// is; a signed revision older than the held one; an item whose window is
// over. The held revision again is let through (the store finds it a
// duplicate). A signed item's From becomes the allowlist's name of its sender.
// It returns a refusal, or an error when the store could not be read.
func (c *Client) judge(it *proto.Item, now time.Time) (*itemRefusal, error) {
	refuse := func(err error) (*itemRefusal, error) {
		reason := err.Error()
		for _, short := range []error{callauth.ErrNoAllowlist, callauth.ErrUnknownSender, callauth.ErrBadSignature, callauth.ErrNotSender} {
			if errors.Is(err, short) {
				reason = short.Error()
			}
		}
		return &itemRefusal{reason: reason, detail: err}, nil
	}
	held, have, err := c.opt.Store.Get(it.ID)
	if err != nil {
		return nil, err
	}
	if have && it.Rev == held.Item.Rev {
		// The held revision again (retained copies come with every
		// reconnect): a duplicate, silent whatever became of its sender.
		return nil, nil
	}
	var sender proto.AllowedCaller
	if it.Sender == "" {
		if c.opt.RequireSignedItems {
			return refuse(errUnsigned)
		}
	} else {
		if c.opt.Senders == nil {
			return refuse(fmt.Errorf("item %s rev %d from %s: %w", it.ID, it.Rev, it.Sender, callauth.ErrNoAllowlist))
		}
		c.awaitAllowlist(context.Background())
		var err error
		if sender, err = c.opt.Senders.CheckItem(*it); err != nil {
			return refuse(err)
		}
	}
	if have && held.Item.Sender != "" && held.Item.Sender != it.Sender && !(it.Sender != "" && sender.May(proto.RightAdmin)) {
		return refuse(fmt.Errorf("item belongs to %s", held.Item.Sender))
	}
	if have && it.Sender != "" && it.Rev < held.Item.Rev {
		return refuse(fmt.Errorf("stale revision %d (holding %d)", it.Rev, held.Item.Rev))
	}
	if !have && !it.Deleted && !it.End.After(now) && (c.opt.ClockTrusted == nil || c.opt.ClockTrusted()) {
		// A retained item whose window ended comes again at every
		// reconnect: reported once.
		r, _ := refuse(errExpired)
		r.silent = !c.firstReport(fmt.Sprintf("item %s %d", it.ID, it.Rev))
		return r, nil
	}
	if it.Sender != "" {
		it.From = sender.Name
	}
	return nil, nil
}

func topicItem(topic string) string {
	for i := len(topic) - 1; i >= 0; i-- {
		if topic[i] == '/' {
			if id := topic[i+1:]; proto.ValidID(id) {
				return id
			}
			return ""
		}
	}
	return ""
}

// reportInventory publishes what the device holds now and after every
// change, at most once per InventoryDelay.
func (c *Client) reportInventory(ctx context.Context, cl mqtt.Client) {
	for {
		changed := c.opt.Store.Changed()
		if err := c.publishInventory(ctx, cl); err != nil && ctx.Err() == nil {
			c.log.Warn("publish inventory", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		t := c.opt.Clock.NewTimer(c.opt.InventoryDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// maxInventoryItems keeps the retained report well inside MaxPayload.
const maxInventoryItems = 2000

func (c *Client) publishInventory(ctx context.Context, cl mqtt.Client) error {
	inv, err := Inventory(c.opt.Store, c.opt.DeviceID, c.opt.Clock.Now())
	if err != nil {
		return err
	}
	b, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	return waitToken(ctx, cl.Publish(proto.InventoryTopic(c.opt.DeviceID), 1, true, b))
}

// Inventory builds the device's report from its store. When the device
// holds more than maxInventoryItems items, it lists those a reader needs
// most (listOrder) and says how many it left out; listed items are by id.
func Inventory(s *store.Store, device string, now time.Time) (proto.Inventory, error) {
	recs, err := s.All()
	if err != nil {
		return proto.Inventory{}, fmt.Errorf("inventory: %w", err)
	}
	refusals, err := s.Refusals()
	if err != nil {
		return proto.Inventory{}, fmt.Errorf("inventory: %w", err)
	}
	bookings, err := s.Bookings()
	if err != nil {
		return proto.Inventory{}, fmt.Errorf("inventory: %w", err)
	}
	for i, r := range refusals {
		if r.Topic == "" && r.ID != "" {
			// A photo refused after it was stored: its content topic.
			refusals[i].Topic = proto.ContentTopic(device, r.ID)
		}
	}
	inv := proto.Inventory{V: proto.Version, Device: device, Time: now, Items: []proto.InventoryItem{}, Refused: refusals}
	if len(recs) > maxInventoryItems {
		slices.SortStableFunc(recs, func(a, b store.Record) int { return listOrder(a, b, now) })
		inv.Truncated, inv.Omitted = true, len(recs)-maxInventoryItems
		recs = recs[:maxInventoryItems]
		slices.SortFunc(recs, func(a, b store.Record) int { return strings.Compare(a.Item.ID, b.Item.ID) })
	}
	for _, r := range recs {
		inv.Items = append(inv.Items, proto.InventoryItem{
			ID: r.Item.ID, Rev: r.Item.Rev, Kind: r.Item.Kind, From: r.Item.From, Sender: r.Item.Sender, Text: r.Item.Text,
			Start: r.Item.Start, End: r.Item.End, State: r.State, Reason: r.Reason,
		})
	}
	slices.SortFunc(bookings, func(a, b proto.Booking) int { return a.At.Compare(b.At) })
	for _, b := range bookings {
		if !b.At.Add(time.Duration(b.LengthS) * time.Second).After(now) {
			continue // over; the store lets it go soon
		}
		inv.Bookings = append(inv.Bookings, proto.InventoryBooking{ID: b.ID, Rev: b.Rev, Caller: b.Caller,
			At: b.At, LengthS: b.LengthS, Reason: b.Reason})
	}
	return inv, nil
}

// listOrder ranks items for a truncated inventory: those on screen now
// (their window holds now: ready, or pending), then those still to come,
// soonest start first, then the rest (ended, refused) newest end first,
// tombstones last; ties by id.
func listOrder(a, b store.Record, now time.Time) int {
	rank := func(r store.Record) int {
		switch {
		case r.State == proto.StateDeleted:
			return 3
		case r.State == proto.StateRefused || !r.Item.End.After(now):
			return 2
		case r.Item.Start.After(now):
			return 1
		}
		return 0
	}
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return ra - rb
	}
	switch ra {
	case 1:
		if c := a.Item.Start.Compare(b.Item.Start); c != 0 {
			return c
		}
	case 2:
		if c := b.Item.End.Compare(a.Item.End); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Item.ID, b.Item.ID)
}
