/**
 * Grammar toolkit: JSON Schema and regex → GBNF (llama.cpp grammar) compilers
 * that fail closed, a GBNF validator mirroring llama.cpp's parser, and a
 * recognizer for tests.
 */
export { jsonSchemaToGbnf, jsonValueGbnf, JSON_ANY_OBJECT_GBNF, type CompileOptions } from "./json-schema-to-gbnf";
export { regexToGbnf, type RegexGbnfOptions } from "./regex-to-gbnf";
export { parseGbnf, validateGbnf, type ParsedGrammar, type GrammarElement } from "./gbnf-parser";
export { matchesGbnf, isViablePrefix, GbnfRecognizer } from "./gbnf-matcher";
export { sampleGbnf, type SampleOptions } from "./gbnf-sampler";
