package postgres

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/chirper"
)

// ChangesChannel is the channel on which the triggers announce changed
// users, deleted chirps and changed follows, and the chirp store new
// chirps (its announcer).
const ChangesChannel = "chirper_changes"

// ListenForChanges passes every change that any process makes to caches,
// until ctx ends. It listens on the primary (a replica hears no NOTIFY);
// dsn returns the connection string, anew for each connection (an IAM
// token is good for one sign-in). While the listening connection is down
// the caches are emptied and bypassed; once it listens again they are
// emptied once more, for what was missed, and used.
//
// Behind RDS Proxy a LISTEN pins its connection: one per process.
func ListenForChanges(ctx context.Context, dsn func(context.Context) (string, error), caches *chirper.Caches, log *slog.Logger) {
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; backoff = min(2*backoff, 2*time.Second) {
		if listenOnce(ctx, dsn, caches, log) {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// listenOnce listens on one pq.Listener until it cannot reconnect or ctx
// ends; it reports whether it ever listened.
func listenOnce(ctx context.Context, dsn func(context.Context) (string, error), caches *chirper.Caches, log *slog.Logger) bool {
	caches.Reset(false)
	name, err := dsn(ctx)
	if err != nil {
		log.Warn("cache invalidation: no connection string", "err", err)
		return false
	}
	failed := make(chan struct{}, 1)
	l := pq.NewListener(name, 10*time.Millisecond, time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			caches.Reset(false)
			log.Warn("cache invalidation: connection lost; caches bypassed", "err", err)
		case pq.ListenerEventConnectionAttemptFailed:
			select {
			case failed <- struct{}{}:
			default:
			}
		}
	})
	// Closing the listener ends everything below, Listen included (it
	// waits for a connection): when ctx ends, and when a connection cannot
	// be made, so that a new listener tries with a new connection string.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-failed:
		case <-done:
		}
		l.Close()
	}()
	if err := l.Listen(ChangesChannel); err != nil {
		if ctx.Err() == nil {
			log.Warn("cache invalidation: LISTEN failed", "err", err)
		}
		return false
	}
	caches.Reset(true)
	ping := time.NewTicker(5 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ping.C:
			l.Ping() // finds a silently dead connection
		case n, ok := <-l.NotificationChannel():
			switch {
			case !ok: // closed: ctx ended, or no connection could be made
				return true
			case n == nil: // reconnected, listening again
				caches.Reset(true)
			default:
				if ch, ok := parseChange(n.Extra); ok {
					caches.Changed(ch)
				}
			}
		}
	}
}

// parseChange reads a trigger's "table:id", or "new_chirps:id,id,...".
func parseChange(payload string) (chirper.Change, bool) {
	table, ids, ok := strings.Cut(payload, ":")
	if !ok {
		return chirper.Change{}, false
	}
	if table == chirper.NewChirps {
		ch := chirper.Change{Table: table}
		for s := range strings.SplitSeq(ids, ",") {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return chirper.Change{}, false
			}
			if id > 0 { // "new_chirps:0" came from before the ids were sent
				ch.IDs = append(ch.IDs, id)
			}
		}
		return ch, true
	}
	id, err := strconv.ParseInt(ids, 10, 64)
	return chirper.Change{Table: table, ID: id}, err == nil
}
