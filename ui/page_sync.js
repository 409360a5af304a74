// The Redis projection: the outbox (sync jobs that failed to reach Redis,
// with retry) and the full resync (start one, follow it to its end).
import { h, clear, text } from './dom.js';
import { api } from './api.js';
import { action, note, pagedList, section } from './widgets.js';

export function renderOutbox(root) {
  const msg = h('div', {});
  const list = pagedList({
    path: '/admin/sync/outbox',
    filters: [{ name: 'outbox_status', label: 'status', type: 'select', options: ['', 'pending', 'failed'] }],
    columns: [
      { title: 'id', get: (e) => e.id },
      { title: 'job', get: (e) => `${e.op} ${e.resource} ${text(e.resource_id)}` },
      { title: 'attempts', get: (e) => e.attempts },
      { title: 'next attempt', get: (e) => e.next_attempt_at },
      { title: 'last error', get: (e) => e.last_error },
      { title: 'status', get: (e) => e.status },
      {
        title: '',
        get: (e) => action('Retry now', async () => {
          const r = await api('POST', `/admin/sync/outbox/${e.id}/retry`, {});
          clear(msg).appendChild(note(`entry #${r.id}: ${r.status}, attempt ${r.attempts}`, 'ok'));
          list.reload();
        }, { onerror: (err) => clear(msg).appendChild(note(err.message, 'error')) }),
      },
    ],
  });
  root.append(section('Outbox', msg, list));
}

const STEPS = ['pending', 'running', 'done'];

function progress(run) {
  const at = run.status === 'failed' ? -1 : STEPS.indexOf(run.status);
  return h('div', { class: 'progress', id: 'resync-progress', 'data-status': run.status },
    h('ol', { class: 'steps' }, STEPS.map((s, i) => h('li', { class: i < at ? 'past' : i === at ? 'now' : '' }, s))),
    h('p', {}, `run #${run.id} (${run.kind}): ${run.status}; requested ${run.requested_at}, started ${text(run.started_at)}, finished ${text(run.finished_at)}`),
    run.error ? note(run.error, 'error') : null);
}

// Polls the sync status until run id is done or failed.
async function follow(id, box) {
  for (let i = 0; i < 600 && box.isConnected; i++) {
    const s = await api('GET', '/admin/sync/status');
    const run = s.last_full_resync;
    if (run && run.id >= id) {
      clear(box).appendChild(progress(run));
      if (run.status === 'done' || run.status === 'failed') return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function renderResync(root) {
  const box = h('div', {});
  root.append(section('Full resync',
    h('p', {}, 'Rebuilds every key of the Redis projection from PostgreSQL. The data plane keeps reading the old values until each is replaced.'),
    action('Start a full resync', async () => {
      const run = await api('POST', '/admin/sync/full', {});
      clear(box).appendChild(progress(run));
      await follow(run.id, box);
    }, { onerror: (err) => clear(box).appendChild(note(err.message, 'error')) }),
    box));
  api('GET', '/admin/sync/status').then((s) => {
    if (s.last_full_resync) box.appendChild(progress(s.last_full_resync));
  }).catch((err) => box.appendChild(note(err.message, 'error')));
}
