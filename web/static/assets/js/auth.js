// The sign-in and sign-up screen.

import { describeError } from './api.js';
import { h } from './dom.js';

// authView returns the screen; onDone runs once the user is signed in.
export function authView(api, onDone) {
  let mode = 'login';
  const error = h('p', { class: 'form-error', role: 'alert', id: 'auth-error' });
  const username = h('input', {
    id: 'auth-username', name: 'username', autocomplete: 'username', required: true,
    minlength: 3, maxlength: 32, pattern: '[A-Za-z0-9_.\\-]+', autocapitalize: 'none', spellcheck: 'false',
  });
  const displayName = h('input', { id: 'auth-display', name: 'displayName', autocomplete: 'name', maxlength: 64 });
  const password = h('input', { id: 'auth-password', name: 'password', type: 'password', required: true, minlength: 8, maxlength: 128 });
  const displayField = h('div', { class: 'field' },
    h('label', { for: 'auth-display' }, 'Display name'), displayName,
    h('p', { class: 'hint' }, 'How others see you.'));
  const submit = h('button', { class: 'btn primary wide', type: 'submit' });
  const title = h('h1', { id: 'auth-title' });
  const switchText = h('span');
  const switchBtn = h('button', { class: 'link', type: 'button', on: { click: () => setMode(mode === 'login' ? 'signup' : 'login') } });

  const form = h('form', { class: 'auth-form', 'aria-labelledby': 'auth-title', novalidate: true, on: { submit: onSubmit } },
    h('div', { class: 'field' }, h('label', { for: 'auth-username' }, 'Username'), username,
      h('p', { class: 'hint signup-only' }, '3–32 letters, digits, “_”, “.” or “-”.')),
    displayField,
    h('div', { class: 'field' }, h('label', { for: 'auth-password' }, 'Password'), password,
      h('p', { class: 'hint signup-only' }, 'At least 8 characters.')),
    error,
    submit);

  function setMode(m) {
    mode = m;
    const signup = m === 'signup';
    title.textContent = signup ? 'Create your account' : 'Welcome back';
    submit.textContent = signup ? 'Create account' : 'Sign in';
    switchText.textContent = signup ? 'Already have an account? ' : 'New to ChatChat? ';
    switchBtn.textContent = signup ? 'Sign in' : 'Create an account';
    displayField.hidden = !signup;
    displayName.required = signup;
    password.autocomplete = signup ? 'new-password' : 'current-password';
    form.classList.toggle('signup', signup);
    error.textContent = '';
  }

  async function onSubmit(e) {
    e.preventDefault();
    error.textContent = '';
    const u = username.value.trim();
    const d = displayName.value.trim();
    if (u.length < 3) return fail('Enter a username of at least 3 characters.', username);
    if (mode === 'signup' && !d) return fail('Enter a display name.', displayName);
    if (password.value.length < 8) return fail('The password needs at least 8 characters.', password);
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      if (mode === 'signup') await api.signup(u, password.value, d);
      else await api.login(u, password.value);
      onDone();
    } catch (err) {
      fail(describeError(err));
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  }

  function fail(msg, field) {
    error.textContent = msg;
    if (field) field.focus();
  }

  setMode('login');
  const view = h('main', { class: 'auth' },
    h('div', { class: 'auth-card' },
      h('div', { class: 'brand' }, h('img', { src: '/assets/icon.svg', alt: '', width: 44, height: 44 }), h('span', {}, 'ChatChat')),
      title,
      form,
      h('p', { class: 'auth-switch' }, switchText, switchBtn)));
  queueMicrotask(() => username.focus());
  return view;
}
