package chattest

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestTokenStore runs the contract of chat.TokenStore.
func TestTokenStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"ConsumeOnce", testTokenConsumeOnce},
		{"RevokeFamily", testTokenRevokeFamily},
		{"Unknown", testTokenUnknown},
		{"ConcurrentConsume", testTokenConcurrentConsume},
		{"LookUp", testTokenLookUp},
		{"Successor", testTokenSuccessor},
		{"SuccessorAfterRevoke", testTokenSuccessorAfterRevoke},
		{"ClaimGraceOnce", testTokenClaimGrace},
		{"ConcurrentClaimGrace", testTokenConcurrentClaimGrace},
		{"DropSuccessors", testTokenDropSuccessors},
		{"RevokeUserTokens", testTokenRevokeUser},
		{"Families", testTokenFamilies},
		{"Prune", testTokenPrune},
	})
}

// TestRevocationStore runs the contract of chat.RevocationStore.
func TestRevocationStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"AddAndList", testRevocationsAddAndList},
		{"LaterExpiryWins", testRevocationsLaterExpiry},
		{"Prune", testRevocationsPrune},
	})
}

func storeToken(tb testing.TB, s chat.Store, user chat.User, family string) chat.RefreshToken {
	tb.Helper()
	return storeTokenAt(tb, s, user, family, storeEpoch, storeEpoch.Add(30*24*time.Hour))
}

func storeTokenAt(tb testing.TB, s chat.Store, user chat.User, family string, created, expires time.Time) chat.RefreshToken {
	tb.Helper()
	tok := chat.RefreshToken{
		Hash: "hash-" + chat.NewID(), UserID: user.ID, FamilyID: family,
		CreatedAt: created, ExpiresAt: expires,
	}
	if err := s.CreateRefreshToken(tb.Context(), tok); err != nil {
		tb.Fatalf("CreateRefreshToken: %v", err)
	}
	return tok
}

func sameToken(tb testing.TB, what string, got, want chat.RefreshToken) {
	tb.Helper()
	if got.Hash != want.Hash || got.UserID != want.UserID || got.FamilyID != want.FamilyID ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Revoked != want.Revoked ||
		!got.UsedAt.Equal(want.UsedAt) || !bytes.Equal(got.Successor, want.Successor) || got.GraceUsed != want.GraceUsed {
		tb.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// consume consumes a token at storeAt(1) and fails the test unless it was its first use.
func consume(tb testing.TB, s chat.Store, tok chat.RefreshToken) {
	tb.Helper()
	if _, first, err := s.ConsumeRefreshToken(tb.Context(), tok.Hash, storeAt(1)); err != nil || !first {
		tb.Fatalf("ConsumeRefreshToken = firstUse %v, %v; want true, nil", first, err)
	}
}

func testTokenConsumeOnce(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "erin")
	tok := storeToken(t, s, u, "fam1")

	got, first, err := s.ConsumeRefreshToken(ctx, tok.Hash, storeAt(1))
	if err != nil || !first {
		t.Fatalf("first ConsumeRefreshToken = firstUse %v, %v; want true, nil", first, err)
	}
	sameToken(t, "first consume (the token before it)", got, tok)

	// A repeat reads the token as the first use left it: used at that time, not later.
	got, first, err = s.ConsumeRefreshToken(ctx, tok.Hash, storeAt(2))
	if err != nil || first {
		t.Fatalf("second ConsumeRefreshToken = firstUse %v, %v; want false, nil", first, err)
	}
	used := tok
	used.UsedAt = storeAt(1)
	sameToken(t, "second consume", got, used)
}

func testTokenRevokeFamily(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "frank")
	used := storeToken(t, s, u, "famA")
	fresh := storeToken(t, s, u, "famA")
	other := storeToken(t, s, u, "famB")
	consume(t, s, used)
	if err := s.RevokeTokenFamily(ctx, "famA"); err != nil {
		t.Fatalf("RevokeTokenFamily: %v", err)
	}

	got, first, err := s.ConsumeRefreshToken(ctx, fresh.Hash, storeAt(2))
	if err != nil || !first || !got.Revoked {
		t.Errorf("consume unused revoked token = firstUse %v, Revoked %v, %v; want true, true, nil", first, got.Revoked, err)
	}
	got, first, err = s.ConsumeRefreshToken(ctx, used.Hash, storeAt(2))
	if err != nil || first || !got.Revoked {
		t.Errorf("consume used revoked token = firstUse %v, Revoked %v, %v; want false, true, nil", first, got.Revoked, err)
	}
	got, first, err = s.ConsumeRefreshToken(ctx, other.Hash, storeAt(2))
	if err != nil || !first || got.Revoked {
		t.Errorf("consume token of another family = firstUse %v, Revoked %v, %v; want true, false, nil", first, got.Revoked, err)
	}

	if err := s.RevokeTokenFamily(ctx, "no-such-family"); err != nil {
		t.Errorf("RevokeTokenFamily(unknown) = %v, want nil", err)
	}
}

