package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/hearth-home/hearth/device"
)

// locale is what the screen says in one language. Fyne's lang package
// follows the system locale; the device needs its configured one, and only
// a handful of words, so they live in this small table.
type locale struct {
	tag string
	// weekdays is indexed by time.Weekday (Sunday first).
	weekdays [7]string
	// onWeekdays is the form used in "sent on Sunday" (Finnish essive);
	// the same as weekdays elsewhere.
	onWeekdays [7]string
	// months is indexed by time.Month-1, in the form used after a day
	// number (Finnish partitive: "22. marraskuuta").
	months [12]string
	// dateFmt formats the clock's date line from weekday, day and month.
	dateFmt string
	// dayMonthFmt formats a day and month without weekday; a year other
	// than this one follows after a space.
	dayMonthFmt string
	// atFmt joins a day phrase and a time: "Sunday 14:05",
	// "sunnuntaina klo 14:05".
	atFmt            string
	today, yesterday string
	fromFmt          string
	// emptyLine is the empty state's friendly text, a sentence a line.
	emptyLine string

	// call is what the call screen says.
	call callWords
	// setup is what a device that is not provisioned yet says.
	setup setupWords
}

// setupWords are the "not set up yet" screen's texts: a title, a line that
// reassures the resident (a sentence a line), and the label before the
// device's code.
type setupWords struct {
	title, line, code string
}

// callWords are the call screen's texts. Formats take the caller's name
// (or, in minutesFmt, the minutes left; in the countdowns the seconds);
// the name is never inflected, so the sentences are built around it
// (Finnish "Yhdistetään: Anna").
type callWords struct {
	callingFmt, connectingFmt string
	ended                     string
	// hangup ends a call; notNow declines one that rings.
	hangup, notNow string
	// ringsDownFmt counts down to a ringing call answering itself,
	// announceDownFmt to the end of a forced call's announcement.
	ringsDownFmt, announceDownFmt string
	// cameraOff and micOff mark, in a call, that the callers cannot see
	// or hear the resident (a carer paused them, or there is none).
	cameraOff, micOff string
	// oneMinute and minutesFmt warn that the call's time runs out;
	// soon when the end time is not known.
	oneMinute, minutesFmt, soon string
	// Why a call ended (device.EndCause), under "Call ended".
	hungUpFmt, youEnded, youDeclined, timeUp, lostFmt, noConnect, preempted, restarting string
}

