package consent

import (
	"fmt"
	"regexp"
	"slices"
)

// Mechanism is how consent for a purpose is obtained.
type Mechanism uint8

// The mechanisms, from least to most strict.
const (
	// NoticeOnly purposes are always allowed; the subject is told, not
	// asked (strictly necessary processing).
	NoticeOnly Mechanism = iota + 1
	// OptOut purposes are allowed until the subject objects.
	OptOut
	// OptIn purposes are refused until the subject agrees.
	OptIn
)

// String returns "notice-only", "opt-out" or "opt-in".
func (m Mechanism) String() string {
	switch m {
	case NoticeOnly:
		return "notice-only"
	case OptOut:
		return "opt-out"
	case OptIn:
		return "opt-in"
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler.
func (m Mechanism) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Mechanism) UnmarshalText(b []byte) error {
	for _, c := range []Mechanism{NoticeOnly, OptOut, OptIn} {
		if string(b) == c.String() {
			*m = c
			return nil
		}
	}
	return fmt.Errorf("consent: unknown mechanism %q", truncate(string(b)))
}

// Destinations commonly governed by a purpose. Any string may be used.
const (
	DestPostHog         = "posthog"
	DestGoogleAnalytics = "google-analytics"
	DestGoogleAds       = "google-ads"
	DestMetaPixel       = "meta-pixel"
	DestOpenAI          = "openai"
	DestGemini          = "gemini"
	DestAnthropic       = "anthropic"
)

// Google Consent Mode v2 consent types a purpose can drive (see
// [Purpose].ConsentMode and [Manager.BrowserState]).
const (
	AdStorage         = "ad_storage"
	AnalyticsStorage  = "analytics_storage"
	AdUserData        = "ad_user_data"
	AdPersonalization = "ad_personalization"
)

// Keys of the default purposes.
const (
	Essential          = "essential"
	Analytics          = "analytics"
	Advertising        = "advertising"
	ProductImprovement = "product_improvement"
	LLMProcessing      = "llm_processing"
)

// Purpose is one reason for processing that a subject can allow or refuse.
type Purpose struct {
	// Key identifies the purpose: lower case letters, digits, '_', '-' and
	// '.', at most 64 bytes.
	Key string
	// Name is a short human-readable title.
	Name string
	// Mechanism is the purpose's own mechanism. A region's [Jurisdiction]
	// may make it stricter, never looser (unless it overrides this purpose
	// by key); NoticeOnly purposes stay notice-only everywhere.
	Mechanism Mechanism
	// GPC reports whether a Global Privacy Control signal opts the subject
	// out of this purpose (in regions that honour GPC).
	GPC bool
	// Destinations are the vendors or systems the purpose governs, such as
	// [DestPostHog] or [DestMetaPixel].
	Destinations []string
	// ConsentMode lists the Google Consent Mode v2 types this purpose
	// decides, such as [AnalyticsStorage].
	ConsentMode []string
}

func (p Purpose) clone() Purpose {
	p.Destinations = slices.Clone(p.Destinations)
	p.ConsentMode = slices.Clone(p.ConsentMode)
	return p
}

// DefaultPurposes returns the default registry (a fresh copy each call):
//
//   - essential: notice-only (running the service, security).
//   - analytics: opt-out, GPC applies; PostHog, Google Analytics;
//     analytics_storage.
//   - advertising: opt-out, GPC applies; Meta Pixel, Google Ads; ad_storage,
//     ad_user_data, ad_personalization.
//   - product_improvement: opt-out, GPC does not apply (first-party use of
//     usage data to improve the product).
//   - llm_processing: opt-in everywhere (the subject's content sent to LLM
//     providers beyond answering the subject's own requests).
//
// Opt-out purposes become opt-in in opt-in jurisdictions (EU, EEA, UK, CH,
// unknown regions).
func DefaultPurposes() []Purpose {
	return []Purpose{
		{Key: Essential, Name: "Strictly necessary", Mechanism: NoticeOnly},
		{Key: Analytics, Name: "Product analytics", Mechanism: OptOut, GPC: true,
			Destinations: []string{DestPostHog, DestGoogleAnalytics}, ConsentMode: []string{AnalyticsStorage}},
		{Key: Advertising, Name: "Advertising", Mechanism: OptOut, GPC: true,
			Destinations: []string{DestMetaPixel, DestGoogleAds}, ConsentMode: []string{AdStorage, AdUserData, AdPersonalization}},
		{Key: ProductImprovement, Name: "Product improvement", Mechanism: OptOut},
		{Key: LLMProcessing, Name: "LLM processing", Mechanism: OptIn,
			Destinations: []string{DestOpenAI, DestGemini, DestAnthropic}},
	}
}

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

var consentModeTypes = []string{AdStorage, AnalyticsStorage, AdUserData, AdPersonalization}

// registry is the validated, indexed configuration of a Manager.
type registry struct {
	purposes []Purpose
	keys     []string // purposes[i].Key, compact for scanning
	index    map[string]int
	// notices[i] are purpose i's notices; material[i] the highest version
	// marked Material (0 if none).
	notices  [][]Notice
	material []int
	jur      map[string]*jurisdiction
	strict   *jurisdiction
}

func newRegistry(ps []Purpose, ns []Notice, js []Jurisdiction) (*registry, error) {
	if ps == nil {
		ps = DefaultPurposes()
	}
	r := &registry{index: make(map[string]int, len(ps))}
	for _, p := range ps {
		if !keyRE.MatchString(p.Key) {
			return nil, fmt.Errorf("consent: purpose key %q: must match %s", p.Key, keyRE)
		}
		if _, dup := r.index[p.Key]; dup {
			return nil, fmt.Errorf("consent: purpose %q registered twice", p.Key)
		}
		if p.Mechanism < NoticeOnly || p.Mechanism > OptIn {
			return nil, fmt.Errorf("consent: purpose %q: invalid mechanism %d", p.Key, p.Mechanism)
		}
		for _, t := range p.ConsentMode {
			if !slices.Contains(consentModeTypes, t) {
				return nil, fmt.Errorf("consent: purpose %q: unknown consent mode type %q", p.Key, t)
			}
		}
		r.index[p.Key] = len(r.purposes)
		r.purposes = append(r.purposes, p.clone())
		r.keys = append(r.keys, p.Key)
	}
	r.notices = make([][]Notice, len(r.purposes))
	r.material = make([]int, len(r.purposes))
	for _, n := range ns {
		i, ok := r.index[n.Purpose]
		if !ok {
			return nil, fmt.Errorf("consent: notice for %q: %w", n.Purpose, ErrUnknownPurpose)
		}
		if err := n.validate(); err != nil {
			return nil, err
		}
		for _, o := range r.notices[i] {
			if o.Version == n.Version && o.Language == n.Language {
				return nil, fmt.Errorf("consent: notice %q version %d language %q published twice", n.Purpose, n.Version, n.Language)
			}
		}
		r.notices[i] = append(r.notices[i], n)
		if n.Material && n.Version > r.material[i] {
			r.material[i] = n.Version
		}
	}
	if err := r.buildJurisdictions(js); err != nil {
		return nil, err
	}
	return r, nil
}

// hasNotice reports whether version v of purpose i was published (in any
// language).
func (r *registry) hasNotice(i, v int) bool {
	for _, n := range r.notices[i] {
		if n.Version == v {
			return true
		}
	}
	return false
}