func testTokenUnknown(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "gina")
	storeToken(t, s, u, "fam")
	_, _, err := s.ConsumeRefreshToken(ctx, "no-such-hash", storeAt(1))
	wantNotFound(t, "ConsumeRefreshToken(unknown)", err)
	_, err = s.RefreshToken(ctx, "no-such-hash")
	wantNotFound(t, "RefreshToken(unknown)", err)
	_, err = s.SetSuccessor(ctx, "no-such-hash", []byte("sealed"))
	wantNotFound(t, "SetSuccessor(unknown)", err)
	_, _, err = s.ClaimGrace(ctx, "no-such-hash")
	wantNotFound(t, "ClaimGrace(unknown)", err)
}

func testTokenConcurrentConsume(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "hank"), "fam")
	const n = 10
	firsts := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, first, err := s.ConsumeRefreshToken(ctx, tok.Hash, storeAt(1))
			if err != nil {
				t.Errorf("ConsumeRefreshToken: %v", err)
			}
			firsts[i] = first
		})
	}
	wg.Wait()
	if got := countTrue(firsts); got != 1 {
		t.Errorf("%d of %d concurrent consumes saw a first use, want exactly 1", got, n)
	}
}

func testTokenLookUp(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "ivy"), "fam")
	got, err := s.RefreshToken(ctx, tok.Hash)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	sameToken(t, "RefreshToken", got, tok)

	// Looking up does not use the token.
	consume(t, s, tok)
	got, err = s.RefreshToken(ctx, tok.Hash)
	if err != nil || !got.UsedAt.Equal(storeAt(1)) {
		t.Errorf("RefreshToken after use = UsedAt %v, %v; want %v", got.UsedAt, err, storeAt(1))
	}
}

func testTokenSuccessor(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "jack"), "fam")
	consume(t, s, tok)
	sealed := []byte{0, 1, 2, 0xff, 'x'}
	revoked, err := s.SetSuccessor(ctx, tok.Hash, sealed)
	if err != nil || revoked {
		t.Fatalf("SetSuccessor = revoked %v, %v; want false, nil", revoked, err)
	}
	got, first, err := s.ConsumeRefreshToken(ctx, tok.Hash, storeAt(2))
	if err != nil || first || !bytes.Equal(got.Successor, sealed) || got.GraceUsed {
		t.Errorf("repeat = firstUse %v, Successor %v, GraceUsed %v, %v; want false, %v, false, nil",
			first, got.Successor, got.GraceUsed, err, sealed)
	}
}

