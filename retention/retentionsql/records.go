package retentionsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/inferlabs/privkit/internal/sqldb"
	"github.com/inferlabs/privkit/retention"
)

// isUnique reports a primary-key violation on either database.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") ||
		strings.Contains(s, "duplicate key value")
}

const holdCols = `id, scope, target, reason, placed_by, placed_at, released_by, released_at, release_reason`

func scanHold(s scanner) (retention.Hold, error) {
	var h retention.Hold
	var scope string
	var placed, released int64
	err := s.Scan(&h.ID, &scope, &h.Target, &h.Reason, &h.PlacedBy, &placed, &h.ReleasedBy, &released, &h.ReleaseReason)
	h.Scope, h.PlacedAt, h.ReleasedAt = retention.HoldScope(scope), tm(placed), tm(released)
	return h, err
}

// AddHold implements [retention.HoldStore].
func (s *Store) AddHold(ctx context.Context, h retention.Hold) error {
	_, err := s.db.Exec(ctx, `INSERT INTO retention_holds (`+holdCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.ID, string(h.Scope), h.Target, h.Reason, h.PlacedBy, ns(h.PlacedAt), h.ReleasedBy, ns(h.ReleasedAt), h.ReleaseReason)
	if isUnique(err) {
		return retention.ErrExists
	}
	return err
}

// ReleaseHold implements [retention.HoldStore].
func (s *Store) ReleaseHold(ctx context.Context, id, by, reason string, at time.Time) (retention.Hold, error) {
	var out retention.Hold
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		h, err := scanHold(tx.QueryRow(ctx, "SELECT "+holdCols+" FROM retention_holds WHERE id = ?"+tx.Dialect.ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return retention.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !h.ReleasedAt.IsZero() {
			return retention.ErrHoldReleased
		}
		h.ReleasedBy, h.ReleasedAt, h.ReleaseReason = by, tm(ns(at)), reason
		_, err = tx.Exec(ctx, "UPDATE retention_holds SET released_by = ?, released_at = ?, release_reason = ? WHERE id = ?",
			by, ns(at), reason, id)
		out = h
		return err
	})
	return out, err
}

// ListHolds implements [retention.HoldStore].
func (s *Store) ListHolds(ctx context.Context, activeOnly bool) ([]retention.Hold, error) {
	q := "SELECT " + holdCols + " FROM retention_holds"
	if activeOnly {
		q += " WHERE released_at = 0"
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY placed_at, id")
	return collect(rows, err, scanHold)
}

// CreateRequest implements [retention.RequestStore].
func (s *Store) CreateRequest(ctx context.Context, r retention.Request) error {
	r.Version = 1
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, "INSERT INTO retention_requests (id, subject, received_at, version, body) VALUES (?, ?, ?, 1, ?)",
		r.ID, r.Subject, ns(r.ReceivedAt), string(body))
	if isUnique(err) {
		return retention.ErrExists
	}
	return err
}

func decodeRequest(body string, version int64) (retention.Request, error) {
	var r retention.Request
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return r, err
	}
	r.Version = version
	return r, nil
}

// GetRequest implements [retention.RequestStore].
func (s *Store) GetRequest(ctx context.Context, id string) (retention.Request, error) {
	var body string
	var version int64
	err := s.db.QueryRow(ctx, "SELECT body, version FROM retention_requests WHERE id = ?", id).Scan(&body, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return retention.Request{}, retention.ErrNotFound
	}
	if err != nil {
		return retention.Request{}, err
	}
	return decodeRequest(body, version)
}

// UpdateRequest implements [retention.RequestStore].
func (s *Store) UpdateRequest(ctx context.Context, r retention.Request) error {
	old := r.Version
	r.Version++
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, "UPDATE retention_requests SET body = ?, version = ?, subject = ?, received_at = ? WHERE id = ? AND version = ?",
		string(body), r.Version, r.Subject, ns(r.ReceivedAt), r.ID, old)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetRequest(ctx, r.ID); err != nil {
		return err
	}
	return retention.ErrConflict
}

func rangeWhere(col string, from, to time.Time, args *[]any) string {
	var w []string
	if !from.IsZero() {
		w = append(w, col+" >= ?")
		*args = append(*args, ns(from))
	}
	if !to.IsZero() {
		w = append(w, col+" < ?")
		*args = append(*args, ns(to))
	}
	if len(w) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w, " AND ")
}

// ListRequests implements [retention.RequestStore].
func (s *Store) ListRequests(ctx context.Context, from, to time.Time) ([]retention.Request, error) {
	var args []any
	rows, err := s.db.Query(ctx, "SELECT body, version FROM retention_requests"+rangeWhere("received_at", from, to, &args)+
		" ORDER BY received_at, id", args...)
	return collect(rows, err, func(rows scanner) (retention.Request, error) {
		var body string
		var version int64
		if err := rows.Scan(&body, &version); err != nil {
			return retention.Request{}, err
		}
		return decodeRequest(body, version)
	})
}

// AddIncident implements [retention.IncidentStore].
func (s *Store) AddIncident(ctx context.Context, in retention.Incident) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, "INSERT INTO retention_incidents (id, detected_at, body) VALUES (?, ?, ?)", in.ID, ns(in.DetectedAt), string(body))
	if isUnique(err) {
		return retention.ErrExists
	}
	return err
}

// ListIncidents implements [retention.IncidentStore].
func (s *Store) ListIncidents(ctx context.Context, from, to time.Time) ([]retention.Incident, error) {
	var args []any
	rows, err := s.db.Query(ctx, "SELECT body FROM retention_incidents"+rangeWhere("detected_at", from, to, &args)+
		" ORDER BY detected_at, id", args...)
	return collect(rows, err, func(rows scanner) (retention.Incident, error) {
		var body string
		var in retention.Incident
		if err := rows.Scan(&body); err != nil {
			return in, err
		}
		err := json.Unmarshal([]byte(body), &in)
		return in, err
	})
}
