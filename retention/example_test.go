package retention_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/inferlabs/privkit/retention"
)

// A policy says how long each category of data is kept. Evaluating it for
// an item tells whether the item is due and why.
func ExamplePolicy_Evaluate() {
	p := retention.DefaultPolicy()
	uploaded := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	file := retention.Item{ID: "file_1", Category: retention.CategoryUploadedFile, Plan: "free", CreatedAt: uploaded}

	for _, at := range []time.Duration{59 * time.Minute, time.Hour} {
		d, err := p.Evaluate(file, nil, uploaded.Add(at))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("free file after %v: delete=%v (%s; rule: %s)\n", at, d.Delete, d.Reason, d.DeleteRule)
	}

	// A legal hold beats every rule.
	hold := retention.Hold{ID: "H1", Scope: retention.HoldItem, Target: "file_1", PlacedAt: uploaded}
	d, _ := p.Evaluate(file, []retention.Hold{hold}, uploaded.Add(48*time.Hour))
	fmt.Printf("held file after 48h: delete=%v (%s)\n", d.Delete, d.Reason)

	// Contradictory rules are rejected.
	_, err := retention.NewPolicy([]retention.Rule{
		{Category: "notes", Action: retention.ActionDelete, Anchor: retention.AnchorCreated, TTL: time.Hour},
		{Category: "notes", Action: retention.ActionRetain, Anchor: retention.AnchorCreated, TTL: 24 * time.Hour},
	})
	fmt.Println(err)
	// Output:
	// free file after 59m0s: delete=false (not yet due; rule: uploaded_file delete 1h0m0s after created plan=free)
	// free file after 1h0m0s: delete=true (due; rule: uploaded_file delete 1h0m0s after created plan=free)
	// held file after 48h: delete=false (legal hold)
	// retention: contradictory rules: notes|plan=|region=: "notes delete 1h0m0s after created" and "notes retain 24h0m0s after created" for the same items
}

// The sweeper deletes due items through the deleter registered for their
// system, and journals each step in the store.
func ExampleManager_Sweep() {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	m, err := retention.New(retention.NewMemoryStore(), &retention.Options{
		Now:    func() time.Time { return now }, // a fixed clock for the example
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.RegisterDeleter("workspace", retention.DeleterFunc(func(ctx context.Context, it retention.Item) error {
		fmt.Println("deleting", it.Location)
		return nil // the host removes the file here (idempotently)
	}))
	for i, plan := range []string{"free", "paid"} {
		_, err := m.Track(ctx, retention.Item{
			ID: fmt.Sprintf("file_%d", i), Category: retention.CategoryUploadedFile, Subject: "u_3f9c",
			System: "workspace", Location: fmt.Sprintf("ws/u_3f9c/%s.csv", plan), Plan: plan,
			CreatedAt: now.Add(-2 * time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	dry, err := m.Sweep(ctx, &retention.SweepOptions{DryRun: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("dry run would delete:", dry.WouldDelete)
	rep, err := m.Sweep(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted:", rep.Deleted, "overdue:", len(rep.Overdue))
	j, _ := m.Journal(ctx, "file_0")
	for _, e := range j {
		fmt.Println("journal:", e.Step)
	}
	// Output:
	// dry run would delete: 1
	// deleting ws/u_3f9c/free.csv
	// deleted: 1 overdue: 0
	// journal: claimed
	// journal: deleting
	// journal: deleted
}

// An erasure request deletes the subject's data at home and at vendors. A
// vendor that deletes on its own (OpenAI's 30 days) stays pending until
// then: a receipt never reports a pending or failed erasure as done.
func ExampleManager_ProcessRequest() {
	ctx := context.Background()
	clock := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	m, err := retention.New(retention.NewMemoryStore(), &retention.Options{
		Now:     func() time.Time { return clock },
		Vendors: retention.KnownVendors(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	m.RegisterDeleter("chat", retention.DeleterFunc(func(context.Context, retention.Item) error { return nil }))
	m.RegisterDeleter("openai", retention.VendorAutoDeletion(30*24*time.Hour))

	for _, it := range []retention.Item{
		{ID: "conv_1", Category: retention.CategoryConversation, Subject: "u_3f9c", System: "chat"},
		{ID: "prompt_1", Category: retention.CategoryVendorData, Subject: "u_3f9c", System: "openai", Vendor: "openai", SentAt: clock},
	} {
		if _, err := m.Track(ctx, it); err != nil {
			log.Fatal(err)
		}
	}
	req, err := m.SubmitRequest(ctx, retention.Request{Type: retention.RequestErasure, Subject: "u_3f9c", Law: retention.LawGDPR})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("due:", req.DueAt.Format(time.DateOnly))
	res, err := m.ProcessRequest(ctx, req.ID)
	fmt.Println(res.Request.Status, err)
	for _, l := range res.Receipt.Lines {
		fmt.Println(" ", l.System, l.ItemID, l.Status, l.Method)
	}

	clock = clock.Add(30 * 24 * time.Hour) // the vendor's period has passed
	res, err = m.ProcessRequest(ctx, req.ID)
	fmt.Println(res.Request.Status, err)
	for _, l := range res.Receipt.Lines {
		fmt.Println(" ", l.System, l.ItemID, l.Status, l.Method)
	}
	// Output:
	// due: 2025-07-01
	// in_progress retention: request not complete yet: 0 failed, 1 pending
	//   chat conv_1 deleted direct
	//   openai prompt_1 pending vendor_auto_expiry
	// completed <nil>
	//   chat conv_1 deleted direct
	//   openai prompt_1 deleted vendor_auto_expiry
}
