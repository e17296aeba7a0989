// Evaluates flags through the official OpenFeature Node SDK
// (@openfeature/server-sdk) and its OFREP provider, unchanged, as a service
// would: the end-to-end test (cli/tests/clients.rs) gives the cases as JSON
// on stdin and compares the details this prints, as JSON on stdout, with
// what `vexil eval` says. Same protocol as ../python/evaluate.py.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const headers = request.key ? [['Authorization', `Bearer ${request.key}`]] : [];
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl: request.url, headers }));
const client = OpenFeature.getClient();
const getters = {
  bool: client.getBooleanDetails,
  string: client.getStringDetails,
  int: client.getNumberDetails,
  float: client.getNumberDetails,
  json: client.getObjectDetails,
};

const results = [];
for (const c of request.cases) {
  const details = await getters[c.type].call(client, c.flag, c.default, c.context);
  results.push({
    value: details.value,
    variant: details.variant ?? null,
    reason: details.reason ?? null,
    errorCode: details.errorCode ?? null,
    metadata: details.flagMetadata,
  });
}
process.stdout.write(JSON.stringify(results));
await OpenFeature.close();
