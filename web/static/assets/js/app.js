// The signed-in app: the room list beside the open room (one or the other on a phone),
// the connection, and which room has focus.

import { describeError } from './api.js';
import { chatView } from './chat.js';
import { avatar, formatListTime, h, icon, reconcile } from './dom.js';
import { newRoomDialog } from './newroom.js';
import { Socket } from './socket.js';
import { Store } from './store.js';

const STATE_TEXT = {
  connecting: 'Connecting…',
  open: 'Connected',
  waiting: 'Reconnecting…',
  closed: 'Offline',
};

// fold lower-cases and takes accents off Latin letters, as the server compares words.
function fold(s) {
  return s.toLowerCase().normalize('NFD').replace(/(\p{Script=Latin})\p{Mn}+/gu, '$1').normalize('NFC');
}

// highlight returns text as nodes with the start of each word that a query word begins
// marked, the way the server matched it.
export function highlight(text, q) {
  const words = fold(q).match(/[\p{L}\p{N}\p{M}]+/gu) || [];
  const out = [];
  let at = 0;
  for (const m of text.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const token = fold(m[0]);
    const w = words.filter((x) => token.startsWith(x)).sort((a, b) => b.length - a.length)[0];
    if (!w) continue;
    // The marked part is as many characters of the original as the word has.
    const part = [...m[0]].slice(0, [...w].length).join('');
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(h('mark', {}, part));
    at = m.index + part.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

export function chatApp(api) {
  const store = new Store(api);
  const socket = new Socket(api, () => store.hello());
  store.socket = socket;
  let openRoom = null;
  let everOpened = false;

  // Sidebar.
  const me = api.currentUser;
  const conn = h('span', { class: 'conn', role: 'status', 'aria-live': 'polite', dataset: { state: 'connecting' } },
    h('span', { class: 'conn-dot', 'aria-hidden': 'true' }), h('span', { class: 'conn-text' }, STATE_TEXT.connecting));
  const list = h('ul', { class: 'room-list', 'aria-label': 'Conversations' });
  const empty = h('div', { class: 'list-empty' },
    h('p', {}, 'No conversations yet.'),
    h('p', { class: 'muted' }, 'Start one with someone by their name.'));
  const dialog = newRoomDialog(store, (roomId) => go(roomId));
  const newBtn = h('button', { class: 'btn primary', type: 'button', on: { click: () => dialog.open() } }, icon('plus'), h('span', {}, 'New chat'));
  // Message search: results replace the room list while the box holds a query.
  const searchInput = h('input', {
    class: 'search-input', type: 'search', placeholder: 'Search messages', 'aria-label': 'Search messages',
    maxlength: '200', autocomplete: 'off',
    on: { input: () => scheduleSearch(), keydown: (e) => { if (e.key === 'Escape') clearSearch(); } },
  });
  const results = h('ul', { class: 'search-results', 'aria-label': 'Messages found' });
  const searchStatus = h('p', { class: 'search-status muted', role: 'status', 'aria-live': 'polite' });
  const moreBtn = h('button', { class: 'btn more-results', type: 'button', hidden: true, on: { click: () => runSearch(true) } }, 'More results');
  const searchPanel = h('div', { class: 'search-panel', hidden: true }, searchStatus, results, moreBtn);
  const roomsNav = h('nav', { class: 'rooms', 'aria-label': 'Rooms' }, list, empty);
  let searchTimer = null;
  let searchGen = 0;
  let lastFound = null; // the last result shown, where "More results" goes on from

  function scheduleSearch() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(false), 300);
  }

  function clearSearch() {
    searchInput.value = '';
    searchGen++;
    searchPanel.hidden = true;
    roomsNav.hidden = false;
  }

  async function runSearch(more) {
    const q = searchInput.value.trim();
    const gen = ++searchGen;
    if ([...q].length < 2) {
      searchPanel.hidden = true;
      roomsNav.hidden = false;
      return;
    }
    searchPanel.hidden = false;
    roomsNav.hidden = true;
    if (!more) {
      results.replaceChildren();
      lastFound = null;
    }
    searchStatus.textContent = 'Searching…';
    moreBtn.hidden = true;
    try {
      const page = await api.searchMessages(q, { beforeId: more && lastFound ? lastFound.id : undefined });
      if (gen !== searchGen) return;
      for (const m of page.messages) results.append(resultItem(m, q));
      if (page.messages.length) lastFound = page.messages[page.messages.length - 1];
      const n = results.childElementCount;
      searchStatus.textContent = n ? `${n}${page.hasMore ? '+' : ''} message${n === 1 ? '' : 's'} found` : `No messages match “${q}”.`;
      moreBtn.hidden = !page.hasMore;
    } catch (err) {
      if (gen === searchGen) searchStatus.textContent = 'Search failed: ' + describeError(err);
    }
  }

  function resultItem(m, q) {
    const r = store.rooms.get(m.roomId);
    const title = r ? store.roomTitle(r) : 'A conversation';
    const who = m.senderId === me.id ? 'You' : store.userName(m.senderId);
    const open = () => {
      go(m.roomId);
      chat.reveal(m.roomId, m.seq);
    };
    return h('li', { class: 'search-result' },
      h('button', { class: 'found-link', type: 'button', on: { click: open } },
        h('span', { class: 'room-top' }, h('span', { class: 'room-name' }, title),
          h('time', { class: 'room-time', datetime: m.createdAt }, formatListTime(m.createdAt))),
        h('span', { class: 'found-text' }, h('strong', {}, who + ': '), ...highlight(m.text || '', q))));
  }

  // Shown to server administrators, asked of the server (a grant may postdate the sign-in).
  const adminLink = h('a', { class: 'admin-link', href: '/admin', hidden: true }, 'Administration');
  api.me().then((u) => { adminLink.hidden = !u.admin; }).catch(() => {});
  const sidebar = h('aside', { class: 'sidebar', 'aria-label': 'Conversations' },
    h('header', { class: 'side-head' },
      h('div', { class: 'me' }, avatar(me.id, me.displayName),
        h('div', { class: 'me-text' }, h('strong', { class: 'me-name' }, me.displayName), conn)),
      h('button', { class: 'icon-btn', type: 'button', title: 'Sign out', 'aria-label': 'Sign out', on: { click: signOut } }, icon('logout'))),
    h('div', { class: 'side-actions' }, newBtn, adminLink),
    h('div', { class: 'search-box', role: 'search' }, icon('search'), searchInput),
    searchPanel,
    roomsNav);

  const chat = chatView(store, { onBack: () => go(null) });
  const el = h('div', { class: 'shell', dataset: { view: 'list' } }, sidebar, chat.el, dialog.el);

  function renderRooms() {
    const rooms = store.roomsSorted();
    empty.hidden = rooms.length > 0;
    reconcile(list, rooms, (r) => r.id, makeRoomItem, updateRoomItem);
    const unread = rooms.reduce((n, r) => n + (r.unreadCount || 0), 0);
    document.title = unread ? `(${unread}) ChatChat` : 'ChatChat';
  }

  function makeRoomItem(r) {
    const li = h('li', { class: 'room-item' });
    const a = h('a', { class: 'room-link', href: '#/room/' + encodeURIComponent(r.id) });
    li.append(a);
    return li;
  }

  function updateRoomItem(li, r) {
    const a = li.firstElementChild;
    const title = store.roomTitle(r);
    const other = r.type === 'direct' ? store.others(r)[0] : null;
    const online = other && (store.presence.get(other) || {}).status === 'online';
    const last = r.lastMessage;
    let preview = 'No messages yet';
    if (last) {
      const who = last.senderId === me.id ? 'You: ' : r.type === 'group' && !store.blocked.has(last.senderId) ? store.userName(last.senderId) + ': ' : '';
      const blocked = r.type === 'group' && store.blocked.has(last.senderId);
      const body = blocked ? 'Message from a blocked user' : last.deletedAt ? 'Message deleted' : last.type === 'image' ? '📷 Photo' : last.type === 'file' ? '📎 ' + ((last.media && last.media.filename) || 'File') : last.text;
      preview = who + body;
    }
    const unread = r.unreadCount || 0;
    const mentions = r.mentionCount || 0;
    const av = h('span', { class: 'avatar-wrap' }, avatar(other || r.id, title),
      other ? h('span', { class: `presence-dot ${online ? 'online' : 'offline'}`, title: online ? 'Online' : 'Offline' }) : null);
    a.replaceChildren(av,
      h('span', { class: 'room-main' },
        h('span', { class: 'room-top' }, h('span', { class: 'room-name' }, title),
          h('time', { class: 'room-time', datetime: last ? last.createdAt : r.createdAt }, formatListTime(last ? last.createdAt : r.createdAt))),
        h('span', { class: 'room-bottom' }, h('span', { class: 'room-preview' }, preview),
          mentions ? h('span', { class: 'mention-badge', title: `${mentions} mention${mentions === 1 ? '' : 's'} of you`, 'aria-label': `${mentions} mentions` }, '@') : null,
          unread ? h('span', { class: 'badge', 'aria-label': `${unread} unread` }, unread > 99 ? '99+' : String(unread)) : null)));
    a.setAttribute('aria-label', `${title}${other ? (online ? ', online' : ', offline') : ''}${unread ? `, ${unread} unread` : ''}${mentions ? `, ${mentions} mentioning you` : ''}`);
    if (r.id === openRoom) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    li.dataset.roomId = r.id;
  }

  // Routing: #/room/<id> is the open room, so that a reload comes back to it.
  function go(roomId) {
    const hash = roomId ? '#/room/' + encodeURIComponent(roomId) : '#/';
    // Routed at once (hashchange comes later, and routes again to no effect), so that the
    // room is open when go returns.
    if (location.hash !== hash) location.hash = hash;
    route();
  }

  function route() {
    const m = /^#\/room\/(.+)$/.exec(location.hash);
    const roomId = m ? decodeURIComponent(m[1]) : null;
    if (roomId !== openRoom) {
      openRoom = roomId;
      chat.show(roomId);
    }
    el.dataset.view = roomId ? 'chat' : 'list';
    updateFocus();
    renderRooms();
  }

  // The open room has focus while the tab is visible: the chat server then counts new
  // messages as read, and no push goes out for them.
  function updateFocus() {
    const visible = document.visibilityState === 'visible';
    store.setFocus(openRoom && visible ? openRoom : null);
    chat.setVisible(visible);
  }

  function onState(e) {
    const s = e.detail;
    conn.dataset.state = s;
    conn.lastElementChild.textContent = navigator.onLine === false && s !== 'open' ? 'No network' : STATE_TEXT[s];
    chat.setConnection(s);
    if (s === 'open') {
      // Events other than messages are not replayed: fetch the state they describe.
      if (everOpened) store.load().then(() => openRoom && store.open(openRoom)).catch(() => {});
      everOpened = true;
    }
  }

  // Signing out ends the session on the server too (api.logout), so that its tokens, and
  // this tab's socket, stop working everywhere they were copied.
  function signOut() {
    api.logout();
  }

  const onFrame = (e) => store.onFrame(e.detail);
  const onHash = () => route();
  const onVisibility = () => updateFocus();
  socket.addEventListener('state', onState);
  socket.addEventListener('frame', onFrame);
  store.addEventListener('rooms', renderRooms);
  store.addEventListener('presence', renderRooms);
  store.addEventListener('users', renderRooms);
  store.addEventListener('blocks', renderRooms);
  store.addEventListener('left', (e) => {
    if (e.detail === openRoom) go(null);
  });
  window.addEventListener('hashchange', onHash);
  document.addEventListener('visibilitychange', onVisibility);
  const tick = setInterval(() => {
    renderRooms();
    chat.tick();
  }, 30_000);

  store.load()
    .catch(() => {
      everOpened = true; // load again once connected
    })
    .finally(() => {
      socket.start();
      route();
    });

  return {
    el,
    destroy() {
      clearInterval(tick);
      socket.stop();
      window.removeEventListener('hashchange', onHash);
      document.removeEventListener('visibilitychange', onVisibility);
      if (location.hash) history.replaceState(null, '', location.pathname);
    },
  };
}