// testTokenSuccessorAfterRevoke: a refresh that records its successor after the family was
// revoked learns of the revocation from the same call.
func testTokenSuccessorAfterRevoke(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "kate")
	byFamily := storeToken(t, s, u, "famA")
	byUser := storeToken(t, s, u, "famB")
	consume(t, s, byFamily)
	consume(t, s, byUser)
	if err := s.RevokeTokenFamily(ctx, "famA"); err != nil {
		t.Fatalf("RevokeTokenFamily: %v", err)
	}
	if revoked, err := s.SetSuccessor(ctx, byFamily.Hash, []byte("s")); err != nil || !revoked {
		t.Errorf("SetSuccessor after RevokeTokenFamily = revoked %v, %v; want true, nil", revoked, err)
	}
	if revoked, err := s.SetSuccessor(ctx, byUser.Hash, []byte("s")); err != nil || revoked {
		t.Errorf("SetSuccessor of another family = revoked %v, %v; want false, nil", revoked, err)
	}
	if err := s.RevokeUserTokens(ctx, u.ID); err != nil {
		t.Fatalf("RevokeUserTokens: %v", err)
	}
	if revoked, err := s.SetSuccessor(ctx, byUser.Hash, []byte("s")); err != nil || !revoked {
		t.Errorf("SetSuccessor after RevokeUserTokens = revoked %v, %v; want true, nil", revoked, err)
	}
}

func testTokenClaimGrace(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "liam"), "fam")
	consume(t, s, tok)

	// Before the successor is recorded there is nothing to claim, and nothing changes.
	got, claimed, err := s.ClaimGrace(ctx, tok.Hash)
	if err != nil || claimed || got.GraceUsed || len(got.Successor) != 0 {
		t.Fatalf("ClaimGrace before SetSuccessor = claimed %v, GraceUsed %v, Successor %v, %v; want false, false, none, nil",
			claimed, got.GraceUsed, got.Successor, err)
	}
	sealed := []byte("sealed pair")
	if _, err := s.SetSuccessor(ctx, tok.Hash, sealed); err != nil {
		t.Fatalf("SetSuccessor: %v", err)
	}
	got, claimed, err = s.ClaimGrace(ctx, tok.Hash)
	if err != nil || !claimed || !bytes.Equal(got.Successor, sealed) {
		t.Fatalf("first ClaimGrace = claimed %v, Successor %q, %v; want true, %q, nil", claimed, got.Successor, err, sealed)
	}
	got, claimed, err = s.ClaimGrace(ctx, tok.Hash)
	if err != nil || claimed || !got.GraceUsed {
		t.Errorf("second ClaimGrace = claimed %v, GraceUsed %v, %v; want false, true, nil", claimed, got.GraceUsed, err)
	}
	if len(got.Successor) != 0 {
		t.Errorf("the successor outlived its one claim: %q", got.Successor)
	}
}

func testTokenConcurrentClaimGrace(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "mona"), "fam")
	consume(t, s, tok)
	if _, err := s.SetSuccessor(ctx, tok.Hash, []byte("pair")); err != nil {
		t.Fatalf("SetSuccessor: %v", err)
	}
	const n = 10
	claims := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, claimed, err := s.ClaimGrace(ctx, tok.Hash)
			if err != nil {
				t.Errorf("ClaimGrace: %v", err)
			}
			claims[i] = claimed
		})
	}
	wg.Wait()
	if got := countTrue(claims); got != 1 {
		t.Errorf("%d of %d concurrent grace claims succeeded, want exactly 1", got, n)
	}
}

func testTokenDropSuccessors(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "moe")
	use := func(tok chat.RefreshToken, at time.Time, successor string) {
		t.Helper()
		if _, _, err := s.ConsumeRefreshToken(ctx, tok.Hash, at); err != nil {
			t.Fatalf("ConsumeRefreshToken: %v", err)
		}
		if successor != "" {
			if _, err := s.SetSuccessor(ctx, tok.Hash, []byte(successor)); err != nil {
				t.Fatalf("SetSuccessor: %v", err)
			}
		}
	}
	over, open := storeToken(t, s, u, "f"), storeToken(t, s, u, "f")
	none, unused := storeToken(t, s, u, "f"), storeToken(t, s, u, "f")
	use(over, storeAt(1), "over")
	use(open, storeAt(5), "open")
	use(none, storeAt(1), "")

	n, err := s.DropSuccessors(ctx, storeAt(3))
	if err != nil || n != 1 {
		t.Fatalf("DropSuccessors = %d, %v; want 1, nil", n, err)
	}
	if got, err := s.RefreshToken(ctx, over.Hash); err != nil || len(got.Successor) != 0 {
		t.Errorf("successor of a token used before the cut-off = %q, %v; want none", got.Successor, err)
	}
	if got, claimed, err := s.ClaimGrace(ctx, over.Hash); err != nil || claimed || got.GraceUsed {
		t.Errorf("ClaimGrace after the drop = claimed %v, GraceUsed %v, %v; want false, false, nil", claimed, got.GraceUsed, err)
	}
	if got, claimed, err := s.ClaimGrace(ctx, open.Hash); err != nil || !claimed || string(got.Successor) != "open" {
		t.Errorf("ClaimGrace of a token used after the cut-off = claimed %v, %q, %v; want true, open, nil", claimed, got.Successor, err)
	}
	for _, tok := range []chat.RefreshToken{none, unused} {
		if _, err := s.RefreshToken(ctx, tok.Hash); err != nil {
			t.Errorf("RefreshToken after DropSuccessors: %v", err)
		}
	}
}

