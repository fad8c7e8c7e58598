package retention

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// VendorRole is a vendor's role under the GDPR for the data it receives.
type VendorRole string

// Vendor roles.
const (
	RoleProcessor             VendorRole = "processor"
	RoleSubprocessor          VendorRole = "subprocessor"
	RoleJointController       VendorRole = "joint_controller"
	RoleIndependentController VendorRole = "independent_controller"
)

// Tristate is yes, no or unknown; unknown counts as the worst case.
type Tristate string

// Tristate values.
const (
	Yes     Tristate = "yes"
	No      Tristate = "no"
	Unknown Tristate = "unknown"
)

// AgreementStatus is the state of the data-processing agreement (DPA) with
// a vendor.
type AgreementStatus string

// Agreement statuses.
const (
	// AgreementSigned: the host has concluded the DPA.
	AgreementSigned AgreementStatus = "signed"
	// AgreementAvailable: the vendor offers a DPA (often incorporated in
	// its terms) but the host has not recorded concluding it.
	AgreementAvailable AgreementStatus = "available"
	// AgreementNone: no DPA.
	AgreementNone AgreementStatus = "none"
	// AgreementUnknown: not known.
	AgreementUnknown AgreementStatus = "unknown"
)

// RiskLevel is a vendor's computed risk.
type RiskLevel string

// Risk levels.
const (
	RiskLow    RiskLevel = "low"
	RiskMedium RiskLevel = "medium"
	RiskHigh   RiskLevel = "high"
)

// Vendor is one entry of the vendor registry: what a vendor receives, what
// it does with it, for how long, and how to erase it there. Facts carry the
// date they were checked and their sources; Uncertain names the fields
// whose values could not be confirmed from public documentation.
type Vendor struct {
	// Name is the registry key, for example "openai".
	Name string `json:"name"`
	// DisplayName is the vendor and service, for example "OpenAI API".
	DisplayName string `json:"display_name"`
	// System is the Deleter system name of the vendor's erasure connector;
	// empty means Name.
	System string     `json:"system,omitempty"`
	Role   VendorRole `json:"role"`
	// Purposes and Categories say why and what data the vendor receives.
	Purposes   []string `json:"purposes"`
	Categories []string `json:"categories"`
	// Region is where the vendor processes the data, for example "US" or
	// "EU"; anything outside the EU/EEA is a third-country transfer.
	Region string `json:"region"`
	// Retention is how long the vendor keeps the data; zero means unknown.
	Retention     time.Duration `json:"retention"`
	RetentionNote string        `json:"retention_note,omitempty"`
	// TrainsOnData says whether the vendor trains models on the data.
	TrainsOnData   Tristate        `json:"trains_on_data"`
	Certifications []string        `json:"certifications,omitempty"`
	Agreement      AgreementStatus `json:"agreement"`
	// Erasure is how data is erased at the vendor.
	Erasure ErasureMethod `json:"erasure"`
	// AsOf is the date (YYYY-MM-DD) the facts were checked.
	AsOf    string   `json:"as_of"`
	Sources []string `json:"sources"`
	// Uncertain lists JSON field names whose values are uncertain.
	Uncertain []string `json:"uncertain,omitempty"`
	Notes     string   `json:"notes,omitempty"`
}

// SystemName returns System, or Name if System is empty.
func (v Vendor) SystemName() string {
	if v.System != "" {
		return v.System
	}
	return v.Name
}

var eea = []string{"EU", "EEA", "EU/EEA"}

// Risk computes the vendor's risk level and the reasons for it. Unknown
// facts count as the worst case. High: it trains (or may train) on the
// data, has no DPA, offers no erasure, or accumulates four or more points;
// medium: two or three points; low otherwise. Points: DPA offered but not
// signed 1; manual erasure 1; retention unknown 2, over 30 days 1; region
// outside the EU/EEA 1; a controller role 1; no certification 1.
func (v Vendor) Risk() (RiskLevel, []string) {
	var reasons []string
	high, pts := false, 0
	switch v.TrainsOnData {
	case No:
	case Yes:
		high = true
		reasons = append(reasons, "trains on the data")
	default:
		high = true
		reasons = append(reasons, "may train on the data (unknown)")
	}
	switch v.Agreement {
	case AgreementSigned:
	case AgreementAvailable:
		pts++
		reasons = append(reasons, "DPA not signed")
	default:
		high = true
		reasons = append(reasons, "no DPA")
	}
	switch v.Erasure {
	case MethodAPI, MethodVendorAuto, MethodDirect:
	case MethodManual:
		pts++
		reasons = append(reasons, "manual erasure")
	default:
		high = true
		reasons = append(reasons, "no erasure method")
	}
	switch {
	case v.Retention == 0:
		pts += 2
		reasons = append(reasons, "retention unknown")
	case v.Retention > 30*24*time.Hour:
		pts++
		reasons = append(reasons, "retention over 30 days")
	}
	if !slices.Contains(eea, strings.ToUpper(v.Region)) {
		pts++
		reasons = append(reasons, "processing outside the EU/EEA")
	}
	if v.Role == RoleJointController || v.Role == RoleIndependentController {
		pts++
		reasons = append(reasons, "vendor acts as a controller")
	}
	if len(v.Certifications) == 0 {
		pts++
		reasons = append(reasons, "no certification")
	}
	switch {
	case high || pts >= 4:
		return RiskHigh, reasons
	case pts >= 2:
		return RiskMedium, reasons
	}
	return RiskLow, reasons
}

