package retention_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferlabs/privkit/retention"
)

type date struct{ time.Time }

func (d *date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.DateOnly, s)
	d.Time = t
	return err
}

type deadlineFile struct {
	GDPR struct {
		Cases []struct {
			Received                date   `json:"received"`
			Weekday                 string `json:"received_weekday"`
			DueStrict               date   `json:"due_strict"`
			DueRolled               date   `json:"due_weekend_rolled"`
			ExtendedStrict          date   `json:"extended_due_strict"`
			ExtendedRolled          date   `json:"extended_due_weekend_rolled"`
			ExtensionNoticeDeadline date   `json:"extension_notice_deadline"`
		} `json:"cases"`
	} `json:"gdpr"`
	CCPA struct {
		Cases []struct {
			Received         date `json:"received"`
			Ack              date `json:"ack_due_10_business_days"`
			Due45            date `json:"respond_due_45_days_after_receipt"`
			DueConservative  date `json:"respond_due_conservative_day_of_receipt_is_day_1"`
			Max90            date `json:"max_with_extension_90_days_after_receipt"`
			MaxConservative  date `json:"max_with_extension_conservative"`
			OptOut15Business date `json:"opt_out_due_15_business_days"`
		} `json:"cases"`
	} `json:"ccpa"`
}

// TestDeadlines checks every case of dsr_deadlines.json under both
// countings. Strict is the default because it is never later than the
// lenient readings.
func TestDeadlines(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/dsr_deadlines.json")
	require.NoError(t, err)
	var f deadlineFile
	require.NoError(t, json.Unmarshal(b, &f))
	require.NotEmpty(t, f.GDPR.Cases)
	require.NotEmpty(t, f.CCPA.Cases)
	for _, c := range f.GDPR.Cases {
		t.Run("gdpr/"+c.Received.Format(time.DateOnly), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.Weekday, c.Received.Weekday().String()[:3], "vector sanity")
			// Late in the day of receipt: only the date counts.
			recv := c.Received.Add(23*time.Hour + 59*time.Minute)
			s, err := retention.DeadlineFor(retention.LawGDPR, recv, retention.CountStrict)
			require.NoError(t, err)
			assert.Equal(t, c.DueStrict.Time, s.Due, "strict due")
			assert.Equal(t, c.ExtendedStrict.Time, s.ExtendedDue, "strict extended due: three months from receipt")
			assert.Equal(t, c.ExtensionNoticeDeadline.Time, s.ExtensionNoticeBy, "extension notice within the first month")
			assert.True(t, s.AckBy.IsZero(), "the GDPR sets no separate acknowledgement")
			r, err := retention.DeadlineFor(retention.LawGDPR, recv, retention.CountRolled)
			require.NoError(t, err)
			assert.Equal(t, c.DueRolled.Time, r.Due, "weekend-rolled due")
			assert.Equal(t, c.ExtendedRolled.Time, r.ExtendedDue, "weekend-rolled extended due")
			assert.False(t, s.Due.After(r.Due), "strict is never later")
		})
	}
	for _, c := range f.CCPA.Cases {
		t.Run("ccpa/"+c.Received.Format(time.DateOnly), func(t *testing.T) {
			t.Parallel()
			s, err := retention.DeadlineFor(retention.LawCCPA, c.Received.Time, retention.CountStrict)
			require.NoError(t, err)
			assert.Equal(t, c.DueConservative.Time, s.Due, "day of receipt is day 1")
			assert.Equal(t, c.MaxConservative.Time, s.ExtendedDue)
			assert.Equal(t, c.Ack.Time, s.AckBy, "10 business days to acknowledge")
			r, err := retention.DeadlineFor(retention.LawCCPA, c.Received.Time, retention.CountRolled)
			require.NoError(t, err)
			assert.Equal(t, c.Due45.Time, r.Due, "45 days after receipt")
			assert.Equal(t, c.Max90.Time, r.ExtendedDue)
		})
	}
}

func TestDeadlineBadInput(t *testing.T) {
	t.Parallel()
	_, err := retention.DeadlineFor("lgpd", time.Now(), retention.CountStrict)
	require.ErrorIs(t, err, retention.ErrInvalid, "unknown law")
	_, err = retention.DeadlineFor(retention.LawGDPR, time.Now(), retention.Counting(9))
	require.ErrorIs(t, err, retention.ErrInvalid, "unknown counting")
	d, err := retention.DeadlineFor(retention.LawGDPR, time.Date(2025, 1, 31, 0, 0, 0, 0, time.FixedZone("x", -5*3600)), 0)
	require.NoError(t, err, "zero counting means strict")
	assert.Equal(t, time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC), d.Due, "received 31 Jan 00:00 at UTC-5 is 31 Jan 05:00 UTC")
}
