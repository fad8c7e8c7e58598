package retention

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// RecordIncident records a personal-data breach for the KPI report and the
// GDPR Art. 33(5) documentation. in.Summary and in.RecordedBy are
// required; in.ID defaults to a random ID and in.DetectedAt to now.
func (m *Manager) RecordIncident(ctx context.Context, in Incident) (Incident, error) {
	if err := m.check(); err != nil {
		return Incident{}, err
	}
	if strings.TrimSpace(in.Summary) == "" || strings.TrimSpace(in.RecordedBy) == "" {
		return Incident{}, fmt.Errorf("%w: an incident needs a summary and who recorded it", ErrInvalid)
	}
	if in.SubjectsAffected < 0 {
		return Incident{}, fmt.Errorf("%w: negative subjects affected", ErrInvalid)
	}
	if in.ID == "" {
		in.ID = newID("incident")
	}
	if in.DetectedAt.IsZero() {
		in.DetectedAt = m.now()
	}
	if err := m.store.AddIncident(ctx, in); err != nil {
		return Incident{}, fmt.Errorf("retention: record incident: %w", err)
	}
	return in, nil
}

// RequestCount counts requests of one type and status.
type RequestCount struct {
	Type   RequestType   `json:"type"`
	Status RequestStatus `json:"status"`
	Count  int           `json:"count"`
}

// KPIReport is the privacy officer's report over a period.
type KPIReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Requests counts requests received in the period by type and status.
	Requests []RequestCount `json:"requests"`
	// Completed counts those that reached a final status; the median and
	// worst times run from receipt to that status.
	Completed        int           `json:"completed"`
	MedianCompletion time.Duration `json:"median_completion"`
	WorstCompletion  time.Duration `json:"worst_completion"`
	// OverdueRequests counts requests answered late or still open past
	// their (extended) due date at To.
	OverdueRequests int `json:"overdue_requests"`
	// Extended counts requests whose deadline was extended.
	Extended int `json:"extended"`
	// DeletionsOnTime and DeletionsLate count items deleted in the period
	// by Grace after their due time or later.
	DeletionsOnTime int `json:"deletions_on_time"`
	DeletionsLate   int `json:"deletions_late"`
	// OverdueItems counts items overdue now (the alarm).
	OverdueItems int `json:"overdue_items"`
	// Vendors and VendorsCompliant count the registry and the vendors
	// meeting [Vendor.Compliant]; VendorComplianceRate is their ratio (1
	// with no vendors).
	Vendors              int     `json:"vendors"`
	VendorsCompliant     int     `json:"vendors_compliant"`
	VendorComplianceRate float64 `json:"vendor_compliance_rate"`
	// VendorErasures counts vendor lines of erasure receipts by status.
	VendorErasures map[ResultStatus]int `json:"vendor_erasures"`
	// Incidents are the breaches detected in the period; IncidentsLate
	// those not reported to the authority within 72 hours.
	Incidents     []Incident `json:"incidents"`
	IncidentsLate int        `json:"incidents_late"`
}