// Compliant reports whether the vendor meets the registry's minimum: a
// signed DPA, a way to erase, a known retention and no training on the
// data. The KPI report's vendor compliance rate counts these.
func (v Vendor) Compliant() bool {
	return v.Agreement == AgreementSigned && v.Erasure != MethodNone && v.Erasure != "" &&
		v.Retention > 0 && v.TrainsOnData == No
}

// Vendors returns the registry, in the order given in Options.
func (m *Manager) Vendors() []Vendor {
	out := make([]Vendor, 0, len(m.vorder))
	for _, n := range m.vorder {
		out = append(out, m.vendors[n])
	}
	return out
}

// KnownVendors returns registry entries for vendors common in AI
// data-analysis services: Stripe, OpenAI (API), Google (Gemini API, paid
// tier), PostHog and Meta (Pixel and Conversions API). The facts are as
// publicly documented on the AsOf date, with sources; fields listed in
// Uncertain could not be confirmed and must be checked. Agreement is
// AgreementAvailable: set it to AgreementSigned once you have concluded the
// DPA. Re-verify before relying on them: vendors change their terms.
func KnownVendors() []Vendor {
	const day = 24 * time.Hour
	return []Vendor{
		{
			Name: "stripe", DisplayName: "Stripe (payments)", Role: RoleProcessor,
			Purposes: []string{"payments", "fraud_prevention"}, Categories: []string{CategoryAccount, "payment"},
			Region:        "US",
			RetentionNote: "transaction records kept as long as financial and anti-money-laundering law requires (years); deleting a Customer does not erase them",
			TrainsOnData:  Yes, Certifications: []string{"PCI DSS Level 1 Service Provider", "SOC 1 Type II", "SOC 2 Type II"},
			Agreement: AgreementAvailable, Erasure: MethodAPI, AsOf: "2025-06-01",
			Sources: []string{
				"https://stripe.com/legal/dpa", "https://stripe.com/privacy",
				"https://docs.stripe.com/security", "https://docs.stripe.com/api/customers/delete",
			},
			Uncertain: []string{"retention", "role"},
			Notes:     "Stripe acts as an independent controller for its own fraud-prevention, compliance and regulatory processing; Radar fraud models learn from data across Stripe's network. EEA users contract with Stripe Payments Europe, Ltd. (Ireland).",
		},
		{
			Name: "openai", DisplayName: "OpenAI API", Role: RoleProcessor,
			Purposes: []string{"llm_inference"}, Categories: []string{CategoryVendorData, CategoryConversation, CategoryUploadedFile},
			Region: "US", Retention: 30 * day,
			RetentionNote: "API inputs and outputs kept up to 30 days for abuse monitoring, then deleted unless the law requires otherwise; zero data retention available for eligible customers and endpoints",
			TrainsOnData:  No, Certifications: []string{"SOC 2 Type 2"},
			Agreement: AgreementAvailable, Erasure: MethodVendorAuto, AsOf: "2025-06-01",
			Sources: []string{
				"https://openai.com/enterprise-privacy/", "https://platform.openai.com/docs/guides/your-data",
				"https://openai.com/policies/data-processing-addendum/", "https://trust.openai.com/",
			},
			Uncertain: []string{"retention", "region", "certifications"},
			Notes:     "Not used for training unless the customer opts in (since 2023-03-01). A 2025 court preservation order (New York Times v. OpenAI) required keeping API output logs beyond 30 days for a period; check its current status. European data residency is offered to eligible customers.",
		},
		{
			Name: "google-gemini", DisplayName: "Google Gemini API (paid tier)", Role: RoleProcessor,
			Purposes: []string{"llm_inference"}, Categories: []string{CategoryVendorData, CategoryConversation, CategoryUploadedFile},
			Region: "US", Retention: 55 * day,
			RetentionNote: "paid services: prompts and responses logged for a limited period solely to detect policy violations (55 days per the Gemini API terms as read)",
			TrainsOnData:  No, Certifications: []string{"ISO/IEC 27001", "SOC 2"},
			Agreement: AgreementAvailable, Erasure: MethodVendorAuto, AsOf: "2025-06-01",
			Sources:   []string{"https://ai.google.dev/gemini-api/terms", "https://cloud.google.com/terms/data-processing-addendum"},
			Uncertain: []string{"retention", "certifications", "role"},
			Notes:     "Applies to paid (billing-enabled) use only: on the unpaid tier Google uses prompts and responses to improve its products, with human review; never send personal data on the unpaid tier.",
		},
		{
			Name: "posthog", DisplayName: "PostHog Cloud EU (product analytics)", Role: RoleProcessor,
			Purposes: []string{"product_analytics"}, Categories: []string{"analytics_event", CategoryRequestLog},
			Region:        "EU",
			RetentionNote: "event retention depends on the plan and project settings",
			TrainsOnData:  Unknown, Certifications: []string{"SOC 2 Type II"},
			Agreement: AgreementAvailable, Erasure: MethodAPI, AsOf: "2025-06-01",
			Sources: []string{
				"https://posthog.com/docs/privacy/gdpr-compliance", "https://posthog.com/dpa",
				"https://posthog.com/docs/privacy/data-deletion",
			},
			Uncertain: []string{"retention", "trains_on_data"},
			Notes:     "Persons and their events can be deleted through the API. The US cloud is a third-country transfer; self-hosting avoids the vendor.",
		},
		{
			Name: "meta", DisplayName: "Meta Pixel and Conversions API", Role: RoleJointController,
			Purposes: []string{"advertising_measurement"}, Categories: []string{"analytics_event"},
			Region:        "US",
			RetentionNote: "not published per event for advertisers; hashed contact data for Custom Audiences is said to be deleted after matching",
			TrainsOnData:  Yes, Agreement: AgreementAvailable, Erasure: MethodManual, AsOf: "2025-06-01",
			Sources: []string{
				"https://www.facebook.com/legal/technology_terms", "https://www.facebook.com/legal/controller_addendum",
				"https://www.facebook.com/legal/terms/dataprocessing", "https://curia.europa.eu/juris/liste.jsf?num=C-40/17",
			},
			Uncertain: []string{"retention", "erasure", "certifications"},
			Notes:     "Joint controller for collection and transmission by the Pixel (CJEU C-40/17 Fashion ID); Meta uses Business Tools data to deliver and improve ads. No per-person erasure API for advertisers: erasure is a manual request.",
		},
	}
}

