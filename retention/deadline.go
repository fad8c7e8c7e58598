package retention

import (
	"fmt"
	"time"
)

// Counting is how request deadlines are counted. Public holidays are not
// modelled (they depend on the jurisdiction); business days are Monday to
// Friday.
type Counting int

// Countings.
const (
	// CountStrict never moves a due date later: GDPR one month counts to
	// the same date next month (the last day of the month if there is no
	// such date) without moving weekend dates; CCPA counts the day of
	// receipt as day 1 (due 44 days after receipt). The safe default.
	CountStrict Counting = iota + 1
	// CountRolled follows the lenient readings: a GDPR due date on a
	// weekend moves to the next Monday (ICO guidance); CCPA 45 days after
	// receipt.
	CountRolled
)

// Deadline holds the dates of a request received on a given day. Each is
// midnight UTC at the start of the day; the day itself is still in time.
type Deadline struct {
	// Due is the last day to respond.
	Due time.Time
	// ExtendedDue is the last day with the longest extension the law
	// allows (GDPR: two further months, three in all; CCPA: 45 more days).
	ExtendedDue time.Time
	// ExtensionNoticeBy is the last day to tell the requester about an
	// extension (within the first period).
	ExtensionNoticeBy time.Time
	// AckBy is the last day to confirm receipt (CCPA: 10 business days);
	// zero under the GDPR, which sets no separate acknowledgement.
	AckBy time.Time
}

// DeadlineFor computes the deadlines of a request under law received at
// received (taken in UTC). Pure computation.
func DeadlineFor(law Law, received time.Time, c Counting) (Deadline, error) {
	if c == 0 {
		c = CountStrict
	}
	if c != CountStrict && c != CountRolled {
		return Deadline{}, fmt.Errorf("%w: unknown counting %d", ErrInvalid, c)
	}
	r := received.UTC()
	day := time.Date(r.Year(), r.Month(), r.Day(), 0, 0, 0, 0, time.UTC)
	var d Deadline
	switch law {
	case LawGDPR:
		d.Due = addMonths(day, 1)
		d.ExtendedDue = addMonths(day, 3)
		d.ExtensionNoticeBy = d.Due
		if c == CountRolled {
			d.Due, d.ExtendedDue = rollWeekend(d.Due), rollWeekend(d.ExtendedDue)
		}
	case LawCCPA:
		n := 44
		if c == CountRolled {
			n = 45
		}
		d.Due = day.AddDate(0, 0, n)
		d.ExtendedDue = day.AddDate(0, 0, n+45)
		d.ExtensionNoticeBy = d.Due
		d.AckBy = addBusinessDays(day, 10)
	default:
		return Deadline{}, fmt.Errorf("%w: unknown law %q", ErrInvalid, law)
	}
	return d, nil
}

// addMonths adds n calendar months to a date, clamping to the last day of
// the target month when it has no such date (31 January + 1 month = 28 or
// 29 February), unlike time.AddDate, which would overflow into March.
func addMonths(d time.Time, n int) time.Time {
	y, m := d.Year(), int(d.Month())-1+n
	y += m / 12
	m = m%12 + 1
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return time.Date(y, time.Month(m), min(d.Day(), last), 0, 0, 0, 0, time.UTC)
}

func rollWeekend(d time.Time) time.Time {
	switch d.Weekday() {
	case time.Saturday:
		return d.AddDate(0, 0, 2)
	case time.Sunday:
		return d.AddDate(0, 0, 1)
	}
	return d
}

// addBusinessDays counts n Monday-to-Friday days after d.
func addBusinessDays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d
}
