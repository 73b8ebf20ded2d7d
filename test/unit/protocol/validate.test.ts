import { describe, expect, test } from "bun:test";
import { pointerToParam, validateBody } from "../../../src/protocol/validate";
import { ChatCompletionRequestSchema } from "../../../src/protocol/openai-schemas";
import { toSamplingParams } from "../../../src/protocol/sampling";
import { InvalidRequestError } from "../../../src/shared/errors";

const limits = { nVocab: 512, nCtx: 1024, defaultMaxTokens: 256 };

describe("validateBody", () => {
  test("pointer to OpenAI param", () => {
    expect(pointerToParam("/messages/0/role")).toBe("messages[0].role");
    expect(pointerToParam("")).toBe("");
  });
  test("accepts a valid request and rejects with a param", () => {
    const ok = { model: "m", messages: [{ role: "user", content: "hi" }] };
    expect(validateBody(ChatCompletionRequestSchema, ok) as unknown).toBe(ok);
    expect(() => validateBody(ChatCompletionRequestSchema, { model: "m" })).toThrow(InvalidRequestError);
    try {
      validateBody(ChatCompletionRequestSchema, { ...ok, temperature: "x" });
    } catch (e) {
      expect((e as InvalidRequestError).param).toBe("temperature");
      expect((e as InvalidRequestError).status).toBe(400);
    }
    expect(() => validateBody(ChatCompletionRequestSchema, [1])).toThrow(/JSON object/);
  });
});

describe("toSamplingParams", () => {
  test("defaults and mapping", () => {
    const p = toSamplingParams({ temperature: 0, stop: "x", logit_bias: { "5": -100 } }, undefined, -1, limits);
    expect(p).toMatchObject({ temperature: 0, topP: 1, stop: ["x"], logitBias: [[5, -100]], maxTokens: 256, ignoreEos: false, logprobs: -1 });
    expect(p.seed).toBeUndefined();
  });
  test("max_tokens is capped by the context; seeds fold to 32 bits", () => {
    const p = toSamplingParams({ seed: 2 ** 40 + 7 }, 5000, 0, limits);
    expect(p.maxTokens).toBe(1024);
    expect(p.seed).toBe(7);
  });
  test("with context shift on, max_tokens may exceed the context", () => {
    expect(toSamplingParams({}, 5000, 0, { ...limits, contextShift: true }).maxTokens).toBe(5000);
  });
  test("rejects out-of-vocabulary logit_bias, n > 1 and empty stop strings", () => {
    expect(() => toSamplingParams({ logit_bias: { "512": 1 } }, 1, -1, limits)).toThrow(/logit_bias/);
    expect(() => toSamplingParams({ n: 3 }, 1, -1, limits)).toThrow(/n > 1/);
    expect(() => toSamplingParams({ stop: [""] }, 1, -1, limits)).toThrow(/stop/);
  });
});
