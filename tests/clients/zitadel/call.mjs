// Calls rekey the way ZITADEL's users do: with @zitadel/client 1.3.1 over one of its transports.
// Driven by tests/blackbox/zitadel_clients.rs.
//
// stdin: one JSON object
//   { "transport": "grpc" | "grpc-web" | "connect-binary" | "connect-json",
//     "baseUrl": "http://127.0.0.1:PORT",
//     "token": "…" | null,                      (null: no Authorization header at all)
//     "calls": [ { "service": "user" | "org" | "session" | "settings",
//                  "method": "passwordReset" | "setPassword" | "getUserByID" | "addHumanUser" |
//                            "listAuthenticationMethodTypes" | "addOrganization" |
//                            "createSession" | "setSession" | "getSession" | "deleteSession" |
//                            "listSessions" | "getPasswordComplexitySettings" | "getLockoutSettings",
//                  "request": <init object of the @zitadel/proto v2 request message,
//                              e.g. {"userId": "…", "medium": {"case": "returnCode", "value": {}}}>,
//                  "json": true (optional: "request" is the message in proto3 JSON instead,
//                              e.g. {"lifetime": "86400s"}, read with fromJson) } ] }
// stdout: one JSON line, an array with one result per call, in order:
//   { "ok": <the response as protojson (toJson), so uint64 sequences are strings> }
//   { "error": { "code": <numeric connect Code>, "codeName": "NotFound", "rawMessage": "…",
//                "details": [ { "type": "zitadel.v1.ErrorDetail", "id": "…", "message": "…" } ],
//                "credentials": [ { "id": "…", "message": "…", "failedAttempts": 1 } ],
//                              (findDetails(CredentialsCheckError), as the login app reads it)
//                "detailTypes": [ <type name of every detail, decodable or not> ],
//                "metadata": { <response headers and trailers of the error> } } }
// Exit status 0 whenever every call produced a result; 2 for bad input; 1 for anything else
// (with the reason on stderr). Nothing secret (token, codes, passwords) goes to stderr.
//
// The transports, exactly as ZITADEL's users build them:
//   grpc            createServerTransport(token, {baseUrl}) from @zitadel/client/node: gRPC over
//                   HTTP/2 (h2c with prior knowledge for http://), binary.
//   grpc-web        createClientTransport(token, {baseUrl}) from @zitadel/client/web: gRPC-Web over
//                   fetch, binary.
//   connect-binary  createConnectTransport({baseUrl, httpVersion: "1.1", useBinaryFormat: true})
//                   from @connectrpc/connect-node, with ZITADEL's bearer interceptor.
//   connect-json    the same with useBinaryFormat: false.
// @zitadel/client's helpers always add NewAuthorizationBearerInterceptor(token), which with a
// null token sends "Authorization: Bearer null". For token null the same transport factories
// of connect-es that @zitadel/client wraps (createGrpcTransport, createGrpcWebTransport) are
// called directly without the interceptor: same protocol, no Authorization header.

