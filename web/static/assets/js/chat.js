// The open room: its header with presence, the messages with day separators and unread
// counts, upward infinite scroll, the typing indicator, and the composer.

import { describeError } from './api.js';
import { avatar, dayKey, fill, formatDay, formatLastSeen, formatSize, formatTime, h, icon, reconcile } from './dom.js';

// The most member avatars a group's header shows.
const HEAD_MEMBERS = 12;

const RUN_BREAK_MS = 5 * 60_000; // a new run of bubbles after five quiet minutes

// safeUrl lets through only URLs that cannot run script: http(s) and blob, or relative.
function safeUrl(u) {
  if (!u) return null;
  try {
    const url = new URL(u, location.href);
    return ['http:', 'https:', 'blob:'].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

export function chatView(store, { onBack }) {
  const me = store.me;
  let roomId = null;
  let visible = document.visibilityState === 'visible';
  let connState = 'connecting';
  let firstKey = null;
  const seen = new Set();
  let readTimer = 0;

  const placeholder = h('div', { class: 'chat-empty' },
    h('div', { class: 'chat-empty-icon' }, icon('chat')),
    h('h2', {}, 'Your conversations'),
    h('p', { class: 'muted' }, 'Pick a conversation on the left, or start a new one.'));

  const headAvatar = h('span', { class: 'avatar-wrap' });
  const title = h('h2', { class: 'chat-title', id: 'chat-title' });
  const subtitle = h('p', { class: 'chat-subtitle' });
  const members = h('ul', { class: 'members', 'aria-label': 'Members' });
  const banner = h('div', { class: 'conn-banner', role: 'status', hidden: true });
  const olderStatus = h('div', { class: 'older-status', 'aria-live': 'polite' });
  const list = h('ol', { class: 'msg-list' });
  const scroller = h('div', { class: 'messages', role: 'log', 'aria-labelledby': 'chat-title', tabindex: '0' }, olderStatus, list);
  const typing = h('div', { class: 'typing', 'aria-live': 'polite' });
  const input = h('textarea', {
    id: 'composer-input', rows: 1, placeholder: 'Write a message…', autocomplete: 'off', enterkeyhint: 'send',
  });
  const fileInput = h('input', { type: 'file', multiple: true, hidden: true, id: 'composer-file', tabindex: '-1' });
  const attach = h('button', { class: 'icon-btn', type: 'button', title: 'Attach a file', 'aria-label': 'Attach a file', on: { click: () => fileInput.click() } }, icon('paperclip'));
  const sendBtn = h('button', { class: 'send-btn', type: 'submit', title: 'Send', 'aria-label': 'Send' }, icon('send'));
  const composer = h('form', { class: 'composer', on: { submit: onSubmit } },
    attach, fileInput,
    h('label', { for: 'composer-input', class: 'visually-hidden' }, 'Message'),
    input, sendBtn);
  const dropHint = h('div', { class: 'drop-hint', hidden: true }, icon('file'), h('span', {}, 'Drop to send'));

  const room = h('section', { class: 'room', hidden: true, 'aria-labelledby': 'chat-title' },
    h('header', { class: 'chat-head' },
      h('button', { class: 'icon-btn back', type: 'button', 'aria-label': 'Back to conversations', on: { click: onBack } }, icon('back')),
      headAvatar,
      h('div', { class: 'chat-head-text' }, title, subtitle),
      members),
    banner, scroller, typing, composer, dropHint);
  const el = h('main', { class: 'chat', id: 'chat' }, placeholder, room);

  // Marking as read: a message counts as seen when any of it is on screen while the tab is
  // visible.
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const seq = Number(e.target.dataset.seq);
      if (e.isIntersecting) seen.add(seq);
      else seen.delete(seq);
    }
    scheduleRead();
  }, { root: scroller });

  function scheduleRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (!roomId || !visible || seen.size === 0) return;
      store.markRead(roomId, Math.max(...seen));
    }, 150);
  }

  function show(id) {
    roomId = id;
    placeholder.hidden = !!id;
    room.hidden = !id;
    list.replaceChildren();
    seen.clear();
    firstKey = null;
    input.value = '';
    autosize();
    if (!id) return;
    render(true);
    renderHead();
    renderTyping();
    olderStatus.textContent = store.timeline(id).loaded ? '' : 'Loading…';
    store.open(id).then(() => {
      if (id === roomId) olderStatus.textContent = '';
      loadOlder();
    }, (err) => {
      if (id === roomId) olderStatus.textContent = 'Could not load this conversation: ' + describeError(err);
    });
    if (matchMedia('(pointer: fine)').matches) input.focus();
  }

  function renderHead() {
    const r = store.rooms.get(roomId);
    if (!r) {
      title.textContent = 'Conversation';
      subtitle.textContent = '';
      members.replaceChildren();
      return;
    }
    const name = store.roomTitle(r);
    title.textContent = name;
    const others = store.others(r);
    const online = (id) => (store.presence.get(id) || {}).status === 'online';
    if (r.type === 'direct' && others[0]) {
      const p = store.presence.get(others[0]) || {};
      headAvatar.replaceChildren(avatar(others[0], name),
        h('span', { class: `presence-dot ${online(others[0]) ? 'online' : 'offline'}` }));
      subtitle.textContent = online(others[0]) ? 'online' : formatLastSeen(p.lastActiveAt);
      subtitle.classList.toggle('is-online', online(others[0]));
      members.replaceChildren();
    } else {
      headAvatar.replaceChildren(avatar(r.id, name));
      const n = others.filter(online).length;
      subtitle.textContent = `${r.memberIds.length} members · ${n} online`;
      subtitle.classList.remove('is-online');
      // A large group shows its known and online members first, and a few of them: one
      // avatar per member would push the title out of the header.
      const shown = others.length <= HEAD_MEMBERS ? others
        : [...others].sort((a, b) => (online(b) - online(a)) || (store.users.has(b) - store.users.has(a))).slice(0, HEAD_MEMBERS);
      reconcile(members, shown, (id) => id, (id) => h('li', { class: 'member', dataset: { userId: id } }), (li, id) => {
        const on = online(id);
        const p = store.presence.get(id) || {};
        const label = `${store.userName(id)}, ${on ? 'online' : formatLastSeen(p.lastActiveAt)}`;
        li.title = label;
        li.setAttribute('aria-label', label);
        li.dataset.status = on ? 'online' : 'offline';
        li.replaceChildren(avatar(id, store.userName(id), 'small'), h('span', { class: `presence-dot ${on ? 'online' : 'offline'}` }));
      });
    }
  }

  function renderTyping() {
    if (!roomId) return;
    const names = store.typists(roomId).map((id) => store.userName(id));
    typing.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : 'Several people are typing…';
    typing.classList.toggle('active', names.length > 0);
  }

  // items lays the messages out: day separators, runs of one sender, pending sends last.
  function items() {
    const t = store.timeline(roomId);
    const out = [];
    let day = null;
    let prev = null;
    for (const m of t.messages) {
      const d = dayKey(m.createdAt);
      if (d !== day) {
        out.push({ kind: 'day', key: 'd:' + d, at: m.createdAt });
        day = d;
        prev = null;
      }
      const first = !prev || prev.senderId !== m.senderId || new Date(m.createdAt) - new Date(prev.createdAt) > RUN_BREAK_MS;
      out.push({ kind: 'msg', key: 'm:' + m.id, m, first, unread: store.unreadCount(roomId, m) });
      prev = m;
    }
    for (const p of t.pending) {
      const d = dayKey(p.createdAt);
      if (d !== day) {
        out.push({ kind: 'day', key: 'd:' + d, at: p.createdAt });
        day = d;
      }
      out.push({ kind: 'pending', key: 'p:' + p.clientMsgId, p });
    }
    return out;
  }

  function render(jump) {
    if (!roomId) return;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const all = items();
    const newFirst = all.length ? all[0].key : null;
    const prepended = firstKey !== null && newFirst !== firstKey;
    reconcile(list, all, (i) => i.key, make, update);
    firstKey = newFirst;
    if (jump || (atBottom && !prepended)) scroller.scrollTop = scroller.scrollHeight;
    else if (prepended) scroller.scrollTop = scroller.scrollHeight - fromBottom;
  }

  function make(item) {
    if (item.kind === 'day') {
      return h('li', { class: 'day-sep', role: 'separator' }, h('span', {}, formatDay(item.at)));
    }
    const li = h('li', { class: 'msg' });
    if (item.kind === 'msg') {
      li.dataset.seq = String(item.m.seq);
      observer.observe(li);
    }
    return li;
  }

  function update(li, item) {
    if (item.kind === 'day') return;
    if (item.kind === 'pending') return renderPending(li, item.p);
    const { m, first, unread } = item;
    const r = store.rooms.get(roomId);
    const group = r && r.type === 'group';
    const mine = m.senderId === me.id;
    const sig = `${first}|${unread}|${store.userName(m.senderId)}`;
    if (li.dataset.sig === sig) return;
    li.dataset.sig = sig;
    li.className = `msg ${mine ? 'mine' : 'theirs'}${first ? ' first' : ''}`;
    li.dataset.senderId = m.senderId;
    const showAvatar = !mine && group;
    fill(li,
      showAvatar ? (first ? avatar(m.senderId, store.userName(m.senderId), 'small') : h('span', { class: 'avatar-gap' })) : null,
      h('div', { class: 'msg-col' },
        !mine && group && first ? h('div', { class: 'sender' }, store.userName(m.senderId)) : null,
        h('div', { class: 'msg-row' },
          bubble(m),
          h('div', { class: 'meta' },
            unread > 0 ? h('span', { class: 'unread', title: `${unread} not read yet`, 'aria-label': `${unread} unread` }, String(unread)) : null,
            h('time', { datetime: m.createdAt }, formatTime(m.createdAt))))));
  }

  function bubble(m) {
    const b = h('div', { class: 'bubble' });
    const media = m.media;
    if ((m.type === 'image' || m.type === 'file') && media) {
      const url = safeUrl(media.url);
      if (m.type === 'image') {
        const img = h('img', {
          src: safeUrl(media.thumbUrl) || url, alt: media.filename || 'Image', loading: 'lazy', decoding: 'async',
          width: media.width || null, height: media.height || null,
        });
        // A signed URL expires; the API gives the bytes to a member with a token.
        img.addEventListener('error', () => {
          if (img.dataset.fallback) return;
          img.dataset.fallback = '1';
          store.api.mediaBlob(media.id, !!media.thumbUrl).then((blob) => { img.src = URL.createObjectURL(blob); }, () => {});
        }, { once: false });
        b.classList.add('media');
        b.append(url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, img) : img);
      } else {
        b.classList.add('file');
        b.append(h('a', { class: 'file-card', href: url || '#', download: media.filename || true, rel: 'noopener noreferrer' },
          icon('file'), h('span', { class: 'file-text' }, h('span', { class: 'file-name' }, media.filename || 'File'),
            h('span', { class: 'file-size' }, formatSize(media.size || 0)))));
      }
      if (m.text) b.append(h('p', { class: 'caption' }, m.text));
    } else {
      b.textContent = m.text || (m.type === 'text' ? '' : 'Attachment');
    }
    return b;
  }

  function renderPending(li, p) {
    const sig = `${p.status}|${p.error}`;
    if (li.dataset.sig === sig) return;
    li.dataset.sig = sig;
    li.className = `msg mine pending ${p.status}`;
    const b = h('div', { class: 'bubble' });
    if (p.preview) b.append(h('img', { src: p.preview, alt: p.file.name }));
    else if (p.file) b.append(h('span', { class: 'file-card' }, icon('file'), h('span', { class: 'file-name' }, p.file.name)));
    else b.textContent = p.text;
    const meta = p.status === 'failed'
      ? h('div', { class: 'meta failed-meta' },
        h('span', { class: 'error-text', role: 'alert' }, 'Not sent. ' + p.error),
        p.canRetry ? h('button', { class: 'link', type: 'button', on: { click: () => store.retry(roomId, p.clientMsgId) } }, 'Retry') : null,
        h('button', { class: 'link', type: 'button', on: { click: () => store.discard(roomId, p.clientMsgId) } }, 'Delete'))
      : h('div', { class: 'meta' }, h('span', { class: 'sending' }, 'Sending…'));
    li.replaceChildren(h('div', { class: 'msg-col' }, h('div', { class: 'msg-row' }, b, meta)));
  }

  // loadOlder loads older pages while the messages do not fill the view.
  function loadOlder() {
    const t = roomId && store.timeline(roomId);
    if (!t || !t.loaded || !t.hasMore) return;
    if (scroller.scrollHeight <= scroller.clientHeight + 200 || scroller.scrollTop < 200) {
      const id = roomId;
      olderStatus.textContent = 'Loading earlier messages…';
      Promise.resolve(store.older(id)).then(() => {
        if (id !== roomId) return;
        olderStatus.textContent = '';
        requestAnimationFrame(loadOlder);
      }, () => {
        if (id === roomId) olderStatus.textContent = 'Could not load earlier messages.';
      });
    }
  }
  scroller.addEventListener('scroll', () => {
    if (scroller.scrollTop < 200) loadOlder();
  }, { passive: true });

  function onSubmit(e) {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !roomId) return;
    store.sendText(roomId, text);
    input.value = '';
    autosize();
    input.focus();
    scroller.scrollTop = scroller.scrollHeight;
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 160) + 'px';
  }

  input.addEventListener('keydown', (e) => {
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    autosize();
    if (roomId && input.value.trim()) store.typingNow(roomId);
  });
  fileInput.addEventListener('change', () => {
    for (const f of fileInput.files) if (roomId) store.sendFile(roomId, f);
    fileInput.value = '';
  });

  // Drag and drop of files anywhere on the room.
  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  room.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth++;
    dropHint.hidden = false;
  });
  room.addEventListener('dragover', (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  room.addEventListener('dragleave', () => {
    if (--dragDepth <= 0) {
      dragDepth = 0;
      dropHint.hidden = true;
    }
  });
  room.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    dropHint.hidden = true;
    for (const f of e.dataTransfer.files) if (roomId) store.sendFile(roomId, f);
  });

  store.addEventListener('timeline', (e) => {
    if (e.detail === roomId) render(false);
  });
  store.addEventListener('message', (e) => {
    if (e.detail.roomId === roomId && e.detail.senderId === me.id) scroller.scrollTop = scroller.scrollHeight;
  });
  const refreshHead = () => {
    if (roomId) {
      renderHead();
      render(false);
    }
  };
  store.addEventListener('rooms', () => roomId && renderHead());
  store.addEventListener('presence', () => roomId && renderHead());
  store.addEventListener('users', refreshHead);
  store.addEventListener('typing', (e) => {
    if (e.detail === roomId) renderTyping();
  });

  return {
    el,
    show,
    setVisible(v) {
      visible = v;
      if (v) scheduleRead();
    },
    setConnection(s) {
      connState = s;
      banner.hidden = s === 'open';
      banner.textContent = s === 'connecting' ? 'Connecting…'
        : 'Reconnecting… New messages will appear as soon as the connection is back.';
      banner.dataset.state = connState;
    },
    tick() {
      if (roomId) renderHead();
    },
  };
}
