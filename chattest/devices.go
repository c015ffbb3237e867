package chattest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestPushStore runs the contracts of chat.DeviceStore and chat.NotificationLog, as
// documented in chat/device.go. newStore returns a fresh, empty store as both a chat.Store
// (to create the users and rooms the devices belong to) and a chat.PushStore, and
// registers its own cleanup on t.
func TestPushStore(t *testing.T, newStore func(t *testing.T) (chat.Store, chat.PushStore)) {
	t.Run("Devices", func(t *testing.T) {
		TestDeviceStore(t, func(t *testing.T) (chat.Store, chat.DeviceStore) { return newStore(t) })
	})
	t.Run("Notifications", func(t *testing.T) {
		TestNotificationLog(t, func(t *testing.T) (chat.Store, chat.NotificationLog) { return newStore(t) })
	})
}

// TestDeviceStore runs the contract of chat.DeviceStore.
func TestDeviceStore(t *testing.T, newStore func(t *testing.T) (chat.Store, chat.DeviceStore)) {
	runPairCases(t, newStore, []pairCase[chat.DeviceStore]{
		{"RegisterAndList", testRegisterDevices},
		{"ReRegisterIsNotNew", testReRegisterDevice},
		{"TokenMovesToNewUser", testDeviceMoves},
		{"DeleteOwnOnly", testDeleteDevice},
		{"DeleteToken", testDeleteToken},
		{"ConcurrentRegister", testConcurrentRegister},
		{"MemberDevices", testMemberDevices},
	})
}

// TestNotificationLog runs the contract of chat.NotificationLog.
func TestNotificationLog(t *testing.T, newStore func(t *testing.T) (chat.Store, chat.NotificationLog)) {
	runPairCases(t, newStore, []pairCase[chat.NotificationLog]{
		{"OnePerMessageAndToken", testNotificationUnique},
		{"PagesNewestFirst", testNotificationPages},
		{"RoundTrip", testNotificationRoundTrip},
		{"EraseOneUser", testNotificationErase},
	})
}

// testNotificationErase: a log that can erase a user's history (chat.NotificationEraser,
// which erasure uses) erases theirs and nobody else's.
func testNotificationErase(t *testing.T, s chat.Store, d chat.NotificationLog) {
	e, ok := d.(chat.NotificationEraser)
	if !ok {
		t.Skipf("%T cannot erase a user's push history", d)
	}
	ann, bob := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	addNotification(t, d, notification(ann, "t1", "m1", 1, storeAt(0)))
	addNotification(t, d, notification(ann, "t1", "m2", 2, storeAt(1)))
	addNotification(t, d, notification(bob, "t2", "m1", 1, storeAt(0)))
	if err := e.DeleteUserNotifications(t.Context(), ann.ID); err != nil {
		t.Fatal(err)
	}
	if got, _, err := d.Notifications(t.Context(), ann.ID, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("ann's history after erasing it = %d entries, %v; want none", len(got), err)
	}
	if got, _, err := d.Notifications(t.Context(), bob.ID, "", 10); err != nil || len(got) != 1 {
		t.Fatalf("bob's history = %d entries, %v; want 1", len(got), err)
	}
}

// pairCase is one behaviour of a suite of an interface S that needs a chat.Store beside it
// (to create the users and rooms S's records belong to).
type pairCase[S any] struct {
	name string
	run  func(t *testing.T, s chat.Store, x S)
}

func runPairCases[S any](t *testing.T, newStore func(t *testing.T) (chat.Store, S), cases []pairCase[S]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, x := newStore(t)
			tc.run(t, s, x)
		})
	}
}

func register(tb testing.TB, d chat.DeviceStore, user chat.User, platform, token string) bool {
	tb.Helper()
	created, err := d.RegisterDevice(tb.Context(), chat.Device{Token: token, UserID: user.ID, Platform: platform, CreatedAt: chat.At(storeEpoch)})
	if err != nil {
		tb.Fatalf("RegisterDevice(%s, %s): %v", user.Username, token, err)
	}
	return created
}

func devicesOf(tb testing.TB, d chat.DeviceStore, users ...chat.User) map[string]chat.Device {
	tb.Helper()
	ds, err := d.Devices(tb.Context(), userIDs(users))
	if err != nil {
		tb.Fatalf("Devices: %v", err)
	}
	out := map[string]chat.Device{}
	for _, dev := range ds {
		if _, dup := out[dev.Token]; dup {
			tb.Errorf("Devices lists token %s twice", dev.Token)
		}
		out[dev.Token] = dev
	}
	return out
}

func tokens(m map[string]chat.Device) []string {
	out := []string{}
	for t := range m {
		out = append(out, t)
	}
	return out
}

