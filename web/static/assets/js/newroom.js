// The "new chat" dialog: search people by name, pick one for a direct chat or several (or
// give a name) for a group.

import { describeError } from './api.js';
import { avatar, h, icon } from './dom.js';

export function newRoomDialog(store, onCreated) {
  const picked = new Map(); // id → user
  let searchSeq = 0;
  let timer = 0;

  const search = h('input', {
    id: 'newroom-search', type: 'search', autocomplete: 'off', placeholder: 'Search by name or username',
    'aria-controls': 'newroom-results', 'aria-describedby': 'newroom-help',
  });
  const help = h('p', { class: 'hint', id: 'newroom-help' }, 'Pick one person for a direct chat, or several for a group.');
  const chips = h('ul', { class: 'chips', 'aria-label': 'Picked' });
  const results = h('ul', { class: 'results', id: 'newroom-results', 'aria-label': 'People' });
  const nameField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'newroom-name' }, 'Group name (optional)'),
    h('input', { id: 'newroom-name', maxlength: 100, autocomplete: 'off' }));
  const name = nameField.querySelector('input');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const create = h('button', { class: 'btn primary', type: 'submit', disabled: true }, 'Start chat');
  const cancel = h('button', { class: 'btn', type: 'button', on: { click: () => dialog.close() } }, 'Cancel');

  const form = h('form', { method: 'dialog', class: 'newroom', on: { submit: onSubmit } },
    h('header', { class: 'dialog-head' },
      h('h2', { id: 'newroom-title' }, 'New chat'),
      h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Close', on: { click: () => dialog.close() } }, icon('x'))),
    h('div', { class: 'field' },
      h('label', { for: 'newroom-search' }, 'People'),
      h('div', { class: 'search-box' }, icon('search'), search),
      help),
    chips, results, nameField, error,
    h('footer', { class: 'dialog-foot' }, cancel, create));
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'newroom-title' }, form);

  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 200);
  });

  async function runSearch() {
    const q = search.value.trim();
    const seq = ++searchSeq;
    if (!q) {
      results.replaceChildren();
      return;
    }
    try {
      const { users } = await store.api.searchUsers(q);
      if (seq !== searchSeq) return;
      const others = users.filter((u) => u.id !== store.me.id);
      results.replaceChildren(...(others.length ? others.map(resultItem) : [h('li', { class: 'muted empty' }, 'No one found.')]));
    } catch (err) {
      if (seq === searchSeq) error.textContent = describeError(err);
    }
  }

  function resultItem(u) {
    const on = picked.has(u.id);
    const btn = h('button', {
      type: 'button', class: 'result', 'aria-pressed': on ? 'true' : 'false', dataset: { userId: u.id },
      on: { click: () => toggle(u, btn) },
    }, avatar(u.id, u.displayName), h('span', { class: 'result-text' }, h('strong', {}, u.displayName), h('span', { class: 'muted' }, '@' + u.username)));
    return h('li', {}, btn);
  }

  function toggle(u, btn) {
    if (picked.has(u.id)) picked.delete(u.id);
    else picked.set(u.id, u);
    if (btn) btn.setAttribute('aria-pressed', picked.has(u.id) ? 'true' : 'false');
    renderPicked();
  }

  function renderPicked() {
    chips.replaceChildren(...[...picked.values()].map((u) => h('li', { class: 'chip' },
      h('span', {}, u.displayName),
      h('button', {
        type: 'button', class: 'chip-x', 'aria-label': `Remove ${u.displayName}`,
        on: {
          click: () => {
            picked.delete(u.id);
            const b = results.querySelector(`[data-user-id="${CSS.escape(u.id)}"]`);
            if (b) b.setAttribute('aria-pressed', 'false');
            renderPicked();
          },
        },
      }, icon('x')))));
    const n = picked.size;
    nameField.hidden = n < 2;
    create.disabled = n === 0;
    create.textContent = n >= 2 ? `Create group (${n + 1})` : 'Start chat';
  }

  async function onSubmit(e) {
    e.preventDefault();
    const ids = [...picked.keys()];
    if (!ids.length) return;
    error.textContent = '';
    create.disabled = true;
    try {
      const group = ids.length > 1;
      const room = await store.api.createRoom(group ? 'group' : 'direct', ids, group ? name.value.trim() : '');
      store.onRoomUpdated(room);
      dialog.close();
      onCreated(room.id);
    } catch (err) {
      error.textContent = describeError(err);
    } finally {
      create.disabled = picked.size === 0;
    }
  }

  dialog.addEventListener('close', () => {
    picked.clear();
    search.value = '';
    name.value = '';
    results.replaceChildren();
    error.textContent = '';
    renderPicked();
  });

  return {
    el: dialog,
    open() {
      dialog.showModal();
      search.focus();
    },
  };
}