func testTokenRevokeUser(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u, other := storeUser(t, s, "nick"), storeUser(t, s, "olga")
	a, b := storeToken(t, s, u, "famA"), storeToken(t, s, u, "famB")
	keep := storeToken(t, s, other, "famC")
	if err := s.RevokeUserTokens(ctx, u.ID); err != nil {
		t.Fatalf("RevokeUserTokens: %v", err)
	}
	for _, c := range []struct {
		name    string
		tok     chat.RefreshToken
		revoked bool
	}{{"first family", a, true}, {"second family", b, true}, {"another user's", keep, false}} {
		got, err := s.RefreshToken(ctx, c.tok.Hash)
		if err != nil || got.Revoked != c.revoked {
			t.Errorf("%s token: Revoked %v, %v; want %v", c.name, got.Revoked, err, c.revoked)
		}
	}
	if err := s.RevokeUserTokens(ctx, "no-such-user"); err != nil {
		t.Errorf("RevokeUserTokens(unknown) = %v, want nil", err)
	}
}

func testTokenFamilies(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u, other := storeUser(t, s, "pete"), storeUser(t, s, "quinn")
	exp := storeAt(60 * 24)
	storeTokenAt(t, s, u, "old", storeAt(0), exp)
	storeTokenAt(t, s, u, "recent", storeAt(0), exp)
	storeTokenAt(t, s, u, "recent", storeAt(10), exp) // a refresh of an old family
	storeTokenAt(t, s, u, "new", storeAt(20), exp)
	storeTokenAt(t, s, other, "theirs", storeAt(20), exp)

	got, err := s.TokenFamilies(ctx, u.ID, storeAt(10))
	if err != nil {
		t.Fatalf("TokenFamilies: %v", err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"new", "recent"}) {
		t.Errorf("TokenFamilies since minute 10 = %v, want [new recent] (each once)", got)
	}
	got, err = s.TokenFamilies(ctx, u.ID, storeAt(30))
	if err != nil || len(got) != 0 {
		t.Errorf("TokenFamilies since minute 30 = %v, %v; want none", got, err)
	}
}

func testTokenPrune(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "rita")
	expired := storeTokenAt(t, s, u, "f", storeAt(0), storeAt(10))
	usedExpired := storeTokenAt(t, s, u, "f", storeAt(0), storeAt(10))
	atCutoff := storeTokenAt(t, s, u, "f", storeAt(0), storeAt(20))
	live := storeTokenAt(t, s, u, "f", storeAt(0), storeAt(21))
	usedLive := storeTokenAt(t, s, u, "f", storeAt(0), storeAt(21))
	consume(t, s, usedExpired)
	consume(t, s, usedLive)

	n, err := s.PruneRefreshTokens(ctx, storeAt(20))
	if err != nil || n != 3 {
		t.Fatalf("PruneRefreshTokens = %d, %v; want 3, nil", n, err)
	}
	for _, tok := range []chat.RefreshToken{expired, usedExpired, atCutoff} {
		_, err := s.RefreshToken(ctx, tok.Hash)
		wantNotFound(t, "RefreshToken(pruned)", err)
	}
	// A used token is kept until it expires: its replay is what reveals a stolen copy.
	for _, tok := range []chat.RefreshToken{live, usedLive} {
		if _, err := s.RefreshToken(ctx, tok.Hash); err != nil {
			t.Errorf("RefreshToken(live) after pruning: %v", err)
		}
	}
	if n, err := s.PruneRefreshTokens(ctx, storeAt(20)); err != nil || n != 0 {
		t.Errorf("second PruneRefreshTokens = %d, %v; want 0, nil", n, err)
	}
}

