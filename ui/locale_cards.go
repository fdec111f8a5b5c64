package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device"
)

// cardWords are the carousel's own sentences in one language: the cards
// the device composes (today's calls, a booked call, what came in
// overnight) and the line that stands in for an untrusted clock. Names
// and reasons are shown as sent, never inflected: the sentences are built
// around them.
type cardWords struct {
	// settingTime replaces the clock while the time cannot be believed.
	settingTime string

	callsToday string
	// callFmt is one answered call: name, time, length ("Anna 10:02 (12 min)").
	callFmt string
	// missedFmt is a call nobody answered: name, time.
	missedFmt string
	// minutesFmt and hoursFmt word a call's length.
	minutesFmt, hoursFmt string

	// bookingFmt: name, time today; bookingDayFmt: name, weekday, time.
	bookingFmt, bookingDayFmt string

	newSince string
	// photo(s) and message(s): singular, then the plural format.
	photo, photosFmt, message, messagesFmt string
	and                                    string
	// fromOne and fromMany introduce the senders' names.
	fromOne, fromMany string
}

var cardWordsByTag = map[string]cardWords{
	"en": {
		settingTime: "Setting the time…",
		callsToday:  "Calls today",
		callFmt:     "%s %s (%s)", missedFmt: "%s tried to call at %s",
		minutesFmt: "%d min", hoursFmt: "%d h %d min",
		bookingFmt: "%s will call at %s", bookingDayFmt: "%s will call on %s at %s",
		newSince: "New since yesterday",
		photo:    "1 photo", photosFmt: "%d photos", message: "1 message", messagesFmt: "%d messages",
		and: "and", fromOne: "from %s", fromMany: "from %s",
	},
	"sv": {
		settingTime: "Klockan ställs…",
		callsToday:  "Samtal i dag",
		callFmt:     "%s %s (%s)", missedFmt: "%s försökte ringa kl. %s",
		minutesFmt: "%d min", hoursFmt: "%d tim %d min",
		bookingFmt: "%s ringer kl. %s", bookingDayFmt: "%s ringer på %s kl. %s",
		newSince: "Nytt sedan i går",
		photo:    "1 bild", photosFmt: "%d bilder", message: "1 meddelande", messagesFmt: "%d meddelanden",
		and: "och", fromOne: "från %s", fromMany: "från %s",
	},
	"fi": {
		settingTime: "Kelloa asetetaan…",
		callsToday:  "Tämän päivän puhelut",
		callFmt:     "%s klo %s (%s)", missedFmt: "%s yritti soittaa klo %s",
		minutesFmt: "%d min", hoursFmt: "%d t %d min",
		bookingFmt: "%s soittaa klo %s", bookingDayFmt: "%s soittaa %s klo %s",
		newSince: "Uutta eilisen jälkeen",
		photo:    "1 kuva", photosFmt: "%d kuvaa", message: "1 viesti", messagesFmt: "%d viestiä",
		// "lähettäjä Anna" ("sender Anna") leaves the name as it is,
		// unlike "Annalta".
		and: "ja", fromOne: "lähettäjä %s", fromMany: "lähettäjät %s",
	},
	"de": {
		settingTime: "Die Uhrzeit wird gestellt…",
		callsToday:  "Anrufe heute",
		callFmt:     "%s %s Uhr (%s)", missedFmt: "%s hat um %s Uhr versucht anzurufen",
		minutesFmt: "%d Min.", hoursFmt: "%d Std. %d Min.",
		bookingFmt: "%s ruft um %s Uhr an", bookingDayFmt: "%s ruft am %s um %s Uhr an",
		newSince: "Neu seit gestern",
		photo:    "1 Foto", photosFmt: "%d Fotos", message: "1 Nachricht", messagesFmt: "%d Nachrichten",
		and: "und", fromOne: "von %s", fromMany: "von %s",
	},
}

// cards returns the card words of the screen's language.
func (l *locale) cards() cardWords { return cardWordsByTag[l.tag] }

// length words a call's length, rounded up to whole minutes.
func (w cardWords) length(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	m = max(m, 1)
	if m < 60 {
		return fmt.Sprintf(w.minutesFmt, m)
	}
	return fmt.Sprintf(w.hoursFmt, m/60, m%60)
}

// list joins names as "Anna, Erik and Lina".
func (w cardWords) list(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + w.and + " " + names[len(names)-1]
}

// cardText is what a card says: a title and its body, a line per
// paragraph. now is the screen's time in its location.
func (l *locale) cardText(c *device.Card, now time.Time) (title string, body []string) {
	w := l.cards()
	switch c.Kind {
	case device.CardCalls:
		for _, e := range c.Calls {
			at := l.clock(e.At.In(now.Location()))
			if e.Missed {
				body = append(body, fmt.Sprintf(w.missedFmt, e.Name, at))
				continue
			}
			body = append(body, fmt.Sprintf(w.callFmt, e.Name, at, w.length(e.Length)))
		}
		return w.callsToday, body
	case device.CardBooking:
		b := c.Booking
		at := b.At.In(now.Location())
		line := fmt.Sprintf(w.bookingFmt, b.Name, l.clock(at))
		if calendarDays(at, now) != 0 {
			day := l.weekdays[at.Weekday()]
			if l.onWeekdays[0] != "" {
				day = l.onWeekdays[at.Weekday()]
			}
			line = fmt.Sprintf(w.bookingDayFmt, b.Name, day, l.clock(at))
		}
		body = []string{line}
		if r := strings.TrimSpace(b.Reason); r != "" {
			body = append(body, r)
		}
		return "", body
	case device.CardNewSince:
		n := c.New
		var what []string
		switch {
		case n.Photos == 1:
			what = append(what, w.photo)
		case n.Photos > 1:
			what = append(what, fmt.Sprintf(w.photosFmt, n.Photos))
		}
		switch {
		case n.Messages == 1:
			what = append(what, w.message)
		case n.Messages > 1:
			what = append(what, fmt.Sprintf(w.messagesFmt, n.Messages))
		}
		if len(what) > 0 {
			body = append(body, w.list(what))
		}
		from := n.From[:min(len(n.From), 3)]
		switch len(from) {
		case 0:
		case 1:
			body = append(body, fmt.Sprintf(w.fromOne, from[0]))
		default:
			body = append(body, fmt.Sprintf(w.fromMany, w.list(from)))
		}
		return w.newSince, body
	}
	return "", nil
}