func testRegisterDevices(t *testing.T, s chat.Store, d chat.DeviceStore) {
	us := storeUsers(t, s, 3)
	if !register(t, d, us[0], chat.PlatformAndroid, "a1") || !register(t, d, us[0], chat.PlatformWeb, "a2") ||
		!register(t, d, us[1], chat.PlatformIOS, "b1") {
		t.Fatal("a new token was not reported created")
	}
	got := devicesOf(t, d, us[0], us[1], us[2])
	sameIDs(t, "tokens", tokens(got), []string{"a1", "a2", "b1"})
	if b1 := got["b1"]; b1.UserID != us[1].ID || b1.Platform != chat.PlatformIOS || !b1.CreatedAt.Equal(storeEpoch) {
		t.Errorf("device b1 = %+v, want user %s, ios, created %v", b1, us[1].ID, storeEpoch)
	}
	sameIDs(t, "user 2's tokens", tokens(devicesOf(t, d, us[2])), nil)
	sameIDs(t, "no users' tokens", tokens(devicesOf(t, d)), nil)
}

func testReRegisterDevice(t *testing.T, s chat.Store, d chat.DeviceStore) {
	u := storeUser(t, s, "ann")
	register(t, d, u, chat.PlatformAndroid, "tok")
	if register(t, d, u, chat.PlatformWeb, "tok") {
		t.Error("registering one's own token again was reported created")
	}
	got := devicesOf(t, d, u)
	if len(got) != 1 || got["tok"].Platform != chat.PlatformWeb {
		t.Errorf("devices = %+v, want tok alone, platform updated to web", got)
	}
}

func testDeviceMoves(t *testing.T, s chat.Store, d chat.DeviceStore) {
	ann, bob := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	register(t, d, ann, chat.PlatformAndroid, "shared")
	if !register(t, d, bob, chat.PlatformAndroid, "shared") {
		t.Error("a token moved from another user was not reported created")
	}
	sameIDs(t, "ann's tokens", tokens(devicesOf(t, d, ann)), nil)
	got := devicesOf(t, d, bob)
	if got["shared"].UserID != bob.ID {
		t.Errorf("bob's devices = %+v, want the moved token", got)
	}
	wantNotFound(t, "ann deletes the moved token", d.DeleteDevice(t.Context(), ann.ID, "shared"))
}

func testDeleteDevice(t *testing.T, s chat.Store, d chat.DeviceStore) {
	ann, bob := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	register(t, d, ann, chat.PlatformIOS, "t1")
	wantNotFound(t, "bob deletes ann's token", d.DeleteDevice(t.Context(), bob.ID, "t1"))
	wantNotFound(t, "delete an unknown token", d.DeleteDevice(t.Context(), ann.ID, "nope"))
	if err := d.DeleteDevice(t.Context(), ann.ID, "t1"); err != nil {
		t.Fatalf("DeleteDevice: %v", err)
	}
	sameIDs(t, "ann's tokens", tokens(devicesOf(t, d, ann)), nil)
	wantNotFound(t, "delete twice", d.DeleteDevice(t.Context(), ann.ID, "t1"))
}

func testDeleteToken(t *testing.T, s chat.Store, d chat.DeviceStore) {
	ann := storeUser(t, s, "ann")
	register(t, d, ann, chat.PlatformAndroid, "t1")
	register(t, d, ann, chat.PlatformAndroid, "t2")
	if err := d.DeleteToken(t.Context(), "t1"); err != nil {
		t.Fatalf("DeleteToken: %v", err)
	}
	if err := d.DeleteToken(t.Context(), "never-stored"); err != nil {
		t.Errorf("DeleteToken of an unknown token: %v, want nil", err)
	}
	sameIDs(t, "ann's tokens", tokens(devicesOf(t, d, ann)), []string{"t2"})
}

// testConcurrentRegister registers one token from many users at once: it ends up with
// exactly one of them.
func testConcurrentRegister(t *testing.T, s chat.Store, d chat.DeviceStore) {
	us := storeUsers(t, s, 8)
	var wg sync.WaitGroup
	for _, u := range us {
		wg.Go(func() {
			if _, err := d.RegisterDevice(t.Context(), chat.Device{Token: "contested", UserID: u.ID, Platform: chat.PlatformWeb, CreatedAt: chat.At(storeEpoch)}); err != nil {
				t.Errorf("RegisterDevice: %v", err)
			}
		})
	}
	wg.Wait()
	if got := devicesOf(t, d, us...); len(got) != 1 {
		t.Errorf("devices = %+v, want the one token", got)
	}
}

func notification(u chat.User, token, messageID string, seq int64, at time.Time) chat.Notification {
	return chat.Notification{
		ID: chat.NewID(), UserID: u.ID, Token: token, MessageID: messageID, RoomID: "room-1", Seq: seq,
		Platform: chat.PlatformAndroid, Status: chat.NotificationSent, Title: "Room", Body: "Ann: hi",
		CreatedAt: chat.At(at),
	}
}

func addNotification(tb testing.TB, d chat.NotificationLog, n chat.Notification) {
	tb.Helper()
	if err := d.AddNotification(tb.Context(), n); err != nil {
		tb.Fatalf("AddNotification: %v", err)
	}
}

