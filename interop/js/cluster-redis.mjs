// node-redis v4 clients for cluster-node.mjs and cluster-emitter.mjs.
//
// A Redis spec is {"url": "redis://127.0.0.1:6379"} for one server or
// {"cluster": ["127.0.0.1:7000", ...]} for the root nodes of a Redis Cluster.
import { createClient, createCluster } from "redis";

// connect returns a connected client for spec; name becomes its CLIENT
// SETNAME (duplicates keep it), so a script can find its own connections in
// CLIENT LIST.
export async function connect(spec, name) {
  let client;
  if (spec.cluster) {
    client = createCluster({
      rootNodes: spec.cluster.map((a) => ({ url: `redis://${a}` })),
      defaults: name ? { name } : undefined,
    });
  } else if (spec.url) {
    client = createClient({ url: spec.url, name });
  } else {
    throw new Error(`redis spec needs url or cluster: ${JSON.stringify(spec)}`);
  }
  watch(client, name);
  await client.connect();
  return client;
}

// duplicate returns a connected copy of client (same options).
export async function duplicate(client, name) {
  const d = client.duplicate();
  watch(d, name);
  await d.connect();
  return d;
}

// watch logs a client's errors to stderr: node-redis reconnects by itself,
// and an "error" event without a listener would crash the process.
function watch(client, name) {
  client.on("error", (e) => console.error(`redis ${name || ""}: ${e && e.message}`));
}

export const isCluster = (client) => Array.isArray(client.masters);

// flush resolves once Redis has processed every command already issued on
// client: a PING queued behind them on the same connection. For a cluster
// client, whose commands reach a node's connection after a microtask, it
// waits one macrotask and pings every master's connection.
export async function flush(client) {
  if (!isCluster(client)) {
    await client.ping();
    return;
  }
  await new Promise((r) => setImmediate(r));
  await Promise.all(client.masters.map(async (m) => (await m.client).ping()));
}

// clientList returns CLIENT LIST of one server as a list of field maps.
export async function clientList(client) {
  const text = await client.sendCommand(["CLIENT", "LIST"]);
  return String(text)
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => Object.fromEntries(l.trim().split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])));
}
