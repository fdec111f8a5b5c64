// Package sync keeps the device's store in step with the MQTT broker: it
// receives content items and tombstones for this device and acknowledges
// each only after the store has committed it, and it reports upward what
// the device holds (the inventory). Before the store sees an item, the
// link judges who sent it (judge: signed items against the allowlist,
// whose item it is, replays, expired items; docs/protocol.md, "Senders").
// It also has the small client that hearthctl uses to publish and read.
//
// The MQTT session is persistent (clean session off, a stable client id),
// so QoS 1 content published while the device was offline is delivered when
// it comes back.
package sync
