package chat

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Search finds messages by the words of their text: a query word matches a token of the
// text that starts with it, so that Korean and other languages written without stemming
// are found by a word's stem ("서울" finds "서울에서 만나요"). Tokens are runs of letters,
// digits and marks, lower-cased and without diacritics (SearchWords); everything else
// separates them.

// Limits of a search.
const (
	// MaxSearchQueryBytes bounds q.
	MaxSearchQueryBytes = 500
	// MaxSearchWords is how many words of q are matched; more are refused.
	MaxSearchWords = 10
	// MaxSearchPage is the largest page of GET /search/messages.
	MaxSearchPage = 50
	// MaxTokenPrefix is the longest word prefix stored as a token by stores that index
	// prefixes (SearchTokens); a longer query word is matched on its first MaxTokenPrefix
	// characters and then checked against the text (MatchesWords).
	MaxTokenPrefix = 16
)

// SearchQuery is what a MessageSearch is asked.
type SearchQuery struct {
	// Words are normalised query words (SearchWords): a message matches when each is a
	// prefix of one of its tokens.
	Words []string
	// RoomIDs are the rooms searched; none means no result.
	RoomIDs []string
	// BeforeID, when set, asks for the messages older than that message (in the order
	// the implementation returns them). An unknown one may give ErrNotFound.
	BeforeID string
	// Limit is the largest page.
	Limit int
}

// DefaultSearchPage is the page of a search that sets no limit.
const DefaultSearchPage = 20

// PageSize is q.Limit, or DefaultSearchPage when unset.
func (q SearchQuery) PageSize() int {
	if q.Limit <= 0 {
		return DefaultSearchPage
	}
	return q.Limit
}

// MatchesNothing reports whether q cannot find anything: no words, or no rooms.
func (q SearchQuery) MatchesNothing() bool { return len(q.Words) == 0 || len(q.RoomIDs) == 0 }

// MessageSearch finds messages of some rooms whose text matches every word of a query,
// newest first, deleted ones never. Each store implements it over its own index (SQLite
// FTS5, a MongoDB token field), and an external engine can implement it too; it passes
// chattest.TestMessageSearch. The index follows the messages: a new message is found, an
// edited one by its new text only, a deleted one no more.
type MessageSearch interface {
	SearchMessages(ctx context.Context, q SearchQuery) (msgs []Message, more bool, err error)
}

// SetMessageSearch replaces the search of messages; NewService uses the store's when it
// has one.
func (s *Service) SetMessageSearch(ms MessageSearch) { s.search = ms }

// SearchInput is GET /search/messages' query.
type SearchInput struct {
	Q        string
	RoomID   string
	BeforeID string
	Limit    int
}

// SearchMessages finds the messages of the caller's rooms (or of in.RoomID, which the
// caller must be a member of) that match every word of in.Q, newest first.
func (s *Service) SearchMessages(ctx context.Context, callerID string, in SearchInput) ([]Message, bool, error) {
	if s.search == nil {
		return nil, false, Errorf(Unavailable, "search_unavailable", "this server has no message search")
	}
	if len(in.Q) > MaxSearchQueryBytes || !utf8.ValidString(in.Q) {
		return nil, false, Errorf(Invalid, "bad_request", "q is valid UTF-8 of at most 500 bytes")
	}
	words := SearchWords(in.Q)
	if len(words) == 0 {
		return nil, false, Errorf(Invalid, "bad_request", "q needs at least one word")
	}
	if len(words) > MaxSearchWords {
		return nil, false, Errorf(Invalid, "bad_request", "q has at most 10 words")
	}
	if in.Limit < 0 {
		return nil, false, Errorf(Invalid, "bad_request", "limit is not negative")
	}
	limit := clamp(in.Limit, DefaultSearchPage, MaxSearchPage) // above the page: taken as the page
	var rooms []string
	if in.RoomID != "" {
		if err := s.may(ctx, in.RoomID, callerID, mayRead); err != nil {
			return nil, false, err
		}
		rooms = []string{in.RoomID}
	} else {
		ids, err := s.rooms.UserRoomIDs(ctx, callerID)
		if err != nil {
			return nil, false, err
		}
		rooms = ids
	}
	if len(rooms) == 0 {
		return nil, false, nil
	}
	msgs, more, err := s.search.SearchMessages(ctx, SearchQuery{Words: words, RoomIDs: rooms, BeforeID: in.BeforeID, Limit: limit})
	if IsNotFound(err) && in.BeforeID != "" {
		return nil, false, Errorf(Invalid, "bad_request", "beforeId is not a message")
	}
	if err != nil {
		return nil, false, err
	}
	// Unread counts and media URLs as a history page has them (finish), one room at a time.
	byRoom := map[string][]int{}
	for i, m := range msgs {
		byRoom[m.RoomID] = append(byRoom[m.RoomID], i)
	}
	for roomID, idx := range byRoom {
		page := make([]Message, len(idx))
		for j, i := range idx {
			page[j] = msgs[i]
		}
		if err := s.finish(ctx, roomID, page); err != nil {
			return nil, false, err
		}
		for j, i := range idx {
			msgs[i] = page[j]
		}
	}
	return msgs, more, nil
}

// foldDiacritics takes accents off Latin, Greek and Cyrillic letters (é → e), as FTS5's
// remove_diacritics does, and keeps the marks of other scripts, which are part of their
// letters (Devanagari's vowel signs); Hangul decomposes into jamo, not marks, and
// composes back as it was.
func foldDiacritics(w string) string {
	d := norm.NFD.String(w)
	var b strings.Builder
	b.Grow(len(d))
	accented := false // the last letter kept takes accents off its marks
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) {
			if accented {
				continue
			}
		} else {
			accented = unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// isTokenRune reports whether r belongs to a token: letters, digits, marks and private-use
// characters (SQLite FTS5's unicode61 categories "L* N* Co M*").
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) || unicode.Is(unicode.Co, r)
}

// SearchWords splits text into its normalised tokens, in order, duplicates kept.
func SearchWords(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !isTokenRune(r) }) {
		if n := normaliseWord(w); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func normaliseWord(w string) string {
	return foldDiacritics(strings.ToLower(w))
}

// SearchTokens returns the distinct prefixes (1 to MaxTokenPrefix characters) of text's
// tokens: what a store that matches words by equality stores, so that a query word, cut
// to MaxTokenPrefix characters, is one of them when it starts a token.
func SearchTokens(text string) []string {
	seen := map[string]struct{}{}
	var out []string
	for _, w := range SearchWords(text) {
		n := 0
		for i := range w {
			if n == MaxTokenPrefix {
				break
			}
			n++
			_, size := utf8.DecodeRuneInString(w[i:])
			p := w[:i+size]
			if _, ok := seen[p]; !ok {
				seen[p] = struct{}{}
				out = append(out, p)
			}
		}
	}
	return out
}

// TokenPrefix cuts a query word to the prefix SearchTokens stores.
func TokenPrefix(w string) string {
	n := 0
	for i := range w {
		if n == MaxTokenPrefix {
			return w[:i]
		}
		n++
	}
	return w
}

// MatchesWords reports whether each of words (normalised) starts a token of text.
func MatchesWords(text string, words []string) bool {
	tokens := SearchWords(text)
	for _, w := range words {
		found := false
		for _, t := range tokens {
			if strings.HasPrefix(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