// localeFor returns the table of one language; ok is false for an unknown tag.
func localeFor(tag string) (l *locale, ok bool) {
	switch tag {
	case "en":
		return &locale{
			tag:      "en",
			weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
			months: [12]string{"January", "February", "March", "April", "May", "June", "July",
				"August", "September", "October", "November", "December"},
			dateFmt:     "%s %d %s",
			dayMonthFmt: "%d %s",
			atFmt:       "%s %s",
			today:       "Today",
			yesterday:   "Yesterday",
			fromFmt:     "From %s",
			emptyLine:   "No new photos just now.\nHave a lovely day.",
			call: callWords{
				callingFmt: "%s is calling", connectingFmt: "Connecting to %s…", ended: "Call ended",
				hangup: "End", notNow: "Not now",
				ringsDownFmt: "The call starts by itself in %d s", announceDownFmt: "The call starts in %d s",
				cameraOff: "They can't see you", micOff: "They can't hear you",
				oneMinute: "Call ends in 1 minute", minutesFmt: "Call ends in %d minutes", soon: "Call ends soon",
				hungUpFmt: "%s hung up", youEnded: "You ended the call", youDeclined: "You chose “Not now”",
				timeUp: "The time for this call ran out", lostFmt: "The connection to %s was lost",
				noConnect: "The call could not be connected", preempted: "Ended for a call from a carer",
				restarting: "The screen is restarting",
			},
			setup: setupWords{
				title: "This screen is not set up yet",
				line:  "Your installer will set it up.\nNothing needs to be done here.",
				code:  "Code",
			},
		}, true
	case "sv":
		return &locale{
			tag:      "sv",
			weekdays: [7]string{"söndag", "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag"},
			months: [12]string{"januari", "februari", "mars", "april", "maj", "juni", "juli",
				"augusti", "september", "oktober", "november", "december"},
			dateFmt:     "%s %d %s",
			dayMonthFmt: "%d %s",
			atFmt:       "%s %s",
			today:       "i dag",
			yesterday:   "i går",
			fromFmt:     "Från %s",
			emptyLine:   "Inga nya bilder just nu.\nHa en fin dag!",
			call: callWords{
				callingFmt: "%s ringer", connectingFmt: "Kopplar upp till %s…", ended: "Samtalet är slut",
				hangup: "Avsluta", notNow: "Inte nu",
				ringsDownFmt: "Samtalet börjar av sig självt om %d s", announceDownFmt: "Samtalet börjar om %d s",
				cameraOff: "De ser dig inte", micOff: "De hör dig inte",
				oneMinute: "Samtalet slutar om 1 minut", minutesFmt: "Samtalet slutar om %d minuter",
				soon:      "Samtalet slutar snart",
				hungUpFmt: "%s lade på", youEnded: "Du avslutade samtalet", youDeclined: "Du valde ”Inte nu”",
				timeUp: "Tiden för samtalet tog slut", lostFmt: "Förbindelsen med %s bröts",
				noConnect: "Samtalet kunde inte kopplas upp", preempted: "Avslutat för ett samtal från vården",
				restarting: "Skärmen startar om",
			},
			setup: setupWords{
				title: "Skärmen är inte installerad än",
				line:  "Din installatör ordnar det.\nDu behöver inte göra något.",
				code:  "Kod",
			},
		}, true
	case "fi":
		return &locale{
			tag:        "fi",
			weekdays:   [7]string{"sunnuntai", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai"},
			onWeekdays: [7]string{"sunnuntaina", "maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina", "lauantaina"},
			months: [12]string{"tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta",
				"heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta"},
			dateFmt:     "%s %d. %s",
			dayMonthFmt: "%d. %s",
			atFmt:       "%s klo %s",
			today:       "tänään",
			yesterday:   "eilen",
			// "Terveisin Anna" ("greetings, Anna") needs no case ending on the
			// name, unlike "Annalta".
			fromFmt:   "Terveisin %s",
			emptyLine: "Ei uusia kuvia juuri nyt.\nMukavaa päivää!",
			call: callWords{
				callingFmt: "%s soittaa", connectingFmt: "Yhdistetään: %s…", ended: "Puhelu päättyi",
				hangup: "Lopeta", notNow: "Ei nyt",
				ringsDownFmt: "Puhelu alkaa itsestään %d s kuluttua", announceDownFmt: "Puhelu alkaa %d s kuluttua",
				cameraOff: "Sinua ei näy", micOff: "Sinua ei kuulu",
				oneMinute: "Puhelua jäljellä 1 minuutti", minutesFmt: "Puhelua jäljellä %d minuuttia",
				soon:      "Puhelu päättyy pian",
				hungUpFmt: "%s lopetti puhelun", youEnded: "Lopetit puhelun", youDeclined: "Valitsit ”Ei nyt”",
				timeUp: "Puhelun aika loppui", lostFmt: "Yhteys katkesi: %s",
				noConnect: "Puhelua ei saatu yhdistettyä", preempted: "Päättyi hoitajan puhelun vuoksi",
				restarting: "Näyttö käynnistyy uudelleen",
			},
			setup: setupWords{
				title: "Tätä näyttöä ei ole vielä otettu käyttöön",
				line:  "Asentaja hoitaa sen.\nSinun ei tarvitse tehdä mitään.",
				code:  "Koodi",
			},
		}, true
	case "de":
		return &locale{
			tag:      "de",
			weekdays: [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
			months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
				"August", "September", "Oktober", "November", "Dezember"},
			dateFmt:     "%s, %d. %s",
			dayMonthFmt: "%d. %s",
			atFmt:       "%s, %s Uhr",
			today:       "Heute",
			yesterday:   "Gestern",
			fromFmt:     "Von %s",
			emptyLine:   "Gerade keine neuen Fotos.\nEinen schönen Tag!",
			call: callWords{
				callingFmt: "%s ruft an", connectingFmt: "Verbinde mit %s…", ended: "Anruf beendet",
				hangup: "Auflegen", notNow: "Nicht jetzt",
				ringsDownFmt: "Der Anruf beginnt von selbst in %d s", announceDownFmt: "Der Anruf beginnt in %d s",
				cameraOff: "Man sieht Sie nicht", micOff: "Man hört Sie nicht",
				oneMinute: "Anruf endet in 1 Minute", minutesFmt: "Anruf endet in %d Minuten", soon: "Anruf endet bald",
				hungUpFmt: "%s hat aufgelegt", youEnded: "Sie haben den Anruf beendet", youDeclined: "Sie haben „Nicht jetzt“ gewählt",
				timeUp: "Die Zeit für diesen Anruf ist abgelaufen", lostFmt: "Die Verbindung zu %s wurde unterbrochen",
				noConnect: "Der Anruf konnte nicht verbunden werden", preempted: "Beendet für einen Anruf der Pflege",
				restarting: "Der Bildschirm startet neu",
			},
			setup: setupWords{
				title: "Dieser Bildschirm ist noch nicht eingerichtet",
				line:  "Ihr Installateur richtet ihn ein.\nSie müssen nichts tun.",
				code:  "Code",
			},
		}, true
	}
	return nil, false
}

// lookupLocale finds the table for tag ("sv", "SV"); "" means English.
func lookupLocale(tag string) (*locale, error) {
	t := strings.ToLower(strings.TrimSpace(tag))
	if t == "" {
		t = "en"
	}
	l, ok := localeFor(t)
	if !ok {
		return nil, fmt.Errorf("locale %q (want en, sv, fi or de): %w", tag, ErrUnknownLocale)
	}
	return l, nil
}

// clock is the 24-hour time, "14:05".
func (l *locale) clock(t time.Time) string { return t.Format("15:04") }

// dateLine is the weekday and date under the clock: "Sunday 22 November".
func (l *locale) dateLine(t time.Time) string {
	return l.date(l.weekdays[t.Weekday()], t.Day(), l.months[t.Month()-1])
}

// date formats a weekday, day and month as the clock's date line.
func (l *locale) date(weekday string, day int, month string) string {
	return fmt.Sprintf(l.dateFmt, weekday, day, month)
}

// from is the sender line, "From Anna".
func (l *locale) from(name string) string { return fmt.Sprintf(l.fromFmt, name) }

// sent says when a message was sent, relative to now: "Today 14:05",
// "Yesterday 09:30", "Sunday 14:05" within the last week, else the date.
// Both times must be in the screen's location.
func (l *locale) sent(at, now time.Time) string {
	days := calendarDays(at, now)
	var day string
	switch {
	case days <= 0:
		day = l.today
	case days == 1:
		day = l.yesterday
	case days < 7:
		day = l.weekdays[at.Weekday()]
		if l.onWeekdays[0] != "" {
			day = l.onWeekdays[at.Weekday()]
		}
	default:
		day = fmt.Sprintf(l.dayMonthFmt, at.Day(), l.months[at.Month()-1])
		if at.Year() != now.Year() {
			day += fmt.Sprintf(" %d", at.Year())
		}
	}
	return fmt.Sprintf(l.atFmt, day, l.clock(at))
}

// calendarDays counts the midnights between a and b in a's location
// (negative when a is after b); a DST change does not make it jump.
func calendarDays(a, b time.Time) int {
	b = b.In(a.Location())
	da := time.Date(a.Year(), a.Month(), a.Day(), 12, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 12, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// calling is the notice of an incoming call, "Anna is calling".
func (l *locale) calling(name string) string { return fmt.Sprintf(l.call.callingFmt, name) }

// connecting is shown while the media starts, "Connecting to Anna…".
func (l *locale) connecting(name string) string { return fmt.Sprintf(l.call.connectingFmt, name) }

// countdown says in how many seconds a ringing call answers itself, or
// a forced call's announcement ends; at least 1.
func (l *locale) countdown(ringing bool, seconds int) string {
	f := l.call.announceDownFmt
	if ringing {
		f = l.call.ringsDownFmt
	}
	return fmt.Sprintf(f, max(1, seconds))
}

// endCause says why a call ended, in the screen's language; name is the
// one it is about. EndOther keeps the device's English reason.
func (l *locale) endCause(c device.EndCause, name, reason string) string {
	w := l.call
	switch c {
	case device.EndCallerHungUp:
		return fmt.Sprintf(w.hungUpFmt, name)
	case device.EndResident:
		return w.youEnded
	case device.EndTimeUp:
		return w.timeUp
	case device.EndLost:
		return fmt.Sprintf(w.lostFmt, name)
	case device.EndNoAnswer:
		return w.youDeclined
	case device.EndPreempted:
		return w.preempted
	case device.EndShutdown:
		return w.restarting
	case device.EndNoConnect:
		return w.noConnect
	}
	return reason
}

// endsIn warns that the call ends in minutes (rounded up); 0 or less
// means the end time is unknown.
func (l *locale) endsIn(minutes int) string {
	switch {
	case minutes <= 0:
		return l.call.soon
	case minutes == 1:
		return l.call.oneMinute
	}
	return fmt.Sprintf(l.call.minutesFmt, minutes)
}