// vendorDeleter is a Deleter that says how it erases.
type vendorDeleter struct {
	method ErasureMethod
	fn     func(ctx context.Context, it Item) error
}

// Delete erases it at the vendor.
func (d vendorDeleter) Delete(ctx context.Context, it Item) error { return d.fn(ctx, it) }

// Method reports the erasure method, recorded in the journal and receipts.
func (d vendorDeleter) Method() ErasureMethod { return d.method }

// APIErasure returns a [Deleter] for a vendor with an erasure API: fn calls
// it (and must be idempotent, like every Deleter). Receipts record
// [MethodAPI].
func APIErasure(fn func(ctx context.Context, it Item) error) Deleter {
	if fn == nil {
		panic("retention: APIErasure needs a function")
	}
	return vendorDeleter{MethodAPI, fn}
}

// ManualErasure returns a [Deleter] for a vendor without an erasure API:
// the first call opens a task for a person (open returns its reference,
// for example a ticket number) and the item stays pending until
// [Manager.ConfirmErasure]. Later calls while the task is open do not open
// another one.
func ManualErasure(open func(ctx context.Context, it Item) (task string, err error)) Deleter {
	if open == nil {
		panic("retention: ManualErasure needs a task opener")
	}
	return vendorDeleter{MethodManual, func(ctx context.Context, it Item) error {
		if it.Task != "" && it.Method == MethodManual {
			return &PendingError{Method: MethodManual, Task: it.Task}
		}
		task, err := open(ctx, it)
		if err != nil {
			return fmt.Errorf("retention: open manual erasure task: %w", err)
		}
		return &PendingError{Method: MethodManual, Task: task}
	}}
}

// VendorAutoDeletion returns a [Deleter] for a vendor that deletes the data
// itself period after receiving it (Item.SentAt, or CreatedAt if unset):
// no call is made; the item is pending until then and recorded deleted with
// [MethodVendorAuto] evidence afterwards.
func VendorAutoDeletion(period time.Duration) Deleter {
	return vendorDeleter{MethodVendorAuto, func(_ context.Context, it Item) error {
		from := it.SentAt
		if from.IsZero() {
			from = it.CreatedAt
		}
		return &PendingError{Method: MethodVendorAuto, Task: "vendor deletes after " + period.String(), ExpectedBy: from.Add(period)}
	}}
}
