package sqlite

import "context"

// IndexAll applies the search queue now, as a search does first.
func IndexAll(ctx context.Context, s *Store) error { return s.indexAll(ctx) }

// StopIndexer stops the background search indexer, so that a benchmark times the queue's
// application itself.
func StopIndexer(s *Store) { s.stopIndexer() }
