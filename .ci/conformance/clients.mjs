// Real front-end clients against URL (the demo server): Apollo Client and
// urql run the README's queries and mutations and one subscription each
// (graphql-transport-ws), and apollo-upload-client uploads a file in the
// GraphQL multipart request format.
import { ApolloClient, InMemoryCache, HttpLink, gql } from '@apollo/client/core/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import createUploadLink from 'apollo-upload-client/createUploadLink.mjs';
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = process.argv[2];
const wsUrl = url.replace(/^http/, 'ws') + '/ws';
const steps = [];
const step = async (name, fn) => {
  try {
    await fn();
    steps.push([name, true]);
    console.log(`  pass ${name}`);
  } catch (error) {
    steps.push([name, false]);
    console.log(`  FAIL ${name}: ${error?.stack ?? error}`);
  }
};
const must = (condition, message) => { if (!condition) throw new Error(message); };
const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))]);

const LOGIN = gql`mutation($e: String!) { login(email: $e, password: "casework-demo") { accessToken } }`;
const FIRST_QUERY = gql`{ me { email role } complaints(first: 5) { totalCount edges { node { reference status title customer { name } } } } }`;
const CREATE = gql`mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id reference status version } }`;
const INTAKE = {
  channel: 'HOTLINE', category: 'LOGISTICS', severity: 'HIGH',
  title: 'Parcel a week late', description: 'Express parcel stuck at the hub for four days.',
  customer: { name: 'Ms. Sun Mei', phone: '+86 139 0000 1234' },
  coreDemand: 'COMPENSATION', requestedAmount: '200.00', emotion: 'ANGRY', orderReference: 'ORD-88123401',
};
const EVENTS = gql`subscription($id: ID) { complaintEvents(complaintId: $id) { action occurredAt complaint { reference status version } } }`;

const anonymous = new ApolloClient({ link: new HttpLink({ uri: url, fetch }), cache: new InMemoryCache() });
const login = async (email) => (await anonymous.mutate({ mutation: LOGIN, variables: { e: email } })).data.login.accessToken;

let token;
let complaint;
const apollo = () => new ApolloClient({
  link: new HttpLink({ uri: url, fetch, headers: { authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache(),
});

await step('apollo: login (README)', async () => {
  token = await login('agent@example.com');
  must(typeof token === 'string' && token.length > 20, 'no access token');
});
await step('apollo: first query (README)', async () => {
  const { data } = await apollo().query({ query: FIRST_QUERY });
  must(data.me.email === 'agent@example.com', 'me');
  must(data.complaints.totalCount >= 1, 'complaints');
});
await step('apollo: createComplaint (README intake)', async () => {
  const { data } = await apollo().mutate({ mutation: CREATE, variables: { i: INTAKE } });
  complaint = data.createComplaint;
  must(complaint.status === 'NEW' && complaint.version === 1, JSON.stringify(complaint));
});
await step('apollo: complaintEvents subscription over graphql-transport-ws', async () => {
  const ws = createWsClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` } });
  const client = new ApolloClient({ link: new GraphQLWsLink(ws), cache: new InMemoryCache() });
  const received = new Promise((resolve, reject) => {
    const sub = client.subscribe({ query: EVENTS, variables: { id: complaint.id } }).subscribe({
      next: ({ data }) => { sub.unsubscribe(); resolve(data.complaintEvents); },
      error: reject,
    });
  });
  await new Promise((r) => setTimeout(r, 500));
  await apollo().mutate({
    mutation: gql`mutation($id: ID!) { acknowledgeComplaint(id: $id, expectedVersion: 1, message: "We will call you back") { status version } }`,
    variables: { id: complaint.id },
  });
  const event = await withTimeout(received, 10000, 'complaintEvents');
  must(event.complaint.status === 'ACKNOWLEDGED', JSON.stringify(event));
  await ws.dispose();
});
await step('apollo-upload-client: uploadEvidence (multipart)', async () => {
  const png = new Uint8Array(4096);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 8, 6, 0, 0, 0]);
  for (let i = 29; i < png.length; i++) png[i] = (i * 7919) % 251;
  const client = new ApolloClient({
    link: createUploadLink({ uri: url, fetch, FormData, headers: { authorization: `Bearer ${token}`, 'Apollo-Require-Preflight': 'true' } }),
    cache: new InMemoryCache(),
  });
  const { data } = await client.mutate({
    mutation: gql`mutation($c: ID!, $f: Upload!) { uploadEvidence(complaintId: $c, kind: PHOTO, file: $f, description: "dented door") { id sha256 size contentType } }`,
    variables: { c: complaint.id, f: new File([png], 'fridge.png', { type: 'image/png' }) },
  });
  must(data.uploadEvidence.size === 4096 && data.uploadEvidence.contentType === 'image/png', JSON.stringify(data));
});

const ws = createWsClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: () => ({ authorization: `Bearer ${token}` }) });
const urql = () => new Client({
  url,
  fetch,
  fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
  exchanges: [
    fetchExchange,
    subscriptionExchange({ forwardSubscription: (request) => ({ subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query || '' }, sink) }) }) }),
  ],
});
await step('urql: first query (README)', async () => {
  const result = await urql().query(FIRST_QUERY, {}).toPromise();
  must(!result.error, String(result.error));
  must(result.data.me.role === 'AGENT', JSON.stringify(result.data));
});
await step('urql: complaintEvents subscription', async () => {
  const client = urql();
  const received = new Promise((resolve) => {
    const { unsubscribe } = client.subscription(EVENTS, { id: complaint.id }).subscribe((result) => {
      if (result.data) { unsubscribe(); resolve(result.data.complaintEvents); }
    });
  });
  await new Promise((r) => setTimeout(r, 500));
  const current = await client.query(gql`query($id: ID!) { complaint(id: $id) { version } }`, { id: complaint.id }).toPromise();
  const finding = await client.mutation(
    gql`mutation($id: ID!, $v: Int!) { recordFinding(id: $id, expectedVersion: $v, input: {rootCause: EXTERNAL, summary: "Mis-sorted at the hub"}) { status version } }`,
    { id: complaint.id, v: current.data.complaint.version },
  ).toPromise();
  must(!finding.error, String(finding.error));
  const event = await withTimeout(received, 10000, 'complaintEvents');
  must(event.complaint.status === 'INVESTIGATING', JSON.stringify(event));
});
await ws.dispose();

const failed = steps.filter(([, ok]) => !ok).length;
console.log(`clients: ${steps.length} steps, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
