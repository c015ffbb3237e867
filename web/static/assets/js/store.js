// The client's state and its synchronisation with the server: rooms, users, presence,
// each room's messages, read cursors, typing, and the sender's pending messages. Message
// delivery follows docs/protocol.md "Ordering and delivery": per room, the seq up to which
// every message is here, gaps filled from history, duplicates dropped.
//
// Changes to messages (edits, deletes, reactions, pins) follow "Changes to messages (revs)":
// per message the state with the highest rev wins, and per room the rev up to which every
// change is here goes out in RESUME, so a tab that was away catches up.
//
// Views listen for: 'rooms' (list or a room changed), 'timeline' (detail: roomId),
// 'message' (detail: message, a new one), 'presence', 'users', 'typing' (detail: roomId),
// 'pins' (detail: roomId), 'blocks'.

import { describeError } from './api.js';

const TYPING_SHOW_MS = 5000;
const TYPING_SEND_EVERY_MS = 3000;
const SEND_RETRIES = 3;
// A room up to this size has every member's profile loaded; a larger one only those shown.
const SMALL_ROOM = 50;
// Profiles fetched at once.
const PROFILE_FETCHES = 8;
// Rooms one RESUME frame names: well inside the server's 64 KiB frame limit.
const RESUME_CHUNK = 500;
// ROOMS_PAGE is the room list's page size: the first page shows while the rest loads.
const ROOMS_PAGE = 200;
// DELIVERED goes out at most this often per room, and at most DELIVERED_PER_TICK rooms a
// tick: 8 frames a second, inside the server's DELIVERED rate (8/s, bursts of 16).
const DELIVERED_EVERY_MS = 500;
const DELIVERED_PER_TICK = 4;

