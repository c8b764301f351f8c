// Unit tests of the form ↔ wire mapping and error parsing (node --test, via test.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { toApiError } from "../src/api";
import {
  BUILTIN_PLATFORMS,
  emptyForm,
  fieldErrors,
  fieldOf,
  formOf,
  MASK,
  payloadOf,
  pluginPlatform,
  toConfig,
  type WebhookConfig,
} from "../src/model";

const stored: WebhookConfig = {
  name: "gh",
  id: "abc",
  verifier: "SIGNATURE_BASED",
  sourcePlatform: "Github",
  headerKey: "X-Hub-Signature-256",
  secretValue: MASK,
  workflowsToStart: { wf: 1, idempotencyKey: "${workflow.input.id}", idempotencyStrategy: "FAIL" },
  urlVerified: true,
  tags: [{ key: "team", value: "a" }],
  webhookExecutionHistory: [],
  createdBy: "admin",
  maxBodyBytes: 1024,
};

test("server messages name their form field", () => {
  assert.equal(fieldOf("secretValue is required for verifier STRIPE"), "secretValue");
  assert.equal(fieldOf("name is required"), "name");
  assert.equal(
    fieldOf("one of expression, receiverWorkflowNamesToVersions or workflowsToStart is required"),
    "receiverWorkflowNamesToVersions",
  );
  assert.equal(fieldOf("workflowsToStart.idempotencyKey must be a string"), "idempotencyKey");
  assert.equal(fieldOf("invalid JSON at workflowsToStart.wf: invalid type"), "workflowsToStart");
  assert.equal(fieldOf("headers: `a b` is not a valid header name"), "headers");
  assert.equal(fieldOf("plugin `x` is not loaded"), "sourcePlatform");
  assert.equal(fieldOf("pluginSecrets[1] is empty"), "pluginSecrets");
  assert.equal(fieldOf("store unavailable"), null);
});

test("both error shapes are read", () => {
  const hookd = toApiError(400, { error: "invalid", message: "name is required" });
  assert.equal(hookd.code, "invalid");
  assert.deepEqual(fieldErrors(hookd.message, hookd.problems), { name: "name is required" });
  const conductor = toApiError(400, {
    status: 400,
    message: "Validation failed",
    instance: "hookd",
    retryable: false,
    code: "INVALID",
    validationErrors: [{ path: "secretValue", message: "must not be empty" }],
  });
  assert.equal(conductor.code, "INVALID");
  assert.deepEqual(fieldErrors(conductor.message, conductor.problems), {
    secretValue: "must not be empty",
  });
  assert.equal(toApiError(502, "bad gateway").message, "HTTP 502");
});

test("history payloads may be objects or JSON strings", () => {
  const e = { eventId: "e", matched: false, workflowIds: [], timeStamp: 0 };
  assert.deepEqual(payloadOf({ ...e, payload: { a: 1 } }), { a: 1 });
  assert.deepEqual(payloadOf({ ...e, payload: '{"a":1}' }), { a: 1 });
  assert.equal(payloadOf({ ...e, payload: "not json" }), "not json");
});

test("a new GitHub webhook", () => {
  const f = {
    ...emptyForm(),
    name: "gh",
    secretValue: "s3cret",
    startEnabled: true,
    starts: [{ name: "wf", version: "2" }],
    idempotencyStrategy: "RETURN_EXISTING",
  };
  assert.deepEqual(toConfig(f, BUILTIN_PLATFORMS), {
    name: "gh",
    verifier: "SIGNATURE_BASED",
    sourcePlatform: "Github",
    headerKey: "X-Hub-Signature-256",
    secretValue: "s3cret",
    workflowsToStart: { wf: 2, idempotencyStrategy: "RETURN_EXISTING" },
    tags: [],
  });
});

test("edit keeps stored secrets and hidden fields, drops read-only ones", () => {
  const f = formOf(stored);
  assert.equal(f.secretValue, "", "the secret is never in the form");
  const out = toConfig(f, BUILTIN_PLATFORMS, stored);
  assert.equal(out.secretValue, MASK);
  assert.equal(out.maxBodyBytes, 1024);
  assert.equal(out.urlVerified, undefined);
  assert.equal(out.webhookExecutionHistory, undefined);
  assert.deepEqual(out.workflowsToStart, {
    wf: 1,
    idempotencyKey: "${workflow.input.id}",
    idempotencyStrategy: "FAIL",
  });
  // A typed secret replaces it.
  assert.equal(toConfig({ ...f, secretValue: "new" }, BUILTIN_PLATFORMS, stored).secretValue, "new");
  // Another platform: nothing is kept from the old verifier.
  const slack = toConfig({ ...f, platform: "Slack" }, BUILTIN_PLATFORMS, stored);
  assert.equal(slack.secretValue, undefined);
  assert.equal(slack.headerKey, undefined);
  assert.equal(slack.verifier, "SLACK_BASED");
});

test("custom headers and plugin secrets are kept by name and position", () => {
  const custom: WebhookConfig = {
    ...stored,
    verifier: "HEADER_BASED",
    sourcePlatform: "Custom",
    headers: { "X-Token": MASK },
  };
  const f = formOf(custom);
  const out = toConfig(
    { ...f, headers: [...f.headers, { key: "X-New", value: "v" }] },
    BUILTIN_PLATFORMS,
    custom,
  );
  assert.deepEqual(out.headers, { "X-Token": MASK, "X-New": "v" });

  const plugin: WebhookConfig = {
    ...stored,
    verifier: "WASM_PLUGIN",
    plugin: "shopify",
    sourcePlatform: "shopify",
    pluginSecrets: [MASK, MASK],
    pluginParams: { shop: "acme" },
  };
  const platforms = [...BUILTIN_PLATFORMS, pluginPlatform("shopify")];
  const pf = formOf(plugin);
  assert.equal(pf.platform, "plugin:shopify");
  const po = toConfig({ ...pf, keptPluginSecrets: 1, newPluginSecrets: ["n"] }, platforms, plugin);
  assert.deepEqual(po.pluginSecrets, [MASK, "n"]);
  assert.deepEqual(po.pluginParams, { shop: "acme" });
  assert.equal(po.plugin, "shopify");
  assert.equal(po.secretValue, MASK);
});

test("a version that is not a number goes to the server as typed", () => {
  const f = { ...emptyForm(), name: "x", receivers: [{ name: "w", version: "two" }] };
  assert.deepEqual(toConfig(f, BUILTIN_PLATFORMS).receiverWorkflowNamesToVersions, { w: "two" });
});