// Report computes the KPI report for requests received, deletions made and
// incidents detected in [from, to).
func (m *Manager) Report(ctx context.Context, from, to time.Time) (*KPIReport, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if !to.After(from) {
		return nil, fmt.Errorf("%w: report period ends before it starts", ErrInvalid)
	}
	rep := &KPIReport{From: from.UTC(), To: to.UTC(), VendorErasures: map[ResultStatus]int{}}
	reqs, err := m.store.ListRequests(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("retention: report: %w", err)
	}
	counts := map[RequestCount]int{}
	var durs []time.Duration
	for _, r := range reqs {
		counts[RequestCount{Type: r.Type, Status: r.Status}]++
		if r.Status.Final() {
			rep.Completed++
			durs = append(durs, r.CompletedAt.Sub(r.ReceivedAt))
		}
		if r.Status != StatusRejected && r.OverdueAt(to) {
			rep.OverdueRequests++
		}
		if r.Extension != nil {
			rep.Extended++
		}
		for _, l := range r.Results {
			if l.Vendor != "" {
				rep.VendorErasures[l.Status]++
			}
		}
	}
	for k, n := range counts {
		k.Count = n
		rep.Requests = append(rep.Requests, k)
	}
	slices.SortFunc(rep.Requests, func(a, b RequestCount) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Status, b.Status))
	})
	if len(durs) > 0 {
		slices.Sort(durs)
		rep.WorstCompletion = durs[len(durs)-1]
		if n := len(durs); n%2 == 1 {
			rep.MedianCompletion = durs[n/2]
		} else {
			rep.MedianCompletion = (durs[n/2-1] + durs[n/2]) / 2
		}
	}
	deleted, err := m.store.ListItems(ctx, ItemFilter{States: []ItemState{StateDeleted}, DeletedFrom: from, DeletedTo: to})
	if err != nil {
		return nil, fmt.Errorf("retention: report: %w", err)
	}
	for _, it := range deleted {
		if it.DueAt.IsZero() || !it.DeletedAt.After(it.DueAt.Add(m.opts.Grace)) {
			rep.DeletionsOnTime++
		} else {
			rep.DeletionsLate++
		}
	}
	overdue, err := m.Overdue(ctx)
	if err != nil {
		return nil, err
	}
	rep.OverdueItems = len(overdue)
	for _, v := range m.Vendors() {
		rep.Vendors++
		if v.Compliant() {
			rep.VendorsCompliant++
		}
	}
	rep.VendorComplianceRate = 1
	if rep.Vendors > 0 {
		rep.VendorComplianceRate = float64(rep.VendorsCompliant) / float64(rep.Vendors)
	}
	rep.Incidents, err = m.store.ListIncidents(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("retention: report: %w", err)
	}
	for _, in := range rep.Incidents {
		if in.ReportedAt.IsZero() || in.ReportedAt.Sub(in.DetectedAt) > 72*time.Hour {
			rep.IncidentsLate++
		}
	}
	return rep, nil
}

// Markdown renders the report.
func (r *KPIReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Privacy KPI report %s – %s\n\n", r.From.Format(time.DateOnly), r.To.Format(time.DateOnly))
	b.WriteString("## Data-subject requests\n\n| type | status | count |\n|---|---|---|\n")
	for _, c := range r.Requests {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", c.Type, c.Status, c.Count)
	}
	fmt.Fprintf(&b, "\n- Completed: %d (median %s, worst %s)\n- Overdue: %d\n- Extended: %d\n\n",
		r.Completed, r.MedianCompletion, r.WorstCompletion, r.OverdueRequests, r.Extended)
	b.WriteString("## Deletions\n\n")
	fmt.Fprintf(&b, "- On time: %d\n- Late: %d\n- Overdue now: %d\n\n", r.DeletionsOnTime, r.DeletionsLate, r.OverdueItems)
	b.WriteString("## Vendors\n\n")
	fmt.Fprintf(&b, "- Compliant: %d of %d (%.0f%%)\n", r.VendorsCompliant, r.Vendors, 100*r.VendorComplianceRate)
	keys := make([]string, 0, len(r.VendorErasures))
	for k := range r.VendorErasures {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- Vendor erasures %s: %d\n", k, r.VendorErasures[ResultStatus(k)])
	}
	fmt.Fprintf(&b, "\n## Breach incidents\n\n- Recorded: %d\n- Not reported within 72 h: %d\n", len(r.Incidents), r.IncidentsLate)
	for _, in := range r.Incidents {
		fmt.Fprintf(&b, "- %s %s: %s (%d affected)\n", in.DetectedAt.Format(time.DateOnly), mdCell(in.ID), mdCell(in.Summary), in.SubjectsAffected)
	}
	return b.String()
}

// RoPAOptions describe the controller in the record of processing.
type RoPAOptions struct {
	Controller string
	Contact    string
	DPO        string
	// SecurityMeasures lists the technical and organisational measures
	// (Art. 30(1)(g)), for example "AES-256-GCM at rest".
	SecurityMeasures []string
}

