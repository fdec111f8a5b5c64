package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device/clock"
	"github.com/hearth-home/hearth/device/store"
	"github.com/hearth-home/hearth/device/sysbus"
	"github.com/hearth-home/hearth/provisioning"
)

// settingWifiDone records which bundle's Wi-Fi networks are saved (its
// issued time), so they are saved once per bundle.
const settingWifiDone = "wifi_saved_for"

// Retries while NetworkManager is not there: a first boot can reach
// hearthd before NetworkManager is up.
const (
	wifiRetryMin = time.Second
	wifiRetryMax = 5 * time.Minute
)

// wifiSetup saves the provisioning bundle's Wi-Fi networks in
// NetworkManager, over the system bus, and keeps trying until
// NetworkManager answers: the bundle itself is gone from its medium by
// then, and without these networks the device may never reach its broker.
// Each network saved or refused is an activity upward (once connected).
type wifiSetup struct {
	nets   []provisioning.WiFi
	issued string // the bundle's; marks the networks done in the store
	bus    sysbus.WifiSetup
	st     *store.Store
	clk    clock.Clock
	log    *slog.Logger
}

// newWifiSetup returns nil when there is nothing to do: no bundle, no
// networks in it, or its networks already saved.
func newWifiSetup(data string, st *store.Store, bus sysbus.WifiSetup, clk clock.Clock, log *slog.Logger) *wifiSetup {
	prov, ok, err := provisioning.Load(data)
	if err != nil || !ok || len(prov.WiFi) == 0 {
		return nil
	}
	issued := prov.Issued.UTC().Format(time.RFC3339Nano)
	if done, _ := st.Setting(settingWifiDone); done == issued {
		return nil
	}
	return &wifiSetup{nets: prov.WiFi, issued: issued, bus: bus, st: st, clk: clk, log: log.With("component", "wifi")}
}

func (w *wifiSetup) run(ctx context.Context) error {
	wait := wifiRetryMin
	for len(w.nets) > 0 {
		var later []provisioning.WiFi
		for _, n := range w.nets {
			err := w.bus.AddWifi(ctx, n.SSID, n.PSK)
			switch {
			case errors.Is(err, sysbus.ErrNoNetworkManager):
				later = append(later, n)
			case err != nil:
				// NetworkManager refused it (a passphrase it will not
				// take, say): trying again would not help.
				w.log.Error("wifi from the bundle refused", "ssid", n.SSID, "err", err)
				w.note("wifi_refused", n.SSID, err.Error())
			default:
				w.log.Info("wifi from the bundle saved", "ssid", n.SSID)
				w.note("wifi_saved", n.SSID, "")
			}
		}
		if w.nets = later; len(later) == 0 {
			break
		}
		if wait == wifiRetryMin {
			// Once, not at every try.
			w.log.Warn("wifi from the bundle not saved yet: no NetworkManager; trying again", "networks", ssids(later))
		}
		t := w.clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
		wait = min(wait*2, wifiRetryMax)
	}
	if err := w.st.SetSetting(settingWifiDone, w.issued); err != nil {
		w.log.Warn("record wifi saved", "err", err)
	}
	return nil
}

func (w *wifiSetup) note(typ, ssid, reason string) {
	if reason == "" {
		reason = "network " + ssid
	} else {
		reason = "network " + ssid + ": " + reason
	}
	if err := w.st.LogActivity(store.Activity{Time: w.clk.Now(), Type: typ, Reason: reason}); err != nil {
		w.log.Warn("activity", "err", err)
	}
}

func ssids(nets []provisioning.WiFi) string {
	names := make([]string, len(nets))
	for i, n := range nets {
		names[i] = n.SSID
	}
	return strings.Join(names, ", ")
}
