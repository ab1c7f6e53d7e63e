// Drives casework's /graphql/ws with the graphql-ws reference client (what
// Apollo and urql use underneath), including a socket that misbehaves on
// purpose, and prints one JSON object with what happened in each scenario.
//
// usage: node client.mjs '{"http": "...", "ws": "...", "agent": "<token>", "supervisor": "<token>", "complaint": {...}}'
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const config = JSON.parse(process.argv[2]);
// The client also rejects its internal connect promise on a close; the
// scenarios observe closes through the `closed` event instead.
process.on('unhandledRejection', () => {});

// A WebSocket that alters what the client sends, to provoke each close code.
function misbehaving(mode) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
    }
    send(data) {
      const message = JSON.parse(data);
      if (mode === 'no-init' && message.type === 'connection_init') return;
      if (mode === 'garbage' && message.type === 'connection_init') return super.send('{"hello": 1}');
      if (mode === 'subscribe-first' && message.type === 'connection_init') {
        return super.send(JSON.stringify({ id: 'early', type: 'subscribe', payload: { query: 'subscription { escalationRequested { id } }' } }));
      }
      if (mode === 'duplicate' && message.type === 'subscribe') {
        super.send(data);
        return super.send(data);
      }
      return super.send(data);
    }
  };
}

// Connects, subscribes, and reports the close code (or the first result/error).
function run({ token, query, mode, onReady }) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ timeout: true }), 15000);
    const done = (value) => {
      clearTimeout(timer);
      client.dispose();
      resolve(value);
    };
    const client = createClient({
      url: config.ws,
      webSocketImpl: mode ? misbehaving(mode) : WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
      on: {
        closed: (event) => done({ closed: event.code }),
        connected: () => onReady && setTimeout(onReady, 300),
      },
    });
    client.subscribe(
      { query },
      {
        next: (value) => done({ next: value }),
        error: (error) => done(Array.isArray(error) ? { errors: error } : { closed: error.code, error: String(error) }),
        complete: () => done({ complete: true }),
      },
    );
  });
}

const EVENTS = 'subscription { complaintEvents { action complaint { title } } }';
const results = {};
results.event = await run({
  token: config.supervisor,
  query: EVENTS,
  onReady: () =>
    fetch(config.http, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${config.agent}` },
      body: JSON.stringify({
        query: 'mutation($input: CreateComplaintInput!) { createComplaint(input: $input) { id } }',
        variables: { input: config.complaint },
      }),
    }),
});
results.mutation = await run({ token: config.agent, query: 'mutation { logoutAll }' });
results.forbidden = await run({ token: 'forged', query: EVENTS });
results.invalid = await run({ token: config.agent, query: EVENTS, mode: 'garbage' });
results.unauthorized = await run({ token: config.agent, query: EVENTS, mode: 'subscribe-first' });
results.init_timeout = await run({ token: config.agent, query: EVENTS, mode: 'no-init' });
results.duplicate = await run({ token: config.agent, query: EVENTS, mode: 'duplicate' });
console.log(JSON.stringify(results));
