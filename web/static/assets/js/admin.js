// The administration page (/admin): users (suspension, erasure), the reports queue with
// each message in its context, rooms' retention, and the audit log. Served by
// the same binary; every call is checked by the server (403 not_admin for anyone who is
// not a server administrator), so this page only shows what the API allows.

import { formatListTime, h, fill } from './dom.js';

export function adminApp(api) {
  const status = h('p', { class: 'admin-status', role: 'status', 'aria-live': 'polite' });
  const usersBody = h('tbody');
  const auditBody = h('tbody');
  const reportsList = h('ul', { class: 'admin-reports', 'aria-label': 'Open reports' });
  const noReports = h('p', { class: 'muted' }, 'No open reports.');
  const search = h('input', { type: 'search', class: 'admin-search', placeholder: 'Username or name', 'aria-label': 'Search users' });
  const moreUsers = h('button', { class: 'btn', type: 'button', hidden: true }, 'More users');
  const moreAudit = h('button', { class: 'btn', type: 'button', hidden: true }, 'Older entries');
  const names = new Map(); // user id → username, for the audit log
  let usersCursor = null;
  let auditCursor = null;
  let query = '';
  let searchTimer = null;

  const roomsBody = h('tbody');
  const noRooms = h('p', { class: 'muted' }, 'Every room keeps the server\'s default.');
  const roomIdInput = h('input', { type: 'text', class: 'admin-input', placeholder: 'Room id', 'aria-label': 'Room id', autocomplete: 'off' });
  const daysInput = h('input', { type: 'number', class: 'admin-input days', min: '0', max: '36500', placeholder: 'Days', 'aria-label': 'Retention in days' });
  const setRetention = h('button', { class: 'btn primary', type: 'submit' }, 'Set retention');
  const retentionForm = h('form', { class: 'admin-form' }, roomIdInput, daysInput, setRetention);

  const el = h('div', { class: 'admin' },
    h('header', { class: 'admin-head' },
      h('h1', {}, 'Administration'),
      h('a', { class: 'btn', href: '/' }, 'Back to chat')),
    status,
    h('section', { class: 'admin-section', 'aria-labelledby': 'admin-users' },
      h('h2', { id: 'admin-users' }, 'Users'),
      search,
      h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Joined'), h('th', {}, 'State'), h('th', {}, ''))),
        usersBody),
      moreUsers),
    h('section', { class: 'admin-section', 'aria-labelledby': 'admin-reports' },
      h('h2', { id: 'admin-reports' }, 'Open reports'),
      noReports,
      reportsList),
    h('section', { class: 'admin-section', 'aria-labelledby': 'admin-rooms' },
      h('h2', { id: 'admin-rooms' }, 'Room retention'),
      h('p', { class: 'muted' }, 'Messages older than a room\'s retention are deleted, pinned ones kept; 0 keeps them forever; a room never set keeps the server\'s default.'),
      retentionForm,
      noRooms,
      h('table', { class: 'admin-table rooms-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Room'), h('th', {}, 'Id'), h('th', {}, 'Keeps messages'))),
        roomsBody)),
    h('section', { class: 'admin-section', 'aria-labelledby': 'admin-audit' },
      h('h2', { id: 'admin-audit' }, 'Audit log'),
      h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Who'), h('th', {}, 'What'), h('th', {}, 'Whom'))),
        auditBody),
      moreAudit));

  function fail(err) {
    if (err && err.code === 'not_admin') {
      fill(status, 'You are not a server administrator. An operator grants it with ',
        h('code', {}, 'chatchat admin grant USERNAME'), '.');
      el.dataset.denied = 'true';
    } else {
      status.textContent = (err && err.message) || 'Something went wrong.';
    }
  }

  function userRow(u) {
    names.set(u.id, u.username);
    const erased = u.username.startsWith('deleted-');
    const state = erased ? 'Erased' : u.suspendedAt ? 'Suspended' : u.admin ? 'Administrator' : 'Active';
    const toggle = h('button', { class: 'btn', type: 'button', dataset: { action: u.suspendedAt ? 'unsuspend' : 'suspend' } },
      u.suspendedAt ? 'Unsuspend' : 'Suspend');
    // Erasing asks twice: the first click arms the button, the second erases.
    const erase = h('button', { class: 'btn danger', type: 'button', dataset: { action: 'erase' } }, 'Erase');
    const row = h('tr', { dataset: { userId: u.id, username: u.username } },
      h('td', {}, h('strong', {}, u.displayName), ' ', h('span', { class: 'muted' }, '@' + u.username)),
      h('td', {}, formatListTime(u.createdAt)),
      h('td', { class: 'admin-state' }, state),
      h('td', { class: 'admin-actions' }, erased ? null : toggle, erased ? null : erase));
    erase.addEventListener('click', async () => {
      if (erase.dataset.armed !== 'true') {
        erase.dataset.armed = 'true';
        erase.textContent = `Erase ${u.username} for good?`;
        return;
      }
      erase.disabled = true;
      try {
        await api.eraseUser(u.id);
        status.textContent = `${u.username} is erased: their messages deleted, their rooms left, their profile anonymised.`;
        loadUsers(true);
        reloadAudit();
      } catch (err) {
        erase.disabled = false;
        fail(err);
      }
    });
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        const next = u.suspendedAt ? await api.unsuspend(u.id) : await api.suspend(u.id);
        row.replaceWith(userRow(next));
        status.textContent = `${next.username} is ${next.suspendedAt ? 'suspended' : 'no longer suspended'}.`;
        reloadAudit();
      } catch (err) {
        toggle.disabled = false;
        fail(err);
      }
    });
    return row;
  }

  let usersLoad = 0; // the latest load wins: an older search answering late is dropped
  async function loadUsers(reset) {
    const n = ++usersLoad;
    try {
      const page = await api.adminUsers(query, reset ? null : usersCursor);
      if (n !== usersLoad) return;
      if (reset) usersBody.replaceChildren();
      for (const u of page.users) usersBody.append(userRow(u));
      usersCursor = page.nextCursor;
      moreUsers.hidden = !usersCursor;
    } catch (err) {
      fail(err);
    }
  }

  async function who(id) {
    if (!id) return 'the command line';
    if (!names.has(id)) {
      try {
        names.set(id, (await api.getUser(id)).username);
      } catch {
        names.set(id, id);
      }
    }
    return names.get(id);
  }

  async function loadAudit(reset) {
    try {
      const page = await api.audit(reset ? null : auditCursor);
      const rows = [];
      for (const e of page.entries) {
        rows.push(h('tr', { dataset: { action: e.action } },
          h('td', {}, formatListTime(e.createdAt)),
          h('td', {}, await who(e.actorId)),
          h('td', {}, e.action.replace('_', ' ')),
          h('td', {}, e.detail || e.targetId)));
      }
      if (reset) auditBody.replaceChildren();
      auditBody.append(...rows);
      auditCursor = page.nextCursor;
      moreAudit.hidden = !auditCursor;
    } catch (err) {
      fail(err);
    }
  }
  const reloadAudit = () => loadAudit(true);

  // A report shows the reported message as it is now, the reason, and the three actions.
  function reportItem(r) {
    const m = r.message;
    const text = !m ? '(the message is gone)' : m.deletedAt ? '(deleted)' : m.text || `(${m.type})`;
    const actions = [
      ['dismiss', 'Dismiss'],
      ['delete_message', 'Delete message'],
      ['suspend_sender', 'Suspend sender'],
    ].map(([action, label]) => {
      const b = h('button', { class: 'btn', type: 'button', dataset: { action } }, label);
      b.addEventListener('click', async () => {
        for (const x of item.querySelectorAll('button')) x.disabled = true;
        try {
          await api.resolveReport(r.id, action);
          item.remove();
          noReports.hidden = reportsList.children.length > 0;
          status.textContent = `Report resolved: ${label.toLowerCase()}.`;
          reloadAudit();
          if (action === 'suspend_sender') loadUsers(true);
        } catch (err) {
          for (const x of item.querySelectorAll('button')) x.disabled = false;
          fail(err);
        }
      });
      return b;
    });
    // The message among its neighbours, the reported one marked.
    const context = (r.context || []).length > 1
      ? h('ol', { class: 'report-context', 'aria-label': 'The conversation around it' },
        r.context.map((c) => h('li', { class: c.id === r.messageId ? 'reported' : '' },
          h('span', { class: 'muted' }, '@' + (names.get(c.senderId) || c.senderId) + ': '),
          c.deletedAt ? '(deleted)' : c.text || `(${c.type})`)))
      : h('blockquote', {}, text);
    const item = h('li', { class: 'admin-report', dataset: { reportId: r.id } },
      context,
      h('p', {}, h('span', { class: 'muted' }, 'Reason: '), r.reason),
      h('p', { class: 'muted report-who' }, `From ${names.get(r.senderId) || r.senderId}, reported ${formatListTime(r.createdAt)}`),
      h('div', { class: 'report-actions' }, actions));
    return item;
  }

  async function loadReports() {
    try {
      const page = await api.reports('open');
      for (const r of page.reports) {
        await who(r.senderId);
        for (const c of r.context || []) await who(c.senderId);
      }
      reportsList.replaceChildren(...page.reports.map(reportItem));
      noReports.hidden = page.reports.length > 0;
    } catch (err) {
      fail(err);
    }
  }

  async function loadRooms() {
    try {
      const page = await api.adminRooms();
      roomsBody.replaceChildren(...page.rooms.map((r) => h('tr', { dataset: { roomId: r.id } },
        h('td', {}, r.name || (r.type === 'direct' ? 'Direct conversation' : 'Group')),
        h('td', {}, h('code', {}, r.id)),
        h('td', { class: 'retention' }, r.retentionDays ? `${r.retentionDays} day${r.retentionDays === 1 ? '' : 's'}` : 'forever'))));
      noRooms.hidden = page.rooms.length > 0;
    } catch (err) {
      fail(err);
    }
  }

  retentionForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = roomIdInput.value.trim();
    const days = Number(daysInput.value);
    if (!id || daysInput.value === '' || !Number.isInteger(days)) {
      status.textContent = 'A room id and a whole number of days, please.';
      return;
    }
    setRetention.disabled = true;
    try {
      const r = await api.setRoomRetention(id, days);
      status.textContent = days ? `${r.name || r.id} keeps messages for ${days} day${days === 1 ? '' : 's'}.` : `${r.name || r.id} keeps its messages forever.`;
      roomIdInput.value = '';
      daysInput.value = '';
      loadRooms();
      reloadAudit();
    } catch (err) {
      fail(err);
    } finally {
      setRetention.disabled = false;
    }
  });

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      query = search.value.trim();
      loadUsers(true);
    }, 250);
  });
  moreUsers.addEventListener('click', () => loadUsers(false));
  moreAudit.addEventListener('click', () => loadAudit(false));
  loadUsers(true).then(loadReports).then(loadRooms).then(reloadAudit);

  return { el, destroy() { clearTimeout(searchTimer); } };
}
