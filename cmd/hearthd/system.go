package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/sync/proto"
)

// connectSystem reaches timedated and NetworkManager over D-Bus for the
// heartbeat. The link reconnects by itself when the bus restarts or comes
// up after hearthd; until then both are unknown.
func (h *health) connectSystem(log *slog.Logger) {
	link := sysbus.NewLink(context.Background(), sysbus.LinkOptions{Logger: log, Clock: h.clk})
	h.bus = link
	h.closers = append(h.closers, func() { _ = link.Close() })
	h.hb.TimeSynced = func(ctx context.Context) *bool {
		if synced, known := link.Synchronized(ctx); known {
			return &synced
		}
		return nil
	}
	h.hb.Network = func(ctx context.Context) *proto.Net {
		st, known := link.Status(ctx)
		if !known {
			return nil
		}
		n := &proto.Net{Interface: st.Interface, Type: st.Type, SSID: st.SSID, IP: st.IP, State: st.State}
		if st.Signal >= 0 {
			s := st.Signal
			n.Signal = &s
		}
		return n
	}
}

// alive is the systemd watchdog's health check: the store answers and,
// with a screen, Fyne's event loop runs. A wedged daemon stops petting the
// watchdog and systemd restarts it.
func alive(st *store.Store, screen bool) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if _, err := st.ActivityDelivered(); err != nil {
			return err
		}
		if !screen {
			return nil
		}
		done := make(chan struct{})
		fyne.Do(func() { close(done) })
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return errors.New("the screen's event loop did not answer in 10 s")
		}
	}
}
