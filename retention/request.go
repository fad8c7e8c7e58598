package retention

import (
	"time"
)

// RequestType is the kind of data-subject request.
type RequestType string

// Request types.
const (
	// RequestAccess asks for a copy of the subject's data (GDPR Art. 15 and
	// 20, CCPA right to know).
	RequestAccess RequestType = "access"
	// RequestErasure asks for deletion of the subject's data (GDPR Art. 17,
	// CCPA right to delete).
	RequestErasure RequestType = "erasure"
)

// Law is the regime a request is made under; it sets the due date.
type Law string

// Laws.
const (
	// LawGDPR: one month from receipt, extendable by two further months.
	LawGDPR Law = "gdpr"
	// LawCCPA: 45 calendar days from receipt, extendable by 45 more.
	LawCCPA Law = "ccpa"
)

// RequestStatus is a request's place in its lifecycle:
//
//	received → verifying → in_progress → completed | partially_completed
//	                    ↘ rejected
//
// partially_completed means everything that could be erased was, and the
// rest is exempt (held items, listed in the receipt). A request whose
// erasure failed somewhere stays in_progress until a later
// [Manager.ProcessRequest] succeeds: a failure is never reported as done.
type RequestStatus string

// Request statuses.
const (
	StatusReceived           RequestStatus = "received"
	StatusVerifying          RequestStatus = "verifying"
	StatusInProgress         RequestStatus = "in_progress"
	StatusCompleted          RequestStatus = "completed"
	StatusPartiallyCompleted RequestStatus = "partially_completed"
	StatusRejected           RequestStatus = "rejected"
)

// Final reports whether s ends the lifecycle.
func (s RequestStatus) Final() bool {
	return s == StatusCompleted || s == StatusPartiallyCompleted || s == StatusRejected
}

// Request is a data-subject request and everything done about it. Its state
// lives in the [Store], so that any instance can continue it.
type Request struct {
	ID      string        `json:"id"`
	Type    RequestType   `json:"type"`
	Subject string        `json:"subject"`
	Law     Law           `json:"law"`
	Status  RequestStatus `json:"status"`
	// ReceivedAt is when the request arrived; the deadline counts from it.
	ReceivedAt time.Time `json:"received_at"`
	// DueAt is the last day to respond (midnight UTC starting that day):
	// the response is late if it comes after that day ends.
	DueAt time.Time `json:"due_at"`
	// Extension records an extension of the deadline, if any.
	Extension *Extension `json:"extension,omitempty"`
	// VerifiedAt is when the requester's identity was verified.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// CompletedAt is when the request reached a final status.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// RejectReason says why a request was rejected, in non-personal words.
	RejectReason string `json:"reject_reason,omitempty"`
	// Results lists, for an erasure, what happened to each item; it is the
	// receipt's content.
	Results []ErasureResult `json:"results,omitempty"`
	// Export summarises the bundle of an access request.
	Export *ExportSummary `json:"export,omitempty"`
	// UpdatedAt is the last change; Version counts changes (optimistic
	// concurrency between instances).
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"`
}

// Extension is a recorded extension of a request's deadline.
type Extension struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	// DueAt is the extended due date.
	DueAt time.Time `json:"due_at"`
}

// EffectiveDue returns the due date in force: the extended one if any.
func (r Request) EffectiveDue() time.Time {
	if r.Extension != nil {
		return r.Extension.DueAt
	}
	return r.DueAt
}

// OverdueAt reports whether the request is late at t: not final and past
// the end of its due day, or completed after it.
func (r Request) OverdueAt(t time.Time) bool {
	end := r.EffectiveDue().Add(24 * time.Hour)
	if r.Status.Final() {
		return !r.CompletedAt.Before(end)
	}
	return !t.Before(end)
}

// ResultStatus is what happened to one item in an erasure.
type ResultStatus string

// Result statuses.
const (
	// ResultDeleted: deleted by this request.
	ResultDeleted ResultStatus = "deleted"
	// ResultAlreadyDeleted: deleted before (by the sweeper or the user).
	ResultAlreadyDeleted ResultStatus = "already_deleted"
	// ResultHeld: exempt because of a legal hold (GDPR Art. 17(3)(e)).
	ResultHeld ResultStatus = "held"
	// ResultPending: started (a manual task, a vendor's own deletion) but
	// not confirmed.
	ResultPending ResultStatus = "pending"
	// ResultFailed: the deleter failed; retried by the next ProcessRequest.
	ResultFailed ResultStatus = "failed"
)

// ErasureResult is one line of an erasure receipt.
type ErasureResult struct {
	ItemID   string        `json:"item_id"`
	Category string        `json:"category"`
	System   string        `json:"system"`
	Vendor   string        `json:"vendor,omitempty"`
	Location string        `json:"location,omitempty"`
	Method   ErasureMethod `json:"method,omitempty"`
	Status   ResultStatus  `json:"status"`
	// Holds lists the holds that exempt a held item, with their reasons.
	Holds []string `json:"holds,omitempty"`
	// Task is a manual task's reference; ExpectedBy a pending deletion's
	// expected end.
	Task       string    `json:"task,omitempty"`
	ExpectedBy time.Time `json:"expected_by,omitzero"`
	// Error is a short, non-personal description of a failure.
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// ExportSummary describes an access request's bundle without its content.
type ExportSummary struct {
	Systems []string  `json:"systems"`
	Records int       `json:"records"`
	Files   int       `json:"files"`
	Bytes   int64     `json:"bytes"`
	SHA256  string    `json:"sha256"`
	At      time.Time `json:"at"`
}

// Incident is a recorded personal-data breach (GDPR Art. 33(5) asks to
// document every one). It holds no personal data.
type Incident struct {
	ID string `json:"id"`
	// Summary describes the breach in non-personal words.
	Summary string `json:"summary"`
	// Categories are the data categories affected.
	Categories []string `json:"categories,omitempty"`
	// SubjectsAffected is an estimate of people affected.
	SubjectsAffected int `json:"subjects_affected"`
	// DetectedAt is when the controller became aware of it.
	DetectedAt time.Time `json:"detected_at"`
	// ReportedAt is when the supervisory authority was notified (Art. 33:
	// within 72 hours); zero if not (yet) notified.
	ReportedAt time.Time `json:"reported_at,omitzero"`
	// SubjectsNotifiedAt is when the people affected were told (Art. 34).
	SubjectsNotifiedAt time.Time `json:"subjects_notified_at,omitzero"`
	// RecordedBy is who recorded it, as "kind:id".
	RecordedBy string `json:"recorded_by"`
}