func sameRevocations(tb testing.TB, what string, got, want []chat.Revocation) {
	tb.Helper()
	key := func(a, b chat.Revocation) int { return strings.Compare(a.SessionID, b.SessionID) }
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !slices.EqualFunc(got, want, func(a, b chat.Revocation) bool {
		return a.SessionID == b.SessionID && a.UserID == b.UserID && a.ExpiresAt.Equal(b.ExpiresAt)
	}) {
		tb.Errorf("%s = %+v, want %+v (any order)", what, got, want)
	}
}

func testRevocationsAddAndList(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a := chat.Revocation{SessionID: "s1", UserID: "u1", ExpiresAt: storeAt(15)}
	b := chat.Revocation{SessionID: "s2", UserID: "u1", ExpiresAt: storeAt(30)}
	if err := s.AddRevocations(ctx, []chat.Revocation{a, b}); err != nil {
		t.Fatalf("AddRevocations: %v", err)
	}
	if err := s.AddRevocations(ctx, nil); err != nil {
		t.Errorf("AddRevocations(none) = %v, want nil", err)
	}
	got, err := s.Revocations(ctx, storeAt(0))
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	sameRevocations(t, "Revocations at minute 0", got, []chat.Revocation{a, b})
	// A record is over at its expiry: every token it covers has expired by then.
	got, err = s.Revocations(ctx, storeAt(15))
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	sameRevocations(t, "Revocations at minute 15", got, []chat.Revocation{b})
}

func testRevocationsLaterExpiry(t *testing.T, s chat.Store) {
	ctx := t.Context()
	add := func(exp time.Time) {
		t.Helper()
		if err := s.AddRevocations(ctx, []chat.Revocation{{SessionID: "s", UserID: "u", ExpiresAt: exp}}); err != nil {
			t.Fatalf("AddRevocations: %v", err)
		}
	}
	add(storeAt(20))
	add(storeAt(10)) // an older revocation of the same session, arriving late
	got, err := s.Revocations(ctx, storeAt(0))
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	sameRevocations(t, "after an earlier expiry", got, []chat.Revocation{{SessionID: "s", UserID: "u", ExpiresAt: storeAt(20)}})
	add(storeAt(40))
	got, err = s.Revocations(ctx, storeAt(0))
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	sameRevocations(t, "after a later expiry", got, []chat.Revocation{{SessionID: "s", UserID: "u", ExpiresAt: storeAt(40)}})
}

func testRevocationsPrune(t *testing.T, s chat.Store) {
	ctx := t.Context()
	live := chat.Revocation{SessionID: "live", UserID: "u", ExpiresAt: storeAt(21)}
	err := s.AddRevocations(ctx, []chat.Revocation{
		{SessionID: "old", UserID: "u", ExpiresAt: storeAt(10)},
		{SessionID: "cutoff", UserID: "u", ExpiresAt: storeAt(20)},
		live,
	})
	if err != nil {
		t.Fatalf("AddRevocations: %v", err)
	}
	n, err := s.PruneRevocations(ctx, storeAt(20))
	if err != nil || n != 2 {
		t.Fatalf("PruneRevocations = %d, %v; want 2, nil", n, err)
	}
	got, err := s.Revocations(ctx, storeAt(0))
	if err != nil {
		t.Fatalf("Revocations: %v", err)
	}
	sameRevocations(t, "Revocations after pruning", got, []chat.Revocation{live})
}
