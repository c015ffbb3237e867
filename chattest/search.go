package chattest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestMessageSearch runs the contract of chat.MessageSearch against stores that implement
// it over their own messages (the embedded SQLite FTS5 index, the MongoDB token field).
func TestMessageSearch(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"WordPrefixes", testSearchPrefixes},
		{"EveryWord", testSearchEveryWord},
		{"OnlyTheRoomsAsked", testSearchRooms},
		{"NewestFirstInPages", testSearchPages},
		{"EditsAndDeletes", testSearchEditsDeletes},
		{"LongWords", testSearchLongWords},
		{"UnknownBefore", testSearchUnknownBefore},
	})
}

func searcher(tb testing.TB, s chat.Store) chat.MessageSearch {
	tb.Helper()
	ms, ok := s.(chat.MessageSearch)
	if !ok {
		tb.Fatalf("%T does not implement chat.MessageSearch", s)
	}
	return ms
}

// searchTexts runs a search for q and returns the texts found, in order.
func searchTexts(tb testing.TB, s chat.Store, q string, rooms ...string) []string {
	tb.Helper()
	msgs, _, err := searcher(tb, s).SearchMessages(tb.Context(), chat.SearchQuery{Words: chat.SearchWords(q), RoomIDs: rooms, Limit: 50})
	if err != nil {
		tb.Fatalf("SearchMessages(%q): %v", q, err)
	}
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

func wantTexts(tb testing.TB, what string, got []string, want ...string) {
	tb.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		tb.Fatalf("%s: found %q, want %q", what, got, want)
	}
}

func testSearchPrefixes(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	storeSend(t, s, r.ID, a, "서울에서 만나요", storeAt(1))
	storeSend(t, s, r.ID, b, "Café au lait, s'il vous plaît!", storeAt(2))
	storeSend(t, s, r.ID, a, "부산 가는 KTX 2시 출발", storeAt(3))

	wantTexts(t, "서울 (a Korean word's stem, two characters)", searchTexts(t, s, "서울", r.ID), "서울에서 만나요")
	wantTexts(t, "만나", searchTexts(t, s, "만나", r.ID), "서울에서 만나요")
	wantTexts(t, "울 (inside a word, not its start)", searchTexts(t, s, "울", r.ID))
	wantTexts(t, "CAFE (case and accents)", searchTexts(t, s, "CAFE", r.ID), "Café au lait, s'il vous plaît!")
	wantTexts(t, "plait", searchTexts(t, s, "plait", r.ID), "Café au lait, s'il vous plaît!")
	wantTexts(t, "ktx", searchTexts(t, s, "ktx", r.ID), "부산 가는 KTX 2시 출발")
	wantTexts(t, "2시", searchTexts(t, s, "2시", r.ID), "부산 가는 KTX 2시 출발")
	wantTexts(t, "xyz", searchTexts(t, s, "xyz", r.ID))
}

func testSearchEveryWord(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	storeSend(t, s, r.ID, a, "lunch at the cafe", storeAt(1))
	storeSend(t, s, r.ID, b, "dinner at the cafe", storeAt(2))
	storeSend(t, s, r.ID, a, "lunch at home", storeAt(3))
	wantTexts(t, "lun caf", searchTexts(t, s, "lun caf", r.ID), "lunch at the cafe")
	wantTexts(t, "cafe (newest first)", searchTexts(t, s, "cafe", r.ID), "dinner at the cafe", "lunch at the cafe")
	wantTexts(t, "lunch dinner", searchTexts(t, s, "lunch dinner", r.ID))
}