import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createServerTransport } from "@zitadel/client/node";
import {
  createOrganizationServiceClient,
  createSessionServiceClient,
  createSettingsServiceClient,
  createUserServiceClient,
} from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { CredentialsCheckErrorSchema, ErrorDetailSchema } from "@zitadel/proto/zitadel/message_pb.js";
import { OrganizationService } from "@zitadel/proto/zitadel/org/v2/org_service_pb.js";
import { SessionService } from "@zitadel/proto/zitadel/session/v2/session_service_pb.js";
import { SettingsService } from "@zitadel/proto/zitadel/settings/v2/settings_service_pb.js";
import { UserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";

/** Per call: a hang fails the call instead of blocking the test. */
const CALL_TIMEOUT_MS = 15_000;
/** For the whole run, in case something hangs outside a call. */
const RUN_TIMEOUT_MS = 120_000;

const TRANSPORTS = ["grpc", "grpc-web", "connect-binary", "connect-json"];
const SERVICES = {
  user: { desc: UserService, client: createUserServiceClient },
  org: { desc: OrganizationService, client: createOrganizationServiceClient },
  session: { desc: SessionService, client: createSessionServiceClient },
  settings: { desc: SettingsService, client: createSettingsServiceClient },
};
const METHODS = {
  user: [
    "passwordReset",
    "setPassword",
    "getUserByID",
    "addHumanUser",
    "listAuthenticationMethodTypes",
    "deactivateUser",
    "reactivateUser",
    "lockUser",
    "unlockUser",
    "deleteUser",
    "addPersonalAccessToken",
    "removePersonalAccessToken",
    "listPersonalAccessTokens",
  ],
  org: ["addOrganization"],
  session: ["createSession", "setSession", "getSession", "deleteSession", "listSessions"],
  settings: ["getPasswordComplexitySettings", "getLockoutSettings"],
};

function usage(message) {
  process.stderr.write(`call.mjs: ${message}\n`);
  process.exit(2);
}

function transportFor(kind, baseUrl, token) {
  const withToken = token !== null && token !== undefined;
  switch (kind) {
    case "grpc":
      return withToken ? createServerTransport(token, { baseUrl }) : createGrpcTransport({ baseUrl });
    case "grpc-web":
      return withToken ? createClientTransport(token, { baseUrl }) : createGrpcWebTransport({ baseUrl });
    case "connect-binary":
    case "connect-json":
      return createConnectTransport({
        baseUrl,
        httpVersion: "1.1",
        useBinaryFormat: kind === "connect-binary",
        interceptors: withToken ? [NewAuthorizationBearerInterceptor(token)] : [],
      });
    default:
      return usage(`unknown transport ${JSON.stringify(kind)}; one of ${TRANSPORTS.join(", ")}`);
  }
}

function describeError(err) {
  const error = ConnectError.from(err);
  return {
    code: error.code,
    codeName: Code[error.code] ?? String(error.code),
    rawMessage: error.rawMessage,
    details: error.findDetails(ErrorDetailSchema).map((detail) => ({
      type: ErrorDetailSchema.typeName,
      id: detail.id,
      message: detail.message,
    })),
    credentials: error.findDetails(CredentialsCheckErrorSchema).map((detail) => ({
      id: detail.id,
      message: detail.message,
      failedAttempts: detail.failedAttempts,
    })),
    detailTypes: error.details.map((detail) => ("desc" in detail ? detail.desc.typeName : detail.type)),
    metadata: Object.fromEntries(error.metadata.entries()),
  };
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function main() {
  let input;
  try {
    input = JSON.parse(await readStdin());
  } catch (e) {
    return usage(`stdin is not JSON: ${e.message}`);
  }
  const { transport: kind, baseUrl, token = null, calls } = input ?? {};
  if (!TRANSPORTS.includes(kind)) {
    return usage(`unknown transport ${JSON.stringify(kind)}; one of ${TRANSPORTS.join(", ")}`);
  }
  if (typeof baseUrl !== "string" || !/^https?:\/\//.test(baseUrl)) {
    return usage(`baseUrl must be an http(s) URL, not ${JSON.stringify(baseUrl)}`);
  }
  if (token !== null && typeof token !== "string") {
    return usage("token must be a string or null");
  }
  if (!Array.isArray(calls)) {
    return usage("calls must be an array");
  }
  // connect-node 2.1.2 leaves an HTTP/2 session's "error" event unhandled when the server does
  // not speak HTTP/2 (e.g. gRPC sent to an HTTP/1.1-only port): Node would die with a bare stack.
  process.on("uncaughtException", (err) => {
    process.stderr.write(
      `call.mjs: ${kind} to ${baseUrl} failed outside any call (${err?.code ?? "no code"}); ` +
        `for grpc this usually means the server does not accept cleartext HTTP/2 (h2c):\n${err?.stack ?? err}\n`,
    );
    process.exit(1);
  });
  const transport = transportFor(kind, baseUrl, token);
  const clients = {};
  const results = [];
  for (const [i, call] of calls.entries()) {
    const service = SERVICES[call?.service];
    if (!service || !METHODS[call.service].includes(call.method)) {
      return usage(`call ${i}: unknown ${JSON.stringify(call?.service)}.${JSON.stringify(call?.method)}`);
    }
    clients[call.service] ??= service.client(transport);
    const { input: inputDesc, output } = service.desc.method[call.method];
    let request;
    try {
      request = call.json ? fromJson(inputDesc, call.request ?? {}) : (call.request ?? {});
    } catch (e) {
      return usage(`call ${i}: request is not a ${inputDesc.typeName} in proto3 JSON: ${e.message}`);
    }
    try {
      const response = await clients[call.service][call.method](request, {
        timeoutMs: CALL_TIMEOUT_MS,
      });
      results.push({ ok: toJson(output, response) });
    } catch (err) {
      results.push({ error: describeError(err) });
    }
  }
  const line = JSON.stringify(results, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
  // HTTP/2 sessions may keep the event loop alive for a while: exit once stdout is written.
  process.stdout.write(`${line}\n`, () => process.exit(0));
}

setTimeout(() => {
  process.stderr.write(`call.mjs: no result within ${RUN_TIMEOUT_MS} ms\n`);
  process.exit(1);
}, RUN_TIMEOUT_MS).unref();

main().catch((err) => {
  // Not a failed call (those are results) but a failure of the script itself.
  process.stderr.write(`call.mjs: ${err?.stack ?? err}\n`);
  process.exit(1);
});
