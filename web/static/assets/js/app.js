// The signed-in app: the room list beside the open room (one or the other on a phone),
// the connection, and which room has focus.

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
  // Shown to server administrators, asked of the server (a grant may postdate the sign-in).
  const adminLink = h('a', { class: 'admin-link', href: '/admin', hidden: true }, 'Administration');
  api.me().then((u) => { adminLink.hidden = !u.admin; }).catch(() => {});
  const sidebar = h('aside', { class: 'sidebar', 'aria-label': 'Conversations' },
    h('header', { class: 'side-head' },
      h('div', { class: 'me' }, avatar(me.id, me.displayName),
        h('div', { class: 'me-text' }, h('strong', { class: 'me-name' }, me.displayName), conn)),
      h('button', { class: 'icon-btn', type: 'button', title: 'Sign out', 'aria-label': 'Sign out', on: { click: signOut } }, icon('logout'))),
    h('div', { class: 'side-actions' }, newBtn, adminLink),
    h('nav', { class: 'rooms', 'aria-label': 'Rooms' }, list, empty));

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
    if (location.hash !== hash) location.hash = hash;
    else route();
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