func testSearchRooms(t *testing.T, s chat.Store) {
	a, b, c := storeUser(t, s, "ann"), storeUser(t, s, "bob"), storeUser(t, s, "cat")
	ab := storeRoom(t, s, storeEpoch, a, b)
	bc := storeRoom(t, s, storeEpoch, b, c)
	other := storeRoom(t, s, storeEpoch, a, c)
	storeSend(t, s, ab.ID, a, "meeting in ab", storeAt(1))
	storeSend(t, s, bc.ID, b, "meeting in bc", storeAt(2))
	storeSend(t, s, other.ID, c, "meeting in other", storeAt(3))
	wantTexts(t, "rooms ab and bc", searchTexts(t, s, "meeting", ab.ID, bc.ID), "meeting in bc", "meeting in ab")
	wantTexts(t, "room bc", searchTexts(t, s, "meeting", bc.ID), "meeting in bc")
	wantTexts(t, "no rooms", searchTexts(t, s, "meeting"))
	// A room id that is itself a word of some text does not widen the search.
	storeSend(t, s, ab.ID, a, "meeting "+other.ID, storeAt(4))
	wantTexts(t, "a room id in a text", searchTexts(t, s, "meeting", bc.ID), "meeting in bc")
}

func testSearchPages(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	for i := 1; i <= 5; i++ {
		storeSend(t, s, r.ID, a, fmt.Sprintf("report %d", i), storeAt(2*i))
		storeSend(t, s, r.ID, b, fmt.Sprintf("noise %d", i), storeAt(2*i+1))
	}
	ms := searcher(t, s)
	var got []string
	before := ""
	for page := 0; page < 5; page++ {
		msgs, more, err := ms.SearchMessages(t.Context(), chat.SearchQuery{Words: []string{"rep"}, RoomIDs: []string{r.ID}, BeforeID: before, Limit: 2})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if len(msgs) > 2 {
			t.Fatalf("page %d has %d messages, limit 2", page, len(msgs))
		}
		for _, m := range msgs {
			got = append(got, m.Text)
			if m.RoomID != r.ID || m.SenderID != a.ID || m.Seq == 0 || m.ID == "" {
				t.Fatalf("found message %+v: want it whole", m)
			}
		}
		if !more {
			break
		}
		before = msgs[len(msgs)-1].ID
	}
	wantTexts(t, "pages of 2", got, "report 5", "report 4", "report 3", "report 2", "report 1")
}

func testSearchEditsDeletes(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "see you tomorow", storeAt(1))
	gone := storeSend(t, s, r.ID, b, "tomorrow then", storeAt(2))
	change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m.ID, Text: "see you tomorrow", At: storeAt(3)})
	wantTexts(t, "tomorow after the edit", searchTexts(t, s, "tomorow", r.ID))
	wantTexts(t, "tomorrow after the edit", searchTexts(t, s, "tomorrow", r.ID), "tomorrow then", "see you tomorrow")
	change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "👍"})
	wantTexts(t, "after a reaction", searchTexts(t, s, "tomorrow", r.ID), "tomorrow then", "see you tomorrow")
	change(t, s, chat.Change{Kind: chat.ChangeDelete, RoomID: r.ID, MessageID: gone.ID, At: storeAt(4)})
	wantTexts(t, "after the delete", searchTexts(t, s, "tomorrow", r.ID), "see you tomorrow")
}

func testSearchLongWords(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	storeSend(t, s, r.ID, a, "internationalization matters", storeAt(1))
	storeSend(t, s, r.ID, b, "internationalizers unite", storeAt(2))
	wantTexts(t, "internationali", searchTexts(t, s, "internationali", r.ID), "internationalizers unite", "internationalization matters")
	wantTexts(t, "internationalizat (past the longest stored prefix)", searchTexts(t, s, "internationalizat", r.ID), "internationalization matters")
	wantTexts(t, "internationalizationism", searchTexts(t, s, "internationalizationism", r.ID))
}

func testSearchUnknownBefore(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	storeSend(t, s, r.ID, a, "hello", storeAt(1))
	_, _, err := searcher(t, s).SearchMessages(t.Context(), chat.SearchQuery{Words: []string{"hello"}, RoomIDs: []string{r.ID}, BeforeID: chat.NewID(), Limit: 5})
	wantNotFound(t, "search before an unknown message", err)
}
