// The official `openai` npm SDK against the mock, the way its users call it. Run by
// tests/test_client_node.py with MOCK_BASE_URL (http://127.0.0.1:PORT/v1) and MOCK_SESSION set;
// prints one JSON object: a result per path, or {error} for a path that threw unexpectedly.
import OpenAI from "openai";

const baseURL = process.env.MOCK_BASE_URL;
const session = process.env.MOCK_SESSION;
if (!baseURL || !/^http:\/\/127\.0\.0\.1:\d+\/v1$/.test(baseURL)) {
  throw new Error(`MOCK_BASE_URL must be the mock on 127.0.0.1, got ${baseURL}`);
}

function client(name, options = {}) {
  const { headers = {}, ...rest } = options;
  return new OpenAI({
    baseURL,
    apiKey: "sk-node-test",
    maxRetries: 0,
    timeout: 20_000,
    defaultHeaders: { "X-Mock-Session": `${session}-${name}`, ...headers },
    ...rest,
  });
}

const messages = [{ role: "user", content: "Say hello" }];
const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    strict: true,
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
};

function describeError(err) {
  return {
    class: err?.constructor?.name,
    isAPIError: err instanceof OpenAI.APIError,
    status: err?.status ?? null,
    code: err?.code ?? null,
    param: err?.param ?? null,
    type: err?.type ?? null,
    message: String(err?.message ?? err),
    requestID: err?.requestID ?? null,
  };
}

const paths = {
  async chat_stream_usage() {
    const stream = await client("chat-stream").chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let chunks = 0;
    let finish = null;
    let usage = null;
    let usageChunkChoices = null;
    for await (const chunk of stream) {
      chunks += 1;
      const choice = chunk.choices[0];
      if (choice?.delta?.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) {
        usage = chunk.usage;
        usageChunkChoices = chunk.choices.length;
      }
    }
    return { text, chunks, finish, usage, usageChunkChoices };
  },

  async chat_stream_helper_forced_tool() {
    const runner = client("chat-helper").chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const argumentsDone = [];
    runner.on("tool_calls.function.arguments.done", (ev) =>
      argumentsDone.push({ name: ev.name, arguments: ev.arguments, parsed: ev.parsed_arguments }),
    );
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0];
    const call = choice.message.tool_calls?.[0];
    return {
      finish: choice.finish_reason,
      toolName: call?.function?.name ?? null,
      arguments: call?.function?.arguments ?? null,
      parsed: call?.function?.parsed_arguments ?? null,
      argumentsDone,
      usage: final.usage ?? null,
    };
  },

  async responses_stream_final() {
    const stream = client("responses-stream").responses.stream({ model: "gpt-4o-mini", input: "Say hello" });
    const types = [];
    let deltas = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") deltas += ev.delta;
    }
    const final = await stream.finalResponse();
    return { types, deltas, status: final.status, outputText: final.output_text, usage: final.usage, id: final.id };
  },

  async background_resume() {
    const c = client("background", { headers: { "X-Mock-Pace": "none" } });
    const first = await c.responses.create({
      model: "gpt-4o-mini",
      input: "Write a short poem about the sea",
      background: true,
      stream: true,
    });
    const seen = [];
    let id = null;
    for await (const ev of first) {
      seen.push(ev.sequence_number);
      if (ev.response?.id) id = ev.response.id;
      if (seen.length === 4) break; // the connection drops here, as a client that lost it
    }
    const last = seen[seen.length - 1];
    const resumed = await c.responses.retrieve(id, { stream: true, starting_after: last });
    const after = [];
    const types = [];
    let status = null;
    for await (const ev of resumed) {
      after.push(ev.sequence_number);
      types.push(ev.type);
      if (ev.type === "response.completed") status = ev.response.status;
    }
    const polled = await c.responses.retrieve(id);
    // the helper's way: it reads the stored stream from the start and drops what came before
    const helper = c.responses.stream({ response_id: id, starting_after: last });
    const helperAfter = [];
    for await (const ev of helper) helperAfter.push(ev.sequence_number);
    const helperFinal = await helper.finalResponse();
    return {
      id,
      seen,
      after,
      types,
      status,
      polledStatus: polled.status,
      outputText: polled.output_text,
      helperAfter,
      helperOutputText: helperFinal.output_text,
    };
  },

  async images_stream_partials() {
    const stream = await client("images").images.generate({
      model: "gpt-image-1",
      prompt: "A lighthouse at dusk",
      stream: true,
      partial_images: 2,
      size: "1024x1024",
      output_format: "png",
    });
    const events = [];
    for await (const ev of stream) {
      const bytes = ev.b64_json ? Buffer.from(ev.b64_json, "base64") : Buffer.alloc(0);
      events.push({
        type: ev.type,
        index: ev.partial_image_index ?? null,
        png: bytes.subarray(1, 4).toString("latin1") === "PNG",
        bytes: bytes.length,
        usage: ev.usage ?? null,
      });
    }
    return { events };
  },

  async embeddings_default_base64() {
    const c = client("embeddings");
    const decoded = await c.embeddings.create({ model: "text-embedding-3-small", input: ["alpha", "beta"] });
    const floats = await c.embeddings.create({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
      encoding_format: "float",
    });
    const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return {
      lengths: decoded.data.map((d) => d.embedding.length),
      isArray: Array.isArray(decoded.data[0].embedding),
      sameAsFloat: decoded.data.every((d, i) => d.embedding.every((x, j) => x === floats.data[i].embedding[j])),
      norms: decoded.data.map((d) => norm(d.embedding)),
      usage: decoded.usage,
    };
  },

  async typed_errors() {
    const out = {};
    const attempt = async (name, fn) => {
      try {
        await fn();
        out[name] = { class: null };
      } catch (err) {
        out[name] = describeError(err);
      }
    };
    await attempt("chat_unknown_model", () =>
      client("err-404").chat.completions.create({ model: "no-such-model", messages }),
    );
    await attempt("responses_unknown_model", () =>
      client("err-400").responses.create({ model: "no-such-model", input: "hi" }),
    );
    await attempt("bad_param", () =>
      client("err-param").chat.completions.create({ model: "gpt-4o-mini", messages: [] }),
    );
    await attempt("no_key", () =>
      client("err-401", { headers: { Authorization: null } }).models.list(),
    );
    await attempt("scenario_429", () =>
      client("err-429", { headers: { "X-Mock-Scenario": "chat-429-retry-after-ms" } }).chat.completions.create({
        model: "gpt-4o-mini",
        messages,
      }),
    );
    await attempt("chat_in_band_error", async () => {
      const stream = await client("err-inband", {
        headers: { "X-Mock-Scenario": "chat-stream-error-event" },
      }).chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
      for await (const _ of stream) {
        // the error arrives after four chunks
      }
    });
    await attempt("chat_stream_drop", async () => {
      const stream = await client("err-drop", {
        headers: { "X-Mock-Scenario": "chat-stream-drop" },
      }).chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
      for await (const _ of stream) {
        // the connection closes mid-stream
      }
    });
    // a Responses error event is an event to the SDK, not an exception; the helper then has no
    // final response
    const events = [];
    const errStream = client("err-responses", {
      headers: { "X-Mock-Scenario": "responses-stream-error-event" },
    }).responses.stream({ model: "gpt-4o-mini", input: "Say hello" });
    await attempt("responses_error_event_final", async () => {
      for await (const ev of errStream) events.push(ev);
      await errStream.finalResponse();
    });
    const errorEvent = events.find((ev) => ev.type === "error") ?? null;
    out.responses_error_event = {
      types: [...new Set(events.map((ev) => ev.type))],
      error: errorEvent && { code: errorEvent.code, message: errorEvent.message, seq: errorEvent.sequence_number },
    };
    // the SDK's own retries honour retry-after-ms and succeed on the second attempt
    const patient = client("retry-429", {
      maxRetries: 2,
      headers: { "X-Mock-Scenario": "chat-429-retry-after-ms" },
    });
    const started = Date.now();
    const reply = await patient.chat.completions.create({ model: "gpt-4o-mini", messages });
    out.retried_429 = { text: reply.choices[0].message.content, waitedMs: Date.now() - started };
    return out;
  },
};

