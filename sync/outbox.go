package sync

import (
	"encoding/json"
	"log/slog"
	gosync "sync"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/sync/proto"
)

// Outbox is the device's way to its callers: replies on call/out/{caller}
// and its availability, retained. It publishes through whichever
// connection the Client has up. It exists apart from the Client so the
// call side (which answers through it) can be built before the Client
// (which delivers invites to the call side): the composition root makes
// the Outbox, then the call side, then the Client.
type Outbox struct {
	device string
	log    *slog.Logger

	mu           gosync.Mutex
	cl           mqtt.Client // nil between connections
	availability []byte      // the latest, published again on every connect
}

// NewOutbox returns the Outbox of device; a nil log is slog.Default().
func NewOutbox(device string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.Default()
	}
	return &Outbox{device: device, log: log.With("component", "sync")}
}

// attach hands over the connection (nil: none) and publishes the latest
// availability on a new one.
func (o *Outbox) attach(cl mqtt.Client) {
	o.mu.Lock()
	o.cl = cl
	avail := o.availability
	o.mu.Unlock()
	if cl != nil && avail != nil {
		cl.Publish(proto.AvailabilityTopic(o.device), 1, true, avail)
	}
}

// Reply sends r to one caller, QoS 1, if connected; calls are live, so
// nothing is kept for later.
func (o *Outbox) Reply(caller string, r proto.Reply) {
	b, err := json.Marshal(r)
	if err != nil {
		o.log.Error("encode reply", "err", err)
		return
	}
	o.mu.Lock()
	cl := o.cl
	o.mu.Unlock()
	if cl == nil {
		o.log.Debug("reply dropped: not connected", "caller", caller, "type", r.Type)
		return
	}
	cl.Publish(proto.CallOutTopic(o.device, caller), 1, false, b)
}

// SetAvailability publishes a, retained, now if connected and again after
// every reconnect.
func (o *Outbox) SetAvailability(a proto.Availability) {
	b, err := json.Marshal(a)
	if err != nil {
		o.log.Error("encode availability", "err", err)
		return
	}
	o.mu.Lock()
	o.availability = b
	cl := o.cl
	o.mu.Unlock()
	if cl != nil {
		cl.Publish(proto.AvailabilityTopic(o.device), 1, true, b)
	}
}
