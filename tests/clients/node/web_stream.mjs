// The browser SDK (@openfeature/web-sdk) with its OFREP provider, unchanged,
// in Node: it evaluates one flag, then waits for the provider's
// ConfigurationChanged event, which only the server's event stream can
// cause (polling is off), and evaluates again. The end-to-end test
// (cli/tests/clients.rs) edits the flag between the two lines this prints.
//
// stdin: {"url", "key", "flag", "context", "timeoutMs"}
// stdout: one JSON line of details before the change, one after.
import { EventSource } from 'eventsource';
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

// Node 20 has no EventSource of its own; a browser's is standard.
globalThis.EventSource = EventSource;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const provider = new OFREPWebProvider({
  baseUrl: request.url,
  headers: request.key ? [['Authorization', `Bearer ${request.key}`]] : [],
  pollInterval: 0, // no polling: a change can only arrive through SSE
  changeDetection: 'sse',
  cacheMode: 'disabled',
  disableVisibilityRefresh: true,
});
await OpenFeature.setContext(request.context);
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();

const changed = new Promise((resolve, reject) => {
  const timer = setTimeout(
    () => reject(new Error(`no ConfigurationChanged within ${request.timeoutMs} ms`)),
    request.timeoutMs,
  );
  client.addHandler(ProviderEvents.ConfigurationChanged, (details) => {
    clearTimeout(timer);
    resolve(details);
  });
});

const line = (details) =>
  JSON.stringify({
    value: details.value,
    variant: details.variant ?? null,
    reason: details.reason ?? null,
    errorCode: details.errorCode ?? null,
  }) + '\n';
process.stdout.write(line(client.getNumberDetails(request.flag, -1)));
const event = await changed;
const after = JSON.parse(line(client.getNumberDetails(request.flag, -1)));
after.flagsChanged = event.flagsChanged ?? null;
process.stdout.write(JSON.stringify(after) + '\n');
await OpenFeature.close();
process.exit(0);
