package sync

import (
	"context"
	"encoding/json"
	"fmt"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/sync/proto"
)

// deliverActivity publishes the activity log upward, at least once: each
// event retained on its own topic with QoS 1, oldest first, and the store
// remembers how far the broker acknowledged. Events logged while offline
// wait in the store. The broker keeps the last proto.MaxRetainedActivity;
// older ones are cleared.
func (c *Client) deliverActivity(ctx context.Context, cl mqtt.Client) {
	for {
		changed := c.opt.Store.ActivityChanged()
		if err := c.publishActivity(ctx, cl); err != nil && ctx.Err() == nil {
			c.log.Warn("publish activity", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (c *Client) publishActivity(ctx context.Context, cl mqtt.Client) error {
	for ctx.Err() == nil {
		done, err := c.opt.Store.ActivityDelivered()
		if err != nil {
			return err
		}
		evs, err := c.opt.Store.Activities(done, 100)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, a := range evs {
			b, err := json.Marshal(store.ActivityEvent(c.opt.DeviceID, a))
			if err != nil {
				return fmt.Errorf("encode activity: %w", err)
			}
			if err := waitToken(ctx, cl.Publish(proto.ActivityTopic(c.opt.DeviceID, a.ID), 1, true, b)); err != nil {
				return err
			}
			if a.Seq > proto.MaxRetainedActivity {
				old := c.opt.Store.ActivityID(a.Seq - proto.MaxRetainedActivity)
				cl.Publish(proto.ActivityTopic(c.opt.DeviceID, old), 1, true, []byte{})
			}
		}
		if err := c.opt.Store.SetActivityDelivered(evs[len(evs)-1].Seq); err != nil {
			return err
		}
	}
	return nil
}
