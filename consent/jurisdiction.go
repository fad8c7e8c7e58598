package consent

import (
	"fmt"
	"strings"
)

// Jurisdiction is the consent regime of a region.
type Jurisdiction struct {
	// Region is an ISO 3166-1 alpha-2 country code ("DE"), a subdivision
	// ("US-CA") or a group name the host uses ("EU"). Matching is
	// case-insensitive; "US-CA" falls back to "US" when not listed itself.
	Region string
	// Mechanism is the strictest mechanism a purpose gets in the region:
	// OptIn makes every opt-out purpose opt-in; OptOut leaves purposes as
	// registered. NoticeOnly is not allowed here.
	Mechanism Mechanism
	// GPC reports whether Global Privacy Control is honoured as an opt-out
	// in the region.
	GPC bool
	// Purposes overrides the mechanism of single purposes by key (any
	// mechanism; notice-only purposes stay notice-only).
	Purposes map[string]Mechanism
}

// optInRegions are the EU member states, the other EEA states, the United
// Kingdom and Switzerland, plus group names hosts commonly pass.
var optInRegions = []string{
	"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
	"LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", // EU
	"EL",             // Greece as the EU writes it
	"IS", "LI", "NO", // EEA
	"GB", "UK", "CH",
	"EU", "EEA",
}

// DefaultJurisdictions returns the default regimes (a fresh copy each call):
// opt-in with GPC honoured in the EU, EEA, UK and Switzerland; opt-out with
// GPC honoured in the US. A region not listed (or unknown) gets the
// strictest regime: opt-in with GPC honoured.
func DefaultJurisdictions() []Jurisdiction {
	out := make([]Jurisdiction, 0, len(optInRegions)+1)
	for _, r := range optInRegions {
		out = append(out, Jurisdiction{Region: r, Mechanism: OptIn, GPC: true})
	}
	return append(out, Jurisdiction{Region: "US", Mechanism: OptOut, GPC: true})
}

// Strictest is the regime of an unknown region.
var strictest = Jurisdiction{Region: "", Mechanism: OptIn, GPC: true}

// jurisdiction is a resolved regime: the effective mechanism per purpose
// index.
type jurisdiction struct {
	region string
	gpc    bool
	mech   []Mechanism
}

// NormalizeRegion upper-cases region, turns '_' into '-' and trims spaces,
// so "us_ca" and "US-CA" name the same region. Regions longer than 16 bytes
// or with characters other than letters, digits and '-' normalise to ""
// (unknown).
func NormalizeRegion(region string) string {
	region = strings.TrimSpace(region)
	if len(region) > 16 {
		return ""
	}
	clean := true
	for i := 0; i < len(region); i++ {
		c := region[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			clean = false
			break
		}
	}
	if clean {
		return region
	}
	b := []byte(region)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c == '_':
			b[i] = '-'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			return ""
		}
	}
	return string(b)
}

func (r *registry) resolve(j Jurisdiction) (*jurisdiction, error) {
	if j.Mechanism != OptIn && j.Mechanism != OptOut {
		return nil, fmt.Errorf("consent: jurisdiction %q: mechanism must be opt-in or opt-out", j.Region)
	}
	out := &jurisdiction{region: NormalizeRegion(j.Region), gpc: j.GPC, mech: make([]Mechanism, len(r.purposes))}
	for k, mech := range j.Purposes {
		if _, ok := r.index[k]; !ok {
			return nil, fmt.Errorf("consent: jurisdiction %q: %w %q", j.Region, ErrUnknownPurpose, k)
		}
		if mech < NoticeOnly || mech > OptIn {
			return nil, fmt.Errorf("consent: jurisdiction %q: purpose %q: invalid mechanism", j.Region, k)
		}
	}
	for i, p := range r.purposes {
		switch o, ok := j.Purposes[p.Key]; {
		case p.Mechanism == NoticeOnly:
			out.mech[i] = NoticeOnly
		case ok:
			out.mech[i] = o
		default:
			out.mech[i] = max(p.Mechanism, j.Mechanism)
		}
	}
	return out, nil
}

func (r *registry) buildJurisdictions(overrides []Jurisdiction) error {
	r.jur = make(map[string]*jurisdiction)
	var err error
	if r.strict, err = r.resolve(strictest); err != nil {
		return err
	}
	for _, list := range [][]Jurisdiction{DefaultJurisdictions(), overrides} {
		for _, j := range list {
			if NormalizeRegion(j.Region) == "" {
				return fmt.Errorf("consent: jurisdiction needs a region")
			}
			rj, err := r.resolve(j)
			if err != nil {
				return err
			}
			r.jur[rj.region] = rj
		}
	}
	return nil
}

// lookup returns the regime of a normalised region: the region itself, else
// its country ("US" for "US-CA"), else the strictest.
func (r *registry) lookup(region string) *jurisdiction {
	if region == "" {
		return r.strict
	}
	if j, ok := r.jur[region]; ok {
		return j
	}
	if c, _, ok := strings.Cut(region, "-"); ok {
		if j, ok := r.jur[c]; ok {
			return j
		}
	}
	return r.strict
}

// Jurisdiction reports the regime applied to region: its effective
// mechanism per purpose key and whether GPC is honoured.
func (m *Manager) Jurisdiction(region string) (mechanisms map[string]Mechanism, gpc bool) {
	j := m.reg.lookup(NormalizeRegion(region))
	mechanisms = make(map[string]Mechanism, len(j.mech))
	for i, p := range m.reg.purposes {
		mechanisms[p.Key] = j.mech[i]
	}
	return mechanisms, j.gpc
}