// scenario faults as a Node user meets them: the SDK's own exceptions, or undici's
paths.faults = async () => {
  const out = {};
  const messages1 = [{ role: "user", content: "hi" }];
  const fault = async (name, scenario, fn, options = {}) => {
    const c = client(`fault-${name}`, { headers: { "X-Mock-Scenario": scenario }, ...options });
    try {
      out[name] = { ok: await fn(c) };
    } catch (err) {
      out[name] = describeError(err);
    }
  };
  const drain = async (stream) => {
    let n = 0;
    for await (const _ of stream) n += 1;
    return n;
  };
  const chatStream = (c) => c.chat.completions.create({ model: "gpt-4o-mini", messages: messages1, stream: true });
  await fault("html_502", "chat-html-502", (c) =>
    c.chat.completions.create({ model: "gpt-4o-mini", messages: messages1 }),
  );
  await fault("hang", "chat-hang", (c) => c.chat.completions.create({ model: "gpt-4o-mini", messages: messages1 }), {
    timeout: 1000,
  });
  await fault("malformed", "chat-stream-malformed", async (c) => drain(await chatStream(c)));
  await fault("truncate", "chat-stream-truncate", async (c) => drain(await chatStream(c)));
  await fault("no_done", "chat-stream-no-done", async (c) => drain(await chatStream(c)));
  await fault("images_error_event", "images-stream-error-event", async (c) =>
    drain(await c.images.generate({ model: "gpt-image-1", prompt: "x", stream: true, partial_images: 2 })),
  );
  return out;
};

const results = {};
for (const [name, run] of Object.entries(paths)) {
  try {
    results[name] = await run();
  } catch (err) {
    results[name] = { error: describeError(err), stack: String(err?.stack ?? "") };
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
