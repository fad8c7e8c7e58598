package consent

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// Capture is one analytics event, in the shape of a PostHog capture.
type Capture struct {
	// DistinctID is the subject pseudonym the event is about.
	DistinctID string
	// Event is the event name.
	Event string
	// Properties are the event's properties; the Gate neither reads nor
	// copies them.
	Properties map[string]any
	// Timestamp is when the event happened; zero means now.
	Timestamp time.Time
}

// Sender sends analytics events, for example a PostHog client behind a
// [SenderFunc]:
//
//	consent.SenderFunc(func(ctx context.Context, c consent.Capture) error {
//		return ph.Enqueue(posthog.Capture{DistinctId: c.DistinctID, Event: c.Event,
//			Properties: c.Properties, Timestamp: c.Timestamp})
//	})
type Sender interface {
	Capture(ctx context.Context, c Capture) error
}

// SenderFunc adapts a function to [Sender].
type SenderFunc func(ctx context.Context, c Capture) error

// Capture calls f.
func (f SenderFunc) Capture(ctx context.Context, c Capture) error { return f(ctx, c) }

// Gate is a [Sender] that passes an event on only when its subject allows
// the gate's purpose, and drops it otherwise. It fails closed: when the
// check fails the event is dropped and the error returned. It is safe for
// concurrent use if the next Sender is.
type Gate struct {
	m       *Manager
	purpose string
	next    Sender
	dropped atomic.Uint64
}

var _ Sender = (*Gate)(nil)

// Gate returns a Gate for purpose in front of next. It fails with
// [ErrUnknownPurpose].
func (m *Manager) Gate(purpose string, next Sender) (*Gate, error) {
	if _, ok := m.reg.index[purpose]; !ok {
		return nil, ErrUnknownPurpose
	}
	if next == nil {
		return nil, fmt.Errorf("consent: gate %q: nil sender", purpose)
	}
	return &Gate{m: m, purpose: purpose, next: next}, nil
}

// Capture sends c through the next Sender if c.DistinctID allows the gate's
// purpose (a GPC signal in ctx counts). A dropped event is not an error;
// a failed check is, and drops the event too.
func (g *Gate) Capture(ctx context.Context, c Capture) error {
	ok, err := g.m.Allowed(ctx, c.DistinctID, g.purpose)
	if err != nil {
		g.dropped.Add(1)
		return fmt.Errorf("consent: gate %s: event dropped: %w", g.purpose, err)
	}
	if !ok {
		g.dropped.Add(1)
		return nil
	}
	return g.next.Capture(ctx, c)
}

// Dropped returns how many events the Gate has dropped.
func (g *Gate) Dropped() uint64 { return g.dropped.Load() }

// Google Consent Mode values.
const (
	Granted = "granted"
	Denied  = "denied"
)

// ConsentMode is the Google Consent Mode v2 state for gtag('consent', …).
// Each field is "granted" or "denied".
type ConsentMode struct {
	// AdStorage: advertising cookies and storage.
	AdStorage string `json:"ad_storage"`
	// AnalyticsStorage: analytics cookies and storage.
	AnalyticsStorage string `json:"analytics_storage"`
	// AdUserData: sending user data to Google for advertising.
	AdUserData string `json:"ad_user_data"`
	// AdPersonalization: personalised advertising.
	AdPersonalization string `json:"ad_personalization"`
}

// PostHogState is PostHog's browser configuration derived from consent.
type PostHogState struct {
	// OptOutCapturingByDefault is posthog.init's
	// opt_out_capturing_by_default: true unless every purpose governing
	// PostHog is allowed.
	OptOutCapturingByDefault bool `json:"opt_out_capturing_by_default"`
}

// BrowserState is what a page needs to configure its tags to match the
// server's answer.
type BrowserState struct {
	// ConsentMode is for gtag('consent', 'default' or 'update', …).
	ConsentMode ConsentMode `json:"consent_mode"`
	// PostHog is for posthog.init.
	PostHog PostHogState `json:"posthog"`
	// Purposes maps every purpose key to whether it is allowed.
	Purposes map[string]bool `json:"purposes"`
	// GPC reports whether a GPC signal was applied.
	GPC bool `json:"gpc"`
}

// BrowserState returns the browser-side state for subject: Google Consent
// Mode v2 (a type is granted only when every purpose that lists it in
// [Purpose].ConsentMode is allowed, and denied when no purpose lists it) and
// PostHog (opted out by default unless every purpose with destination
// [DestPostHog] is allowed, and when none has it). An empty subject is an
// anonymous visitor: the defaults of the region and GPC signal that
// [Manager.Middleware] put in ctx.
func (m *Manager) BrowserState(ctx context.Context, subject string) (BrowserState, error) {
	bs := BrowserState{Purposes: make(map[string]bool, len(m.reg.purposes))}
	sig := signalFor(ctx, subject)
	bs.GPC = sig != nil && sig.GPC && m.reg.lookup(sig.Region).gpc
	for i, p := range m.reg.purposes {
		var r Result
		if subject == "" {
			r = m.result(nil, i, m.jurFor(nil, sig), sig != nil && sig.GPC)
		} else {
			var err error
			if r, err = m.Check(ctx, subject, p.Key); err != nil {
				return BrowserState{}, err
			}
		}
		bs.Purposes[p.Key] = r.Allowed
	}
	mode := map[string]bool{}
	posthog, governed := true, false
	for _, p := range m.reg.purposes {
		for _, t := range p.ConsentMode {
			if prev, ok := mode[t]; ok {
				mode[t] = prev && bs.Purposes[p.Key]
			} else {
				mode[t] = bs.Purposes[p.Key]
			}
		}
		for _, d := range p.Destinations {
			if d == DestPostHog {
				governed = true
				posthog = posthog && bs.Purposes[p.Key]
			}
		}
	}
	gd := func(t string) string {
		if mode[t] {
			return Granted
		}
		return Denied
	}
	bs.ConsentMode = ConsentMode{AdStorage: gd(AdStorage), AnalyticsStorage: gd(AnalyticsStorage),
		AdUserData: gd(AdUserData), AdPersonalization: gd(AdPersonalization)}
	bs.PostHog.OptOutCapturingByDefault = !(governed && posthog)
	return bs, nil
}