// ProcessingActivity is one purpose's entry of the record of processing.
type ProcessingActivity struct {
	Purpose        string   `json:"purpose"`
	LegalBases     []string `json:"legal_bases"`
	DataCategories []string `json:"data_categories"`
	Systems        []string `json:"systems"`
	Recipients     []string `json:"recipients,omitempty"`
	// Transfers lists third-country transfers as "vendor (region)".
	Transfers []string `json:"transfers,omitempty"`
	// Retention lists the policy's rules for the data categories.
	Retention []string `json:"retention"`
	Items     int64    `json:"items"`
}

// RecordOfProcessing is the GDPR Art. 30 record of processing activities,
// built from the inventory (the data map), the policy and the vendor
// registry.
type RecordOfProcessing struct {
	Controller       string               `json:"controller"`
	Contact          string               `json:"contact,omitempty"`
	DPO              string               `json:"dpo,omitempty"`
	GeneratedAt      time.Time            `json:"generated_at"`
	Activities       []ProcessingActivity `json:"activities"`
	Vendors          []Vendor             `json:"vendors"`
	SecurityMeasures []string             `json:"security_measures,omitempty"`
}

// RecordOfProcessing builds the Art. 30 record; opts may be nil.
func (m *Manager) RecordOfProcessing(ctx context.Context, opts *RoPAOptions) (*RecordOfProcessing, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	var o RoPAOptions
	if opts != nil {
		o = *opts
	}
	rows, err := m.store.DataMap(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: record of processing: %w", err)
	}
	rec := &RecordOfProcessing{Controller: o.Controller, Contact: o.Contact, DPO: o.DPO, GeneratedAt: m.now().UTC(),
		Vendors: m.Vendors(), SecurityMeasures: slices.Clone(o.SecurityMeasures)}
	acts := map[string]*ProcessingActivity{}
	var order []string
	add := func(list *[]string, s string) {
		if s != "" && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, r := range rows {
		p := r.Purpose
		if p == "" {
			p = "unspecified"
		}
		a, ok := acts[p]
		if !ok {
			a = &ProcessingActivity{Purpose: p}
			acts[p] = a
			order = append(order, p)
		}
		add(&a.LegalBases, r.LegalBasis)
		add(&a.DataCategories, r.Category)
		add(&a.Systems, r.System)
		a.Items += r.Count
		if r.Vendor != "" {
			add(&a.Recipients, r.Vendor)
			if v, ok := m.vendors[r.Vendor]; ok && !slices.Contains(eea, strings.ToUpper(v.Region)) {
				add(&a.Transfers, v.Name+" ("+v.Region+")")
			}
		}
	}
	sort.Strings(order)
	for _, p := range order {
		a := acts[p]
		for _, lst := range [][]string{a.LegalBases, a.DataCategories, a.Systems, a.Recipients, a.Transfers} {
			sort.Strings(lst)
		}
		for _, c := range a.DataCategories {
			for _, r := range m.policy.RulesFor(c) {
				add(&a.Retention, r.String())
			}
		}
		rec.Activities = append(rec.Activities, *a)
	}
	return rec, nil
}

// JSON encodes the record.
func (r *RecordOfProcessing) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// Markdown renders the record.
func (r *RecordOfProcessing) Markdown() string {
	var b strings.Builder
	b.WriteString("# Record of processing activities (GDPR Art. 30)\n\n")
	fmt.Fprintf(&b, "- Controller: %s\n", mdCell(r.Controller))
	if r.Contact != "" {
		fmt.Fprintf(&b, "- Contact: %s\n", mdCell(r.Contact))
	}
	if r.DPO != "" {
		fmt.Fprintf(&b, "- Data protection officer: %s\n", mdCell(r.DPO))
	}
	fmt.Fprintf(&b, "- Generated: %s\n\n", r.GeneratedAt.Format(time.RFC3339))
	b.WriteString("| purpose | legal basis | data categories | systems | recipients | third-country transfers | retention | items |\n|---|---|---|---|---|---|---|---|\n")
	for _, a := range r.Activities {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d |\n", mdCell(a.Purpose), mdCell(strings.Join(a.LegalBases, ", ")),
			mdCell(strings.Join(a.DataCategories, ", ")), mdCell(strings.Join(a.Systems, ", ")), mdCell(strings.Join(a.Recipients, ", ")),
			mdCell(strings.Join(a.Transfers, ", ")), mdCell(strings.Join(a.Retention, "; ")), a.Items)
	}
	if len(r.Vendors) > 0 {
		b.WriteString("\n## Vendors\n\n| vendor | role | region | retention | trains on data | DPA | erasure | risk | as of |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, v := range r.Vendors {
			ret := "unknown"
			if v.Retention > 0 {
				ret = fmtDays(v.Retention)
			}
			lvl, _ := v.Risk()
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(v.DisplayName), v.Role, mdCell(v.Region), ret,
				v.TrainsOnData, v.Agreement, v.Erasure, lvl, mdCell(v.AsOf))
		}
	}
	if len(r.SecurityMeasures) > 0 {
		b.WriteString("\n## Security measures\n\n")
		for _, s := range r.SecurityMeasures {
			fmt.Fprintf(&b, "- %s\n", mdCell(s))
		}
	}
	return b.String()
}

func fmtDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// LintProblem is one gap [Manager.Lint] found.
type LintProblem struct {
	// Kind is "no_rule", "no_deleter", "no_exporter" or
	// "unregistered_vendor".
	Kind     string `json:"kind"`
	Category string `json:"category,omitempty"`
	System   string `json:"system,omitempty"`
	Vendor   string `json:"vendor,omitempty"`
}

// String describes the problem in one line.
func (p LintProblem) String() string {
	switch p.Kind {
	case "no_rule":
		return fmt.Sprintf("category %q has no retention rule", p.Category)
	case "no_deleter":
		if p.Category != "" {
			return fmt.Sprintf("category %q in system %q has no registered deleter", p.Category, p.System)
		}
		return fmt.Sprintf("vendor %q (system %q) has no registered erasure connector", p.Vendor, p.System)
	case "no_exporter":
		return fmt.Sprintf("system %q has no registered exporter for access requests", p.System)
	case "unregistered_vendor":
		return fmt.Sprintf("vendor %q holds items but is not in the vendor registry", p.Vendor)
	}
	return p.Kind
}

// LintError lists every gap found by [Manager.Lint].
type LintError struct {
	Problems []LintProblem
}

// Error lists every problem.
func (e *LintError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "retention: lint: " + strings.Join(parts, "; ")
}

// Lint checks that everything tracked can be deleted and exported: every
// category in the inventory has rules, every (category, system) pair and
// every registered vendor has a Deleter, every system that is not a
// vendor's has an Exporter, and every vendor named by an item is in the
// registry. It returns a [*LintError] listing every gap, or nil. Run it at
// startup and in CI.
func (m *Manager) Lint(ctx context.Context) error {
	if err := m.check(); err != nil {
		return err
	}
	rows, err := m.store.DataMap(ctx)
	if err != nil {
		return fmt.Errorf("retention: lint: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	vendorSystems := map[string]bool{}
	for _, v := range m.vendors {
		vendorSystems[v.SystemName()] = true
	}
	var probs []LintProblem
	seen := map[LintProblem]bool{}
	addp := func(p LintProblem) {
		if !seen[p] {
			seen[p] = true
			probs = append(probs, p)
		}
	}
	for _, r := range rows {
		if !m.policy.Covers(r.Category) {
			addp(LintProblem{Kind: "no_rule", Category: r.Category})
		}
		if m.deleters[r.System] == nil {
			addp(LintProblem{Kind: "no_deleter", Category: r.Category, System: r.System})
		}
		if !vendorSystems[r.System] && m.exporters[r.System] == nil {
			addp(LintProblem{Kind: "no_exporter", System: r.System})
		}
		if r.Vendor != "" {
			if _, ok := m.vendors[r.Vendor]; !ok {
				addp(LintProblem{Kind: "unregistered_vendor", Vendor: r.Vendor})
			}
		}
	}
	for _, n := range m.vorder {
		v := m.vendors[n]
		if m.deleters[v.SystemName()] == nil {
			addp(LintProblem{Kind: "no_deleter", Vendor: v.Name, System: v.SystemName()})
		}
	}
	if len(probs) > 0 {
		return &LintError{Problems: probs}
	}
	return nil
}