// newClientMsgId works outside secure contexts too (crypto.randomUUID does not).
function newClientMsgId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return 'w-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Store extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.me = api.currentUser;
    this.rooms = new Map();
    this.users = new Map();
    this.loading = new Set(); // profiles being fetched
    this.presence = new Map();
    this.cursors = new Map(); // roomId → {last, ahead: Map seq → id}
    this.timelines = new Map(); // roomId → timeline (see timeline())
    this.typing = new Map(); // roomId → Map userId → expiry ms
    this.chains = new Map(); // roomId → promise: one room's messages are handled in order
    this.focused = null;
    this.lastTypingSent = 0;
    this.socket = null;
    this.revs = new Map(); // roomId → {last, ahead: Set of revs}: like cursors, for changes
    this.pins = new Map(); // roomId → pinned messages, most recently pinned first
    this.blocked = new Set(); // user ids the user blocks
    this.toDeliver = new Set(); // rooms whose DELIVERED is due
    this.delivered = new Map(); // roomId → the seq last sent in DELIVERED
    this.deliverTimer = 0;
    this.deliverAt = 0;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // load fetches the room list and who is in it; called at start and after reconnects
  // (events other than messages are not replayed, so state is fetched again). The list
  // comes a page at a time, newest first, each page shown as it arrives: a user in
  // thousands of rooms sees the newest at once.
  async load() {
    const seen = new Set();
    let cursor = null;
    do {
      const page = await this.api.rooms({ limit: ROOMS_PAGE, cursor });
      for (const r of page.rooms) {
        seen.add(r.id);
        this.rooms.set(r.id, r);
        if (!this.cursors.has(r.id)) this.cursors.set(r.id, { last: r.lastSeq, ahead: new Map() });
        // Messages held here are fetched after this answer: they are as new as lastRev.
        if (!this.revs.has(r.id)) this.revs.set(r.id, { last: r.lastRev || 0, ahead: new Set() });
      }
      this.emit('rooms');
      await this.loadPeople(page.rooms.flatMap((r) => this.peopleShown(r)));
      cursor = page.nextCursor;
    } while (cursor);
    for (const id of [...this.rooms.keys()]) if (!seen.has(id)) this.rooms.delete(id);
    this.emit('rooms');
    this.loadBlocks();
    // Messages that came while no tab was open have reached this device now: the list
    // shows them. (A room whose cursor was said already is not said again.)
    for (const r of this.rooms.values()) if (r.unreadCount > 0) this.deliveredSoon(r.id);
  }

  async loadBlocks() {
    try {
      const { users } = await this.api.blocks();
      this.blocked = new Set(users.map((u) => u.id));
      this.emit('blocks');
    } catch {
      /* keep what is known */
    }
  }

  // setBlocked blocks or unblocks a user (POST /users/me/blocks, DELETE .../{userId}).
  async setBlocked(userId, on) {
    if (on) await this.api.block(userId);
    else await this.api.unblock(userId);
    if (on) this.blocked.add(userId);
    else this.blocked.delete(userId);
    this.emit('blocks');
  }

  // peopleShown are the people a room's row or view needs by name: everyone in a small
  // room, but in a large one only the other member of a direct room and the senders on
  // screen. A user added to a 10,000-member group must not fetch 10,000 profiles.
  peopleShown(room, messages) {
    if (room.memberIds.length <= SMALL_ROOM) return room.memberIds;
    const ids = (messages || []).map((m) => m.senderId);
    if (room.lastMessage) ids.push(room.lastMessage.senderId);
    return ids;
  }

  // loadPeople fetches the profiles not known yet, a few at a time.
  async loadPeople(ids) {
    const others = [...new Set(ids)].filter((id) => id !== this.me.id);
    const missing = others.filter((id) => !this.users.has(id) && !this.loading.has(id));
    for (const id of missing) this.loading.add(id);
    const fetchOne = async (id) => {
      try {
        const u = await this.api.getUser(id);
        this.users.set(id, u);
        if (u.presence) this.presence.set(id, u.presence);
      } catch {
        /* shown as unknown; a later load tries again */
      } finally {
        this.loading.delete(id);
      }
    };
    for (let i = 0; i < missing.length; i += PROFILE_FETCHES) {
      await Promise.all(missing.slice(i, i + PROFILE_FETCHES).map(fetchOne));
    }
    for (let i = 0; i < others.length; i += 100) {
      try {
        const { presence } = await this.api.presence(others.slice(i, i + 100));
        for (const p of presence) this.presence.set(p.userId, p);
      } catch {
        /* keep what is known */
      }
    }
    this.emit('users');
    this.emit('presence');
    this.emit('rooms');
  }

  // hello is what the socket sends after each connect: RESUME from the cursors, and the
  // focus of the room on screen.
  // A user in more rooms than one frame holds resumes in chunks, each sent after the
  // previous one's RESUME_OK (the server takes one RESUME at a time).
  hello() {
    const entries = [...this.cursors].map(([id, c]) => [id, c.last]);
    const frame = (part) => ({
      rooms: Object.fromEntries(part),
      revs: Object.fromEntries(part.filter(([id]) => this.revs.has(id)).map(([id]) => [id, this.revs.get(id).last])),
    });
    this.resumeChunks = [];
    for (let i = RESUME_CHUNK; i < entries.length; i += RESUME_CHUNK) {
      this.resumeChunks.push(frame(entries.slice(i, i + RESUME_CHUNK)));
    }
    const frames = [['RESUME', frame(entries.slice(0, RESUME_CHUNK))]];
    if (this.focused) frames.push(['ROOM_FOCUSED', { roomId: this.focused }]);
    // DELIVERED waiting for a connection goes once these frames are out.
    if (this.toDeliver.size && !this.deliverTimer) this.deliverTimer = setTimeout(() => this.flushDelivered(), 0);
    return frames;
  }

  userName(id) {
    if (this.me && id === this.me.id) return this.me.displayName;
    const u = this.users.get(id);
    return u ? u.displayName : 'Someone';
  }

  others(room) {
    return room.memberIds.filter((id) => id !== this.me.id);
  }

  roomTitle(room) {
    if (room.type === 'group') {
      return room.name || this.others(room).map((id) => this.userName(id)).join(', ') || 'Just you';
    }
    const other = this.others(room)[0];
    return other ? this.userName(other) : this.me.displayName;
  }

  // roomsSorted is the room list order: most recent activity first.
  roomsSorted() {
    const at = (r) => (r.lastMessage ? r.lastMessage.createdAt : r.createdAt);
    return [...this.rooms.values()].sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : 0));
  }

  timeline(roomId) {
    let t = this.timelines.get(roomId);
    if (!t) {
      t = {
        messages: [], ids: new Set(), hasMore: true, loaded: false, loading: null, pending: [],
        members: new Map(), // userId → lastReadSeq
        delivered: new Map(), // userId → lastDeliveredSeq
      };
      this.timelines.set(roomId, t);
    }
    return t;
  }

  // open loads what the chat view of a room needs: the newest page and the members' read
  // cursors (for each message's unread count). Again on every call: cursors move.
  async open(roomId) {
    const t = this.timeline(roomId);
    const [room, page] = await Promise.all([
      this.api.room(roomId),
      t.loaded ? null : this.api.history(roomId, { limit: 50 }),
    ]);
    this.takeCursors(t, room);
    const known = this.rooms.get(roomId);
    this.rooms.set(roomId, { ...known, ...room, members: undefined });
    if (page) {
      this.insert(t, page.messages);
      t.hasMore = page.hasMore;
      t.loaded = true;
    }
    this.emit('timeline', roomId);
    await this.loadPeople(this.peopleShown(room, t.messages));
  }

  // older loads the page before the oldest message shown (infinite scroll upward).
  older(roomId) {
    const t = this.timeline(roomId);
    if (!t.loaded || !t.hasMore || t.loading) return t.loading;
    const first = t.messages[0];
    if (!first) return null;
    t.loading = this.api.history(roomId, { beforeSeq: first.seq, limit: 50 })
      .then((page) => {
        this.insert(t, page.messages);
        t.hasMore = page.hasMore;
        this.emit('timeline', roomId);
        this.loadPeople(page.messages.map((m) => m.senderId));
      })
      .finally(() => {
        t.loading = null;
      });
    return t.loading;
  }

  // takeCursors keeps the members' read and delivery cursors of GET /rooms/{id}; they only
  // move forward.
  takeCursors(t, room) {
    for (const m of room.members || []) {
      t.members.set(m.userId, Math.max(t.members.get(m.userId) || 0, m.lastReadSeq));
      t.delivered.set(m.userId, Math.max(t.delivered.get(m.userId) || 0, m.lastDeliveredSeq || 0));
    }
  }

  // insert adds messages to a timeline, or merges those it has: the state with the higher
  // rev wins, and of the counts (numbers that only fall) the lower. Says whether anything
  // changed.
  insert(t, messages) {
    let added = false;
    let changed = false;
    for (const m of messages) {
      if (t.ids.has(m.id)) {
        const i = t.messages.findIndex((x) => x.id === m.id);
        if (i < 0) continue;
        const old = t.messages[i];
        const base = (m.rev || 0) > (old.rev || 0) ? m : old;
        const unreadCount = Math.min(m.unreadCount ?? Infinity, old.unreadCount ?? Infinity);
        const undeliveredCount = Math.min(m.undeliveredCount ?? Infinity, old.undeliveredCount ?? Infinity);
        if (base !== old || unreadCount !== old.unreadCount || undeliveredCount !== old.undeliveredCount) {
          t.messages[i] = { ...base, unreadCount, undeliveredCount };
          changed = true;
        }
        continue;
      }
      t.ids.add(m.id);
      t.messages.push(m);
      added = true;
    }
    if (added) t.messages.sort((a, b) => a.seq - b.seq);
    return added || changed;
  }

  message(roomId, id) {
    const t = this.timelines.get(roomId);
    return t && t.ids.has(id) ? t.messages.find((x) => x.id === id) : null;
  }

  // noteRev advances a room's rev cursor over the rev of an event: like seqs, the last rev
  // with everything below it, and the revs seen above a hole (revs are not always
  // consecutive: the next RESUME replays from the hole, and RESUME_OK moves past it).
  noteRev(m) {
    if (!m.rev) return;
    let r = this.revs.get(m.roomId);
    if (!r) this.revs.set(m.roomId, (r = { last: m.rev - 1, ahead: new Set() }));
    if (m.rev <= r.last) return;
    // Coalesced reactions leave holes that never fill: forgetting what was seen above one
    // only makes the next RESUME replay a little more.
    if (r.ahead.size >= 1024) r.ahead.clear();
    r.ahead.add(m.rev);
    while (r.ahead.delete(r.last + 1)) r.last++;
  }

  revAtLeast(roomId, rev) {
    const r = this.revs.get(roomId);
    if (!r) return this.revs.set(roomId, { last: rev, ahead: new Set() });
    if (rev <= r.last) return;
    r.last = rev;
    for (const x of r.ahead) if (x <= rev) r.ahead.delete(x);
    while (r.ahead.delete(r.last + 1)) r.last++;
  }

  // onUpdated takes a MESSAGE_UPDATED (or a message of the changes feed). A message not
  // received yet (its MESSAGE_CREATED lost) is received, gap filling included.
  async onUpdated(m) {
    const c = this.cursors.get(m.roomId);
    if (!c || (m.seq > c.last && !c.ahead.has(m.seq))) await this.receive(m);
    else this.update(m);
  }

  // update shows a message's new state wherever it is shown: timeline, room list, pins.
  update(m) {
    const t = this.timeline(m.roomId);
    const room = this.rooms.get(m.roomId);
    if (room && room.lastMessage && room.lastMessage.id === m.id && (m.rev || 0) > (room.lastMessage.rev || 0)) {
      room.lastMessage = m;
      this.emit('rooms');
    }
    this.updatePin(m);
    if (this.insertKnown(t, m)) this.emit('timeline', m.roomId);
  }

  // insertKnown merges m into the timeline if it holds it; a message not loaded comes
  // with its current state when its page is.
  insertKnown(t, m) {
    return t.ids.has(m.id) ? this.insert(t, [m]) : false;
  }

  updatePin(m) {
    const pins = this.pins.get(m.roomId);
    if (!pins) return;
    const i = pins.findIndex((x) => x.id === m.id);
    if (i >= 0 && (m.rev || 0) < (pins[i].rev || 0)) return;
    const next = pins.filter((x) => x.id !== m.id);
    if (m.pinnedAt && !m.deletedAt) next.push(m);
    next.sort((a, b) => (a.pinnedAt < b.pinnedAt ? 1 : a.pinnedAt > b.pinnedAt ? -1 : 0));
    if (i < 0 && next.length === pins.length) return;
    this.pins.set(m.roomId, next);
    this.emit('pins', m.roomId);
  }

  async loadPins(roomId) {
    const { messages } = await this.api.pins(roomId);
    this.pins.set(roomId, messages);
    this.emit('pins', roomId);
  }

  // fillChanges pages a room's changes after rev (RESUME_OK said its replay was cut).
  async fillChanges(roomId, rev) {
    for (let after = rev; ;) {
      let page;
      try {
        page = await this.api.changes(roomId, after);
      } catch {
        return; // the next RESUME asks again from the rev cursor
      }
      for (const m of page.messages) await this.onUpdated(m);
      if (!page.hasMore || page.messages.length === 0) {
        this.revAtLeast(roomId, Math.max(after, page.lastRev || 0));
        return;
      }
      after = page.messages[page.messages.length - 1].rev;
      this.revAtLeast(roomId, after);
    }
  }

  // The user's changes to messages: each answer (or event) is shown by rev.
  async edit(roomId, id, text, mentions) {
    this.update(await this.api.editMessage(roomId, id, { text, mentions }));
  }

  async remove(roomId, id) {
    await this.api.deleteMessage(roomId, id);
    // The tombstone comes as MESSAGE_UPDATED; show it now, at the old rev, so that the
    // event (a higher rev) still replaces it.
    const m = this.message(roomId, id);
    if (m && !m.deletedAt) {
      const t = this.timeline(roomId);
      const i = t.messages.indexOf(m);
      t.messages[i] = {
        ...m, text: '', deletedAt: new Date().toISOString(), media: undefined, mediaId: undefined,
        replyTo: undefined, mentions: undefined, reactions: undefined, pinnedAt: undefined, pinnedBy: undefined,
      };
      this.updatePin(t.messages[i]);
      this.emit('timeline', roomId);
    }
  }

  async react(roomId, id, emoji, on) {
    this.update(await (on ? this.api.react(roomId, id, emoji) : this.api.unreact(roomId, id, emoji)));
  }

  async setPinned(roomId, id, on) {
    this.update(await (on ? this.api.pin(roomId, id) : this.api.unpin(roomId, id)));
  }

  // unreadCount of a message: the members, the sender excluded, whose read cursor is below
  // its seq, from the cursors known here, never more than the server said.
  unreadCount(roomId, m) {
    const n = this.countFromCursors(roomId, m);
    return n === null ? m.unreadCount : Math.min(n, m.unreadCount);
  }

  countFromCursors(roomId, m) {
    const t = this.timeline(roomId);
    const room = this.rooms.get(roomId);
    if (!room || t.members.size === 0) return null;
    let n = 0;
    for (const id of room.memberIds) {
      if (id === m.senderId) continue;
      const c = t.members.get(id);
      if (c === undefined || c < m.seq) n++;
    }
    return n;
  }

  // refreshCursorsSoon fetches a room's read cursors again. The server moves the cursors
  // of members viewing a room when a message arrives without a READ_RECEIPT_UPDATED, so
  // a new message whose count is below what the cursors here say means some moved.
  refreshCursorsSoon(roomId) {
    const t = this.timeline(roomId);
    clearTimeout(t.cursorTimer);
    t.cursorTimer = setTimeout(async () => {
      try {
        const room = await this.api.room(roomId);
        this.takeCursors(t, room);
        this.emit('timeline', roomId);
      } catch {
        /* the counts stay as the server last said */
      }
    }, 250);
  }

  // onResumed follows a RESUME's replay: the rest of a replay the server cut comes from
  // history, and the next chunk of a long RESUME goes out.
  onResumed({ rooms, revs, complete }) {
    if (!complete) {
      for (const [roomId, seq] of Object.entries(rooms || {})) {
        this.chain(roomId, () => this.fillAfter(roomId, seq));
      }
      for (const [roomId, rev] of Object.entries(revs || {})) {
        this.chain(roomId, () => this.fillChanges(roomId, rev));
      }
    } else {
      // Every change up to revs is here (the replay went before RESUME_OK, in order).
      for (const [roomId, rev] of Object.entries(revs || {})) {
        this.chain(roomId, () => this.revAtLeast(roomId, rev));
      }
    }
    const next = (this.resumeChunks || []).shift();
    if (next && this.socket) this.socket.send('RESUME', next);
  }

  // fillAfter pages a room's messages after seq through receive, which drops duplicates.
  async fillAfter(roomId, seq) {
    for (let after = seq; ;) {
      let page;
      try {
        page = await this.api.history(roomId, { afterSeq: after, limit: 100 });
      } catch {
        return; // the next RESUME asks again from the cursor
      }
      for (const m of page.messages) await this.receive(m);
      if (!page.hasMore || page.messages.length === 0) return;
      after = page.messages[page.messages.length - 1].seq;
    }
  }

  // onFrame handles one server event.
  onFrame({ type, data }) {
    switch (type) {
      case 'MESSAGE_CREATED':
        this.chain(data.message.roomId, async () => {
          await this.receive(data.message);
          this.noteRev(data.message);
        });
        break;
      case 'MESSAGE_UPDATED':
        this.chain(data.message.roomId, async () => {
          await this.onUpdated(data.message);
          this.noteRev(data.message);
        });
        break;
      case 'READ_RECEIPT_UPDATED':
        this.onReceipt(data);
        break;
      case 'DELIVERY_RECEIPT_UPDATED':
        this.onDelivery(data);
        break;
      case 'PRESENCE_UPDATED':
        this.presence.set(data.userId, data);
        this.emit('presence');
        break;
      case 'TYPING':
        this.onTyping(data);
        break;
      case 'ROOM_UPDATED':
        this.onRoomUpdated(data.room);
        break;
      case 'RESUME_OK':
        this.onResumed(data);
        break;
      default:
        break;
    }
  }

  chain(roomId, fn) {
    const next = (this.chains.get(roomId) || Promise.resolve()).then(fn).catch(() => {});
    this.chains.set(roomId, next);
    return next;
  }

  // receive takes a MESSAGE_CREATED: drops a duplicate, fills a gap before it from
  // history, then shows it.
  async receive(m) {
    let c = this.cursors.get(m.roomId);
    if (!c) {
      c = { last: m.seq - 1, ahead: new Map() };
      this.cursors.set(m.roomId, c);
    }
    if (m.seq <= c.last || c.ahead.has(m.seq)) return;
    if (m.seq > c.last + 1) {
      try {
        let after = c.last;
        for (;;) {
          const page = await this.api.history(m.roomId, { afterSeq: after, limit: 100 });
          for (const x of page.messages) if (x.seq < m.seq) this.accept(x, c);
          const top = page.messages.length ? page.messages[page.messages.length - 1].seq : after;
          if (!page.hasMore || top >= m.seq - 1 || top === after) break;
          after = top;
        }
      } catch {
        /* the hole stays: the next RESUME asks for it again */
      }
    }
    this.accept(m, c);
  }

  accept(m, c) {
    if (m.seq <= c.last || c.ahead.has(m.seq)) return;
    if (m.seq === c.last + 1) {
      c.last = m.seq;
      while (c.ahead.has(c.last + 1)) c.ahead.delete(++c.last);
    } else {
      c.ahead.set(m.seq, m.id);
    }
    this.apply(m, true);
    if (m.senderId !== this.me.id) this.deliveredSoon(m.roomId);
  }

  // deliveredSoon says DELIVERED for a room where messages arrived: the seq up to which
  // every message is here, gathered per room (at most one frame per room every 500 ms)
  // and within the frame rate across rooms.
  deliveredSoon(roomId) {
    this.toDeliver.add(roomId);
    if (this.deliverTimer) return;
    const wait = Math.max(0, this.deliverAt + DELIVERED_EVERY_MS - Date.now());
    this.deliverTimer = setTimeout(() => this.flushDelivered(), wait);
  }

  flushDelivered() {
    this.deliverTimer = 0;
    this.deliverAt = Date.now();
    let n = 0;
    for (const roomId of [...this.toDeliver]) {
      if (n >= DELIVERED_PER_TICK) break;
      this.toDeliver.delete(roomId);
      const c = this.cursors.get(roomId);
      if (!c || c.last <= (this.delivered.get(roomId) || 0)) continue;
      if (!this.socket || !this.socket.send('DELIVERED', { roomId, seq: c.last })) {
        // Not connected: said after the next connect (hello).
        this.toDeliver.add(roomId);
        return;
      }
      this.delivered.set(roomId, c.last);
      n++;
    }
    if (this.toDeliver.size) this.deliverTimer = setTimeout(() => this.flushDelivered(), DELIVERED_EVERY_MS);
  }

  onDelivery({ roomId, userId, lastDeliveredSeq }) {
    const t = this.timeline(roomId);
    t.delivered.set(userId, Math.max(t.delivered.get(userId) || 0, lastDeliveredSeq));
    this.emit('timeline', roomId);
  }

  // tick is the state of one's own message in a direct room: 'read', 'delivered' or
  // 'sent', from the other member's cursors (delivery never behind reading).
  tick(roomId, m) {
    const room = this.rooms.get(roomId);
    const other = room && this.others(room)[0];
    if (!other) return 'sent';
    const t = this.timeline(roomId);
    if ((t.members.get(other) || 0) >= m.seq || this.unreadCount(roomId, m) === 0) return 'read';
    if ((t.delivered.get(other) || 0) >= m.seq || m.undeliveredCount === 0) return 'delivered';
    return 'sent';
  }

  // apply shows a message in its room and the room list. fresh is false for the answer
  // of the sender's own send, which the event also brings.
  apply(m, fresh) {
    const room = this.rooms.get(m.roomId);
    const mine = m.senderId === this.me.id;
    // A sender of a large room whose profile is not loaded yet (only those shown are).
    if (!mine && !this.users.has(m.senderId)) this.loadPeople([m.senderId]);
    if (room) {
      const known = this.timeline(m.roomId).ids.has(m.id) || (room.lastMessage && room.lastMessage.seq >= m.seq);
      room.lastSeq = Math.max(room.lastSeq || 0, m.seq);
      if (!room.lastMessage || m.seq >= room.lastMessage.seq) room.lastMessage = m;
      if (fresh && !known && !mine && this.focused !== m.roomId) {
        room.unreadCount = (room.unreadCount || 0) + 1;
        if (!m.deletedAt && (m.mentions || []).includes(this.me.id)) room.mentionCount = (room.mentionCount || 0) + 1;
      }
    } else {
      this.refreshRoomsSoon();
    }
    const t = this.timeline(m.roomId);
    if (mine) t.pending = t.pending.filter((p) => p.clientMsgId !== m.clientMsgId);
    if (mine || this.focused === m.roomId) t.members.set(this.me.id, Math.max(t.members.get(this.me.id) || 0, m.seq));
    if (t.members.size > 0) {
      t.members.set(m.senderId, Math.max(t.members.get(m.senderId) || 0, m.seq));
      if (this.countFromCursors(m.roomId, m) > m.unreadCount) this.refreshCursorsSoon(m.roomId);
    }
    this.insert(t, [m]);
    this.clearTyping(m.roomId, m.senderId);
    this.emit('timeline', m.roomId);
    this.emit('message', m);
    this.emit('rooms');
  }

  refreshRoomsSoon() {
    clearTimeout(this.roomsTimer);
    this.roomsTimer = setTimeout(() => this.load().catch(() => {}), 300);
  }

  onReceipt({ roomId, userId, lastReadSeq }) {
    const t = this.timeline(roomId);
    t.members.set(userId, Math.max(t.members.get(userId) || 0, lastReadSeq));
    if (userId === this.me.id) {
      const room = this.rooms.get(roomId);
      if (room) {
        room.unreadCount = Math.max(0, Math.min(room.unreadCount || 0, (room.lastSeq || 0) - lastReadSeq));
        this.readMentions(room, lastReadSeq);
      }
      this.emit('rooms');
    }
    // Reading is delivery too.
    t.delivered.set(userId, Math.max(t.delivered.get(userId) || 0, lastReadSeq));
    this.emit('timeline', roomId);
  }

  onTyping({ roomId, userId }) {
    if (userId === this.me.id) return;
    let m = this.typing.get(roomId);
    if (!m) this.typing.set(roomId, (m = new Map()));
    m.set(userId, Date.now() + TYPING_SHOW_MS);
    this.emit('typing', roomId);
    setTimeout(() => this.emit('typing', roomId), TYPING_SHOW_MS + 50);
  }

  clearTyping(roomId, userId) {
    const m = this.typing.get(roomId);
    if (m && m.delete(userId)) this.emit('typing', roomId);
  }

  typists(roomId) {
    const m = this.typing.get(roomId);
    if (!m) return [];
    const now = Date.now();
    return [...m].filter(([, exp]) => exp > now).map(([id]) => id);
  }

  onRoomUpdated(room) {
    if (!room.memberIds.includes(this.me.id)) {
      this.rooms.delete(room.id);
      this.cursors.delete(room.id);
      this.revs.delete(room.id);
      this.emit('rooms');
      this.emit('left', room.id);
      return;
    }
    const known = this.rooms.get(room.id);
    this.rooms.set(room.id, { unreadCount: 0, ...known, ...room, members: undefined });
    if (!this.cursors.has(room.id)) this.cursors.set(room.id, { last: room.lastSeq, ahead: new Map() });
    if (!this.revs.has(room.id)) this.revs.set(room.id, { last: room.lastRev || 0, ahead: new Set() });
    this.emit('rooms');
    this.loadPeople(this.peopleShown(room));
  }

  // setFocus tells the chat server which room is on screen (or none).
  setFocus(roomId) {
    if (roomId === this.focused) return;
    if (this.focused) this.socket.send('ROOM_UNFOCUSED', { roomId: this.focused });
    this.focused = roomId;
    if (roomId) this.socket.send('ROOM_FOCUSED', { roomId });
  }

  // markRead moves the user's read cursor of a room to seq, when that is forward.
  async markRead(roomId, seq) {
    const t = this.timeline(roomId);
    const mine = t.members.get(this.me.id) || 0;
    const room = this.rooms.get(roomId);
    if (seq <= mine && !(room && room.unreadCount)) return;
    t.members.set(this.me.id, Math.max(mine, seq));
    if (room) {
      room.unreadCount = Math.max(0, Math.min(room.unreadCount || 0, (room.lastSeq || 0) - seq));
      this.readMentions(room, seq);
      this.emit('rooms');
    }
    try {
      await this.api.markRead(roomId, seq);
    } catch {
      t.members.set(this.me.id, mine); // try again when next seen
    }
  }

  // readMentions lowers a room's mention count after reading up to seq: none are left
  // when everything is read, else those the timeline holds above seq (when it holds all
  // of them).
  readMentions(room, seq) {
    if (!room.mentionCount) return;
    if (seq >= (room.lastSeq || 0)) {
      room.mentionCount = 0;
      return;
    }
    const t = this.timeline(room.id);
    if (!t.loaded || !t.messages.length || t.messages[0].seq > seq + 1) return;
    const left = t.messages.filter((m) => m.seq > seq && !m.deletedAt && (m.mentions || []).includes(this.me.id)).length;
    room.mentionCount = Math.min(room.mentionCount, left);
  }

  typingNow(roomId) {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    if (this.socket.send('TYPING', { roomId })) this.lastTypingSent = now;
  }

  // sendText shows the message at once as pending, then sends it.
  // extra: replyTo (the message replied to) and mentions (user ids).
  sendText(roomId, text, { replyTo, mentions } = {}) {
    this.lastTypingSent = 0;
    this.enqueue({ roomId, type: 'text', text, replyTo: replyTo || null, mentions: mentions || [] });
  }

  // sendFile uploads a file, then sends it as an image or file message.
  sendFile(roomId, file) {
    const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : null;
    this.enqueue({ roomId, type: file.type.startsWith('image/') ? 'image' : 'file', text: '', file, preview });
  }

  enqueue(p) {
    const t = this.timeline(p.roomId);
    const pending = { ...p, clientMsgId: newClientMsgId(), status: 'sending', createdAt: new Date().toISOString(), error: '' };
    t.pending.push(pending);
    this.emit('timeline', p.roomId);
    this.deliver(pending);
  }

  // deliver sends a pending message, retrying transient failures with the same
  // clientMsgId: the server stores it once however many times it arrives.
  async deliver(p) {
    for (let attempt = 0; ; attempt++) {
      try {
        if (p.file && !p.mediaId) {
          const media = await this.api.upload(p.roomId, p.file);
          p.mediaId = media.id;
          p.type = media.contentType.startsWith('image/') ? 'image' : 'file';
        }
        const body = { clientMsgId: p.clientMsgId, type: p.type };
        if (p.text) body.text = p.text;
        if (p.mediaId) body.mediaId = p.mediaId;
        if (p.replyTo) body.replyToId = p.replyTo.id;
        if (p.mentions && p.mentions.length) body.mentions = p.mentions;
        const m = await this.api.send(p.roomId, body);
        if (p.preview) URL.revokeObjectURL(p.preview);
        this.apply(m, false);
        return;
      } catch (err) {
        if (err.transient && attempt < SEND_RETRIES) {
          await sleep(Math.max(err.retryAfter * 1000, 1000 * 2 ** attempt));
          continue;
        }
        p.status = 'failed';
        p.error = err.status === 404 && err.code === 'not_found' && p.file
          ? 'This server does not take files.'
          : describeError(err);
        p.canRetry = err.transient || err.status === 401;
        this.emit('timeline', p.roomId);
        return;
      }
    }
  }

  retry(roomId, clientMsgId) {
    const p = this.timeline(roomId).pending.find((x) => x.clientMsgId === clientMsgId);
    if (!p || p.status !== 'failed') return;
    p.status = 'sending';
    p.error = '';
    this.emit('timeline', roomId);
    this.deliver(p);
  }

  discard(roomId, clientMsgId) {
    const t = this.timeline(roomId);
    t.pending = t.pending.filter((x) => x.clientMsgId !== clientMsgId);
    this.emit('timeline', roomId);
  }
}
