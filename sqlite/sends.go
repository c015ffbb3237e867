package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Group commit: SQLite has one writer, so concurrent sends queue for it anyway; rather
// than one transaction each, the sends that queued while a transaction ran share the next
// one, each in a savepoint of its own so that one refused (an unknown room, a conflict)
// leaves the others in. A lone send goes at once: nothing waits to fill a batch.

const (
	// maxSendBatch bounds the sends of one transaction.
	maxSendBatch = 64
	// sendQueue bounds the sends waiting for the writer; past it a send waits to queue.
	sendQueue = 1024
	// sendTimeout bounds one batch's transaction.
	sendTimeout = 30 * time.Second
)

var errStoreClosed = errors.New("sqlite: the store is closed")

type sendReq struct {
	m       chat.Message
	advance []string
	done    chan sendRes // capacity 1: the batcher never blocks on a caller gone
}

type sendRes struct {
	m       chat.Message
	created bool
	err     error
}

// sendBatcher owns the goroutine that writes sends in batches.
type sendBatcher struct {
	s     *Store
	queue chan *sendReq
	stop  chan struct{} // closed by close
	ended chan struct{} // closed when the goroutine has returned
	once  sync.Once
}

func (s *Store) startSends() {
	b := &sendBatcher{s: s, queue: make(chan *sendReq, sendQueue), stop: make(chan struct{}), ended: make(chan struct{})}
	s.sends = b
	go b.run()
}

// close stops the batcher after the batch in progress; sends still queued are refused.
func (b *sendBatcher) close() {
	if b == nil {
		return
	}
	b.once.Do(func() { close(b.stop) })
	<-b.ended
}

// do queues one send and waits for its result. A caller that gives up (ctx) may still
// have its message stored: a retry with the same client id finds it.
func (b *sendBatcher) do(ctx context.Context, m chat.Message, advance []string) (chat.Message, bool, error) {
	req := &sendReq{m: m, advance: advance, done: make(chan sendRes, 1)}
	select {
	case b.queue <- req:
	case <-ctx.Done():
		return chat.Message{}, false, fmt.Errorf("sqlite: create message: %w", ctx.Err())
	case <-b.ended:
		return chat.Message{}, false, errStoreClosed
	}
	select {
	case r := <-req.done:
		return r.m, r.created, r.err
	case <-ctx.Done():
		return chat.Message{}, false, fmt.Errorf("sqlite: create message: %w", ctx.Err())
	case <-b.ended:
		select {
		case r := <-req.done:
			return r.m, r.created, r.err
		default:
			return chat.Message{}, false, errStoreClosed
		}
	}
}

func (b *sendBatcher) run() {
	defer close(b.ended)
	batch := make([]*sendReq, 0, maxSendBatch)
	for {
		select {
		case <-b.stop:
			b.refuseQueued()
			return
		case r := <-b.queue:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < maxSendBatch {
			select {
			case r := <-b.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		b.commit(batch)
		clear(batch) // no message kept alive by the array
	}
}

func (b *sendBatcher) refuseQueued() {
	for {
		select {
		case r := <-b.queue:
			r.done <- sendRes{err: errStoreClosed}
		default:
			return
		}
	}
}

// commit writes the batch in one transaction and answers every send of it.
func (b *sendBatcher) commit(batch []*sendReq) {
	s := b.s
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	results := make([]sendRes, len(batch))
	published := s.done.take() // deleted by this write rather than by one of their own
	err := s.write(ctx, "create messages", func(tx *sql.Tx) error {
		if err := s.deletePublished(ctx, tx, published); err != nil {
			return err
		}
		if len(batch) == 1 { // no savepoint: its failure is the transaction's
			r := batch[0]
			m, created, err := s.createMessage(ctx, tx, r.m, r.advance)
			results[0] = sendRes{m: m, created: created, err: err}
			return err
		}
		for i, r := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT send`); err != nil {
				return fmt.Errorf("sqlite: create messages: savepoint: %w", err)
			}
			m, created, err := s.createMessage(ctx, tx, r.m, r.advance)
			results[i] = sendRes{m: m, created: created, err: err}
			if err != nil {
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO send`); rerr != nil {
					return fmt.Errorf("sqlite: create messages: roll back one: %w", rerr)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE send`); err != nil {
				return fmt.Errorf("sqlite: create messages: release: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		s.requeuePublished(published) // their rows are still there: the next write takes them
		for i := range results {
			if results[i].err == nil { // rolled back with the rest
				results[i] = sendRes{err: err}
			}
		}
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}