func testNotificationUnique(t *testing.T, s chat.Store, d chat.NotificationLog) {
	ann := storeUser(t, s, "ann")
	addNotification(t, d, notification(ann, "t1", "m1", 1, storeAt(0)))
	addNotification(t, d, notification(ann, "t2", "m1", 1, storeAt(0)))
	addNotification(t, d, notification(ann, "t1", "m2", 2, storeAt(1)))
	wantConflict(t, "a second entry for m1 and t1", d.AddNotification(t.Context(), notification(ann, "t1", "m1", 1, storeAt(2))))
	got, err := d.NotifiedTokens(t.Context(), "m1")
	if err != nil {
		t.Fatalf("NotifiedTokens: %v", err)
	}
	sameIDs(t, "tokens notified of m1", got, []string{"t1", "t2"})
	if got, err := d.NotifiedTokens(t.Context(), "m9"); err != nil || len(got) != 0 {
		t.Errorf("NotifiedTokens(unknown message) = %v, %v; want none", got, err)
	}
}

func testNotificationPages(t *testing.T, s chat.Store, d chat.NotificationLog) {
	ann, bob := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	var ids []string // oldest first
	for i := range 7 {
		n := notification(ann, "t", fmt.Sprint("m", i), int64(i+1), storeAt(i))
		addNotification(t, d, n)
		ids = append(ids, n.ID)
		addNotification(t, d, notification(bob, "u", fmt.Sprint("m", i), int64(i+1), storeAt(i)))
	}
	var got []string
	before := ""
	for page := 0; ; page++ {
		ns, more, err := d.Notifications(t.Context(), ann.ID, before, 3)
		if err != nil {
			t.Fatalf("Notifications: %v", err)
		}
		for _, n := range ns {
			if n.UserID != ann.ID {
				t.Errorf("ann's page holds %s's entry", n.UserID)
			}
			got = append(got, n.ID)
		}
		if want := page < 2; more != want {
			t.Errorf("page %d: hasMore = %v, want %v", page, more, want)
		}
		if !more {
			break
		}
		before = ns[len(ns)-1].ID
	}
	want := make([]string, len(ids))
	for i, id := range ids {
		want[len(ids)-1-i] = id
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages = %v, want %v (newest first)", got, want)
	}
}

func testNotificationRoundTrip(t *testing.T, s chat.Store, d chat.NotificationLog) {
	ann := storeUser(t, s, "ann")
	n := notification(ann, "t", "m1", 42, storeEpoch.Add(1234567*time.Microsecond))
	n.Status, n.Error, n.Platform = chat.NotificationFailed, "invalid_argument: bad token", chat.PlatformIOS
	addNotification(t, d, n)
	ns, more, err := d.Notifications(t.Context(), ann.ID, "", 10)
	if err != nil || more || len(ns) != 1 {
		t.Fatalf("Notifications = %v, %v, %v; want the one entry", ns, more, err)
	}
	if !ns[0].CreatedAt.Equal(n.CreatedAt.Time) {
		t.Errorf("createdAt = %v, want %v", ns[0].CreatedAt, n.CreatedAt)
	}
	ns[0].CreatedAt = n.CreatedAt
	if !reflect.DeepEqual(ns[0], n) {
		t.Errorf("entry = %+v, want %+v", ns[0], n)
	}
}

// testMemberDevices: a room's members' devices with their memberships; members without a
// device and devices of non-members are not listed.
func testMemberDevices(t *testing.T, s chat.Store, d chat.DeviceStore) {
	ann, bob, cat, dan := storeUser(t, s, "ann"), storeUser(t, s, "bob"), storeUser(t, s, "cat"), storeUser(t, s, "dan")
	r := storeRoom(t, s, storeEpoch, ann, bob, cat)
	register(t, d, ann, "android", "a1")
	register(t, d, ann, "ios", "a2")
	register(t, d, bob, "web", "b1")
	register(t, d, dan, "android", "d1") // not a member
	if err := s.SetMuted(t.Context(), r.ID, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	got, err := d.MemberDevices(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	byToken := map[string]chat.MemberDevice{}
	for _, md := range got {
		byToken[md.Device.Token] = md
	}
	if len(got) != 3 || len(byToken) != 3 {
		t.Fatalf("MemberDevices = %+v; want a1, a2, b1", got)
	}
	for tok, want := range map[string]string{"a1": ann.ID, "a2": ann.ID, "b1": bob.ID} {
		md, ok := byToken[tok]
		if !ok || md.Member.UserID != want || md.Device.UserID != want {
			t.Fatalf("MemberDevices[%s] = %+v; want %s's", tok, md, want)
		}
	}
	if !byToken["b1"].Member.Muted || byToken["a1"].Member.Muted || byToken["a2"].Device.Platform != "ios" {
		t.Fatalf("MemberDevices lost the membership or the device: %+v", got)
	}
	if got, err := d.MemberDevices(t.Context(), chat.NewID()); err != nil || len(got) != 0 {
		t.Fatalf("MemberDevices(unknown room) = %v, %v; want none", got, err)
	}
}
