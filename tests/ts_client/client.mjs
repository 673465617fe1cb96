// The official TypeScript MCP client (@modelcontextprotocol/sdk) against our server, for
// tests/test_mcp_ts_client.py. It validates each tool's structuredContent against the tool's
// outputSchema itself (Ajv with formats) and throws when they disagree: exactly what hosts built
// on it do. Run from a folder whose node_modules holds the SDK (the test installs it outside the
// checkout and copies this file there).
//
//   node client.mjs stdio <calls.json> <command> [args...]
//   node client.mjs http  <calls.json> <url>            (env MCP_TOKEN: the bearer token)
//
// <calls.json>: [{"name": "...", "arguments": {...}}, ...]. Prints one JSON document on stdout:
// {"tools": [names], "results": [{"name", "arguments", "isError", "text", "structured", "thrown"}]}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, callsFile, target, ...rest] = process.argv.slice(2);
const calls = JSON.parse(readFileSync(callsFile, "utf8"));

const transport = mode === "stdio"
  ? new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: "ignore" })
  : new StreamableHTTPClientTransport(new URL(target), {
      requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` } },
    });

const client = new Client({ name: "specweave-ts-test", version: "0.0.0" });
await client.connect(transport);
const { tools } = await client.listTools(); // caches each tool's output-schema validator
const results = [];
for (const call of calls) {
  const entry = { name: call.name, arguments: call.arguments };
  try {
    const result = await client.callTool({ name: call.name, arguments: call.arguments });
    entry.isError = Boolean(result.isError);
    entry.text = (result.content.find((c) => c.type === "text") || {}).text || "";
    entry.structured = result.structuredContent !== undefined;
    entry.links = result.content.filter((c) => c.type === "resource_link").map((c) => c.uri);
  } catch (err) {
    entry.thrown = String(err && err.message ? err.message : err);
  }
  results.push(entry);
}
await client.close();
process.stdout.write(JSON.stringify({ tools: tools.map((t) => t.name), results }));
