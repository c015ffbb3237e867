// The open room: its header with presence (and Block in a direct room), the pinned bar, the
// messages with day separators, unread counts, replies, reactions, edits, tombstones and
// delivery ticks, a menu per message, upward infinite scroll, the typing indicator, and the
// composer with replies and @ mentions.

import { describeError } from './api.js';
import { avatar, dayKey, fill, formatDay, formatLastSeen, formatSize, formatTime, h, icon, reconcile } from './dom.js';

// The most member avatars a group's header shows.
const HEAD_MEMBERS = 12;

const RUN_BREAK_MS = 5 * 60_000; // a new run of bubbles after five quiet minutes

// The reaction picker's emoji.
const QUICK_EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🎉'];
// The most people the @ completion offers at once.
const MENTION_CHOICES = 8;

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
  let namesGen = 0; // bumped when profiles arrive: names in messages change
  let editing = null; // {id, text, mentions: Map name → id}: the message being edited
  let replyTarget = null; // the message the composer replies to
  const composerMentions = new Map(); // @name → user id, picked from the completion
  let mentionState = null; // the open @ completion: {start, items, active}
  let menuFor = null; // {btn, id}: the message whose menu is open
  const revealed = new Set(); // messages of blocked users shown on request
  let pinIndex = 0;

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
    'aria-autocomplete': 'list', 'aria-controls': 'mention-list',
  });
  const pinnedBar = h('div', { class: 'pinned-bar', hidden: true });
  const notice = h('div', { class: 'room-notice', role: 'alert', hidden: true });
  const replyBar = h('div', { class: 'reply-bar', hidden: true });
  const mentionList = h('ul', { class: 'mention-list', role: 'listbox', id: 'mention-list', 'aria-label': 'People to mention', hidden: true });
  const menuEl = h('div', { class: 'msg-menu', role: 'menu', 'aria-label': 'Message actions', hidden: true });
  const blockBtn = h('button', { class: 'btn small block-btn', type: 'button', hidden: true, on: { click: toggleBlock } });
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
      members, blockBtn),
    pinnedBar, banner, scroller, typing, notice, replyBar, mentionList, composer, dropHint, menuEl);
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

  let opening = Promise.resolve(); // show's first load of the room

  function show(id) {
    roomId = id;
    placeholder.hidden = !!id;
    room.hidden = !id;
    list.replaceChildren();
    seen.clear();
    firstKey = null;
    input.value = '';
    autosize();
    closeMenu();
    closeMentions();
    hideNotice();
    editing = null;
    replyTarget = null;
    composerMentions.clear();
    revealed.clear();
    pinIndex = 0;
    renderReplyBar();
    renderPins();
    if (!id) return;
    store.loadPins(id).catch(() => {}); // no bar when it cannot be had
    render(true);
    renderHead();
    renderTyping();
    olderStatus.textContent = store.timeline(id).loaded ? '' : 'Loading…';
    opening = store.open(id).then(() => {
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
      const blocked = store.blocked.has(others[0]);
      blockBtn.hidden = false;
      blockBtn.textContent = blocked ? 'Unblock' : 'Block';
      blockBtn.setAttribute('aria-label', `${blocked ? 'Unblock' : 'Block'} ${name}`);
    } else {
      blockBtn.hidden = true;
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
    const isEditing = !!editing && editing.id === m.id;
    // The editor stays as typed while other things change around it.
    if (isEditing && li.dataset.editing === '1') return;
    const r = store.rooms.get(roomId);
    const group = r && r.type === 'group';
    const mine = m.senderId === me.id;
    // The replied-to message as shown here when loaded (newer than the copy in replyTo).
    const target = m.replyTo && !m.deletedAt ? (store.message(roomId, m.replyTo.id) || m.replyTo) : null;
    const hideBlocked = group && !mine && store.blocked.has(m.senderId) && !revealed.has(m.id);
    const tick = mine && !m.deletedAt && r && r.type === 'direct' ? store.tick(roomId, m) : '';
    const sig = [first, unread, namesGen, store.userName(m.senderId), m.rev, m.deletedAt, m.editedAt, m.pinnedAt, tick,
      hideBlocked, isEditing, target ? `${target.deleted || !!target.deletedAt}:${target.text}` : ''].join('|');
    if (li.dataset.sig === sig) return;
    li.dataset.sig = sig;
    li.dataset.editing = isEditing ? '1' : '';
    const mentionsMe = !mine && !m.deletedAt && (m.mentions || []).includes(me.id);
    li.className = `msg ${mine ? 'mine' : 'theirs'}${first ? ' first' : ''}${mentionsMe ? ' mentions-me' : ''}${m.deletedAt ? ' deleted' : ''}`;
    li.dataset.senderId = m.senderId;
    li.dataset.id = m.id;
    if (hideBlocked) {
      fill(li, h('div', { class: 'blocked-line' }, 'Message from a blocked user — ',
        h('button', { class: 'link', type: 'button', 'aria-label': 'Show the message from a blocked user', on: { click: () => { revealed.add(m.id); render(false); } } }, 'show')));
      return;
    }
    const showAvatar = !mine && group;
    fill(li,
      showAvatar ? (first ? avatar(m.senderId, store.userName(m.senderId), 'small') : h('span', { class: 'avatar-gap' })) : null,
      h('div', { class: 'msg-col' },
        !mine && group && first ? h('div', { class: 'sender' }, store.userName(m.senderId)) : null,
        target ? quote(target) : null,
        h('div', { class: 'msg-row' },
          isEditing ? editor() : bubble(m),
          h('div', { class: 'meta' },
            unread > 0 ? h('span', { class: 'unread', title: `${unread} not read yet`, 'aria-label': `${unread} unread` }, String(unread)) : null,
            m.pinnedAt && !m.deletedAt ? h('span', { class: 'pinned-mark', title: 'Pinned', 'aria-label': 'Pinned' }, '📌') : null,
            m.editedAt && !m.deletedAt ? h('span', { class: 'edited', title: 'Edited ' + formatTime(m.editedAt) }, 'edited') : null,
            h('time', { datetime: m.createdAt }, formatTime(m.createdAt)),
            tick ? ticks(tick) : null),
          m.deletedAt || isEditing ? null : h('button', {
            class: 'msg-actions', type: 'button', title: 'More', 'aria-label': 'Message actions',
            'aria-haspopup': 'menu', 'aria-expanded': 'false', on: { click: (e) => openMenu(e.currentTarget, m.id) },
          }, '⋯')),
        !m.deletedAt && m.reactions && m.reactions.length ? reactions(m) : null));
  }

  function ticks(state) {
    const label = state === 'read' ? 'Read' : state === 'delivered' ? 'Delivered' : 'Sent';
    return h('span', { class: `ticks ${state}`, role: 'img', title: label, 'aria-label': label }, state === 'sent' ? '✓' : '✓✓');
  }

  // quote is the replied-to message above a bubble: a button that shows it.
  function quote(target) {
    const deleted = target.deleted || !!target.deletedAt;
    const text = deleted ? 'deleted message' : target.text || (target.type === 'image' ? 'Photo' : target.type === 'file' ? 'File' : '');
    const who = store.userName(target.senderId);
    return h('button', {
      class: `reply-quote${deleted ? ' deleted' : ''}`, type: 'button', title: 'Show the message replied to',
      'aria-label': `In reply to ${who}: ${text}. Show it`, on: { click: () => jumpTo(target.seq) },
    }, h('span', { class: 'quote-name' }, who), h('span', { class: 'quote-text' }, text));
  }

  function reactions(m) {
    return h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' }, m.reactions.map((r) => {
      const mine = r.userIds.includes(me.id);
      const more = r.count - r.userIds.length;
      const names = r.userIds.map((id) => (id === me.id ? 'You' : store.userName(id))).join(', ') + (more > 0 ? ` and ${more} more` : '');
      return h('button', {
        class: `reaction${mine ? ' mine' : ''}`, type: 'button', title: names, 'aria-pressed': mine ? 'true' : 'false',
        'aria-label': `${r.emoji} ${r.count}: ${names}`, dataset: { emoji: r.emoji },
        on: { click: () => react(m.id, r.emoji, !mine) },
      }, h('span', { class: 'reaction-emoji' }, r.emoji), h('span', { class: 'reaction-count' }, String(r.count)));
    }));
  }

  // withMentions is a text with the @names of its mentions marked (as text nodes in spans).
  function withMentions(text, ids) {
    const tokens = [...new Set(ids || [])].map((id) => ({ id, at: '@' + store.userName(id) }));
    const out = [];
    let i = 0;
    while (tokens.length && i < text.length) {
      let best = null;
      for (const tk of tokens) {
        const j = text.indexOf(tk.at, i);
        if (j >= 0 && (!best || j < best.j || (j === best.j && tk.at.length > best.tk.at.length))) best = { j, tk };
      }
      if (!best) break;
      if (best.j > i) out.push(text.slice(i, best.j));
      out.push(h('span', { class: `mention${best.tk.id === me.id ? ' mention-me' : ''}` }, best.tk.at));
      i = best.j + best.tk.at.length;
    }
    if (i < text.length) out.push(text.slice(i));
    return out;
  }

  function bubble(m) {
    if (m.deletedAt) return h('div', { class: 'bubble tombstone' }, 'Message deleted');
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
      if (m.text) b.append(h('p', { class: 'caption' }, withMentions(m.text, m.mentions)));
    } else if (m.text) {
      fill(b, withMentions(m.text, m.mentions));
    } else {
      b.textContent = m.type === 'text' ? '' : 'Attachment';
    }
    return b;
  }

  // The inline editor of one's own message (Enter saves, Escape cancels).
  function editor() {
    const ta = h('textarea', { class: 'edit-input', rows: 2, 'aria-label': 'Edit message', value: editing.text });
    ta.addEventListener('input', () => {
      editing.text = ta.value;
    });
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        saveEdit();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        cancelEdit();
      }
    });
    requestAnimationFrame(() => {
      ta.focus();
      ta.setSelectionRange(ta.value.length, ta.value.length);
    });
    return h('form', { class: 'editor', on: { submit: (e) => { e.preventDefault(); saveEdit(); } } }, ta,
      h('div', { class: 'editor-actions' },
        h('span', { class: 'hint' }, 'Enter saves · Esc cancels'),
        h('button', { class: 'btn small', type: 'button', on: { click: cancelEdit } }, 'Cancel'),
        h('button', { class: 'btn small primary', type: 'submit' }, 'Save')));
  }

  function startEdit(m) {
    closeMenu();
    const mentions = new Map((m.mentions || []).map((id) => [store.userName(id), id]));
    editing = { id: m.id, text: m.text, original: m.text, mentions };
    render(false);
  }

  function cancelEdit() {
    const id = editing && editing.id;
    editing = null;
    render(false);
    if (id) input.focus();
  }

  async function saveEdit() {
    if (!editing) return;
    const e = editing;
    const text = e.text.trim();
    if (text === e.original.trim()) return cancelEdit();
    if (!text) {
      showNotice('A message cannot be empty. To take it back, delete it.');
      return;
    }
    try {
      await store.edit(roomId, e.id, text, mentionIds(text, e.mentions));
      if (editing === e) cancelEdit();
    } catch (err) {
      showNotice('Could not edit the message: ' + describeError(err));
    }
  }

  // mentionIds are the users whose picked @name is still in the text.
  function mentionIds(text, names) {
    return [...new Set([...names].filter(([name]) => text.includes('@' + name)).map(([, id]) => id))];
  }

  async function react(id, emoji, on) {
    try {
      await store.react(roomId, id, emoji, on);
    } catch (err) {
      showNotice(`Could not ${on ? 'add' : 'remove'} the reaction: ${describeError(err)}`);
    }
  }

  async function setPinned(m, on) {
    try {
      await store.setPinned(roomId, m.id, on);
    } catch (err) {
      // In a group only its owner or admins may pin: the server says so, and so does this.
      showNotice(`Could not ${on ? 'pin' : 'unpin'} the message: ${describeError(err)}`);
    }
  }

  async function removeMessage(m) {
    try {
      await store.remove(roomId, m.id);
    } catch (err) {
      showNotice('Could not delete the message: ' + describeError(err));
    }
  }

  function startReply(m) {
    closeMenu();
    replyTarget = m;
    renderReplyBar();
    input.focus();
  }

  function cancelReply() {
    replyTarget = null;
    renderReplyBar();
  }

  function renderReplyBar() {
    replyBar.hidden = !replyTarget;
    if (!replyTarget) return replyBar.replaceChildren();
    const m = replyTarget;
    const text = m.text || (m.type === 'image' ? 'Photo' : m.type === 'file' ? 'File' : '');
    fill(replyBar,
      h('div', { class: 'reply-bar-text' },
        h('span', { class: 'quote-name' }, 'Replying to ' + store.userName(m.senderId)),
        h('span', { class: 'quote-text' }, text)),
      h('button', { class: 'icon-btn', type: 'button', title: 'Cancel reply', 'aria-label': 'Cancel reply', on: { click: () => { cancelReply(); input.focus(); } } }, icon('x')));
  }

  function showNotice(text) {
    notice.hidden = false;
    fill(notice, h('span', {}, text),
      h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Dismiss', on: { click: hideNotice } }, icon('x')));
  }

  function hideNotice() {
    notice.hidden = true;
    notice.replaceChildren();
  }

  // The menu of one message: a row of emoji, Reply, Edit, Pin or Unpin, Delete. Arrow
  // keys move in it, Escape closes it.
  function openMenu(btn, id) {
    const m = store.message(roomId, id);
    if (!m || m.deletedAt) return;
    if (menuFor && menuFor.id === id) return closeMenu(true);
    closeMenu();
    const mine = m.senderId === me.id;
    const reacted = (e) => (m.reactions || []).some((x) => x.emoji === e && x.userIds.includes(me.id));
    const item = (label, fn, cls = '') => h('button', {
      type: 'button', role: 'menuitem', class: `menu-item ${cls}`, tabindex: '-1', on: { click: fn },
    }, label);
    const fillMain = () => fill(menuEl,
      h('div', { class: 'menu-emoji', role: 'group', 'aria-label': 'React' }, QUICK_EMOJI.map((e) => h('button', {
        type: 'button', role: 'menuitem', class: `emoji-btn${reacted(e) ? ' mine' : ''}`, tabindex: '-1',
        'aria-label': `${reacted(e) ? 'Remove reaction' : 'React with'} ${e}`, title: reacted(e) ? 'Remove your reaction' : 'React',
        on: { click: () => { closeMenu(true); react(m.id, e, !reacted(e)); } },
      }, e))),
      item('Reply', () => startReply(m)),
      mine && m.type === 'text' ? item('Edit', () => startEdit(m)) : null,
      item(m.pinnedAt ? 'Unpin' : 'Pin', () => { closeMenu(true); setPinned(m, !m.pinnedAt); }),
      mine ? item('Delete…', () => {
        // Asked once more, in the menu: deleting cannot be undone.
        fill(menuEl, h('p', { class: 'menu-question' }, 'Delete this message for everyone?'),
          item('Delete', () => { closeMenu(true); removeMessage(m); }, 'danger'),
          item('Cancel', () => closeMenu(true)));
        menuEl.querySelector('[role="menuitem"]').focus();
      }, 'danger') : null);
    fillMain();
    menuFor = { btn, id };
    btn.setAttribute('aria-expanded', 'true');
    menuEl.hidden = false;
    const rr = room.getBoundingClientRect();
    const br = btn.getBoundingClientRect();
    let top = br.bottom - rr.top + 4;
    if (top + menuEl.offsetHeight > rr.height - 8) top = Math.max(8, br.top - rr.top - menuEl.offsetHeight - 4);
    const left = Math.max(8, Math.min(br.left - rr.left, rr.width - menuEl.offsetWidth - 8));
    menuEl.style.top = top + 'px';
    menuEl.style.left = left + 'px';
    menuEl.querySelector('[role="menuitem"]').focus();
  }

  function closeMenu(refocus = false) {
    if (!menuFor) return;
    const { btn, id } = menuFor;
    menuFor = null;
    menuEl.hidden = true;
    menuEl.replaceChildren();
    btn.setAttribute('aria-expanded', 'false');
    if (!refocus) return;
    // The message may have been drawn again: its new button takes the focus.
    const again = btn.isConnected ? btn : list.querySelector(`li[data-key="m:${CSS.escape(id)}"] .msg-actions`);
    if (again) again.focus();
  }

  menuEl.addEventListener('keydown', (e) => {
    const items = [...menuEl.querySelectorAll('[role="menuitem"]')];
    const i = items.indexOf(document.activeElement);
    const move = (to) => {
      e.preventDefault();
      items[(to + items.length) % items.length].focus();
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') move(i + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') move(i - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(items.length - 1);
    else if (e.key === 'Escape') {
      e.preventDefault();
      closeMenu(true);
    } else if (e.key === 'Tab') closeMenu();
  });
  document.addEventListener('pointerdown', (e) => {
    if (menuFor && !menuEl.contains(e.target) && e.target !== menuFor.btn) closeMenu();
  });

  // jumpTo shows the message with this seq, loading older history until it is there.
  async function jumpTo(seq) {
    const id = roomId;
    const t = store.timeline(id);
    try {
      while (id === roomId && t.loaded && t.hasMore && (!t.messages.length || t.messages[0].seq > seq)) {
        olderStatus.textContent = 'Loading earlier messages…';
        await store.older(id);
      }
    } catch (err) {
      if (id === roomId) olderStatus.textContent = 'Could not load earlier messages.';
      return;
    }
    if (id !== roomId) return;
    olderStatus.textContent = '';
    const li = list.querySelector(`li.msg[data-seq="${seq}"]`);
    if (!li) {
      showNotice('That message is not in this conversation any more.');
      return;
    }
    li.scrollIntoView({ block: 'center' });
    li.classList.remove('flash');
    void li.offsetWidth; // restart the highlight
    li.classList.add('flash');
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
  }

  function renderPins() {
    const pins = (roomId && store.pins.get(roomId)) || [];
    pinnedBar.hidden = pins.length === 0;
    if (!pins.length) return pinnedBar.replaceChildren();
    if (pinIndex >= pins.length) pinIndex = 0;
    const p = pins[pinIndex];
    const label = pins.length > 1 ? `Pinned message ${pinIndex + 1} of ${pins.length}` : 'Pinned message';
    const text = p.text || (p.type === 'image' ? 'Photo' : p.type === 'file' ? 'File' : '');
    fill(pinnedBar, h('button', {
      class: 'pinned-main', type: 'button', 'aria-label': `${label}: ${text}. Show it`,
      on: {
        click: () => {
          jumpTo(p.seq);
          // The next click shows the next pin, as the label says.
          if (pins.length > 1) {
            pinIndex = (pinIndex + 1) % pins.length;
            renderPins();
          }
        },
      },
    }, h('span', { class: 'pin-icon', 'aria-hidden': 'true' }, '📌'),
    h('span', { class: 'pinned-text' }, h('span', { class: 'pinned-label' }, label), h('span', { class: 'pinned-preview' }, text))));
  }

  async function toggleBlock() {
    const r = store.rooms.get(roomId);
    const other = r && r.type === 'direct' && store.others(r)[0];
    if (!other) return;
    const on = !store.blocked.has(other);
    try {
      await store.setBlocked(other, on);
    } catch (err) {
      showNotice(`Could not ${on ? 'block' : 'unblock'}: ${describeError(err)}`);
    }
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
    const q = p.replyTo ? h('div', { class: 'reply-quote' }, h('span', { class: 'quote-name' }, store.userName(p.replyTo.senderId)),
      h('span', { class: 'quote-text' }, p.replyTo.text || 'Attachment')) : null;
    const meta = p.status === 'failed'
      ? h('div', { class: 'meta failed-meta' },
        h('span', { class: 'error-text', role: 'alert' }, 'Not sent. ' + p.error),
        p.canRetry ? h('button', { class: 'link', type: 'button', on: { click: () => store.retry(roomId, p.clientMsgId) } }, 'Retry') : null,
        h('button', { class: 'link', type: 'button', on: { click: () => store.discard(roomId, p.clientMsgId) } }, 'Delete'))
      : h('div', { class: 'meta' }, h('span', { class: 'sending' }, 'Sending…'));
    li.replaceChildren(h('div', { class: 'msg-col' }, q, h('div', { class: 'msg-row' }, b, meta)));
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
    store.sendText(roomId, text, { replyTo: replyTarget, mentions: mentionIds(text, composerMentions) });
    input.value = '';
    composerMentions.clear();
    closeMentions();
    cancelReply();
    autosize();
    input.focus();
    scroller.scrollTop = scroller.scrollHeight;
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 160) + 'px';
  }

  input.addEventListener('keydown', (e) => {
    if (mentionState && !e.isComposing) {
      const n = mentionState.items.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        mentionState.active = (mentionState.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        renderMentions();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pickMention(mentionState.active);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        closeMentions();
        return;
      }
    }
    // ↑ in an empty composer edits one's last message.
    if (e.key === 'ArrowUp' && !input.value && roomId) {
      const last = [...store.timeline(roomId).messages].reverse().find((m) => m.senderId === me.id && m.type === 'text' && !m.deletedAt);
      if (last) {
        e.preventDefault();
        startEdit(last);
        return;
      }
    }
    if (e.key === 'Escape' && replyTarget) {
      e.preventDefault();
      cancelReply();
      return;
    }
    // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    autosize();
    updateMentions();
    if (roomId && input.value.trim()) store.typingNow(roomId);
  });
  input.addEventListener('blur', () => setTimeout(() => {
    if (document.activeElement !== input) closeMentions();
  }, 150));

  // @ completion: the room's members whose name (or username) starts with what follows @.
  function updateMentions() {
    const pos = input.selectionStart;
    const r = roomId && store.rooms.get(roomId);
    const found = r && pos === input.selectionEnd ? /(^|\s)@([^\s@]{0,30})$/.exec(input.value.slice(0, pos)) : null;
    if (!found) return closeMentions();
    const q = found[2].toLowerCase();
    const items = r.memberIds
      .filter((id) => id !== me.id && store.users.has(id))
      .map((id) => ({ id, name: store.userName(id), username: store.users.get(id).username || '' }))
      .filter((c) => !q || c.username.toLowerCase().startsWith(q) || c.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)))
      .slice(0, MENTION_CHOICES);
    if (!items.length) return closeMentions();
    mentionState = { start: pos - found[2].length - 1, end: pos, items, active: 0 };
    renderMentions();
  }

  function renderMentions() {
    const { items, active } = mentionState;
    mentionList.hidden = false;
    fill(mentionList, items.map((c, i) => h('li', {
      id: 'mention-opt-' + i, role: 'option', class: 'mention-option', 'aria-selected': i === active ? 'true' : 'false',
      on: { mousedown: (e) => e.preventDefault(), click: () => pickMention(i) },
    }, avatar(c.id, c.name, 'small'), h('span', {}, c.name))));
    input.setAttribute('aria-activedescendant', 'mention-opt-' + active);
  }

  function pickMention(i) {
    const c = mentionState.items[i];
    const { start, end } = mentionState;
    const insert = `@${c.name} `;
    input.value = input.value.slice(0, start) + insert + input.value.slice(end);
    const caret = start + insert.length;
    input.setSelectionRange(caret, caret);
    composerMentions.set(c.name, c.id);
    closeMentions();
    input.focus();
    autosize();
  }

  function closeMentions() {
    mentionState = null;
    mentionList.hidden = true;
    mentionList.replaceChildren();
    input.removeAttribute('aria-activedescendant');
  }
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
  store.addEventListener('users', () => {
    namesGen++;
    refreshHead();
  });
  store.addEventListener('pins', (e) => {
    if (e.detail === roomId) renderPins();
  });
  store.addEventListener('blocks', refreshHead);
  store.addEventListener('typing', (e) => {
    if (e.detail === roomId) renderTyping();
  });

  return {
    el,
    show,
    // reveal scrolls to the message with seq in room id once it is open (a search result).
    async reveal(id, seq) {
      await opening; // after the first page is shown, which scrolls to the end
      if (id !== roomId || !store.timeline(id).loaded) return;
      await jumpTo(seq);
    },
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
