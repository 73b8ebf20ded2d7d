/**
 * The model's vocabulary: tokenize and detokenize. Borrowed from the model,
 * so it needs no freeing. Every token id is checked before it reaches
 * libllama (an out-of-range id aborts the process).
 */
import { ptr, type Pointer } from "bun:ffi";
import type { LlamaSymbols } from "./index";

export class Vocab {
  readonly nTokens: number;
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SentencePiece-style (LLAMA_VOCAB_TYPE_SPM: LLaMA 1/2, Mistral v1, TinyLlama ...). */
  readonly isSpm: boolean;
  private pieceBuf = new Uint8Array(256);
  /** Every token's attribute bits, read once (they never change). */
  private attrs?: Int32Array;
  private pieceCache = new Map<number, Uint8Array>();

  constructor(private readonly llama: LlamaSymbols, readonly handle: Pointer) {
    this.nTokens = llama.llama_vocab_n_tokens(handle);
    this.bos = llama.llama_vocab_bos(handle);
    this.eos = llama.llama_vocab_eos(handle);
    this.eot = llama.llama_vocab_eot(handle);
    this.addBos = llama.llama_vocab_get_add_bos(handle);
    this.addEos = llama.llama_vocab_get_add_eos(handle);
    this.isSpm = llama.llama_vocab_type(handle) === 1;
  }

  /** The token's llama_token_attr bits. */
  attr(token: number): number {
    if (!this.isValidToken(token)) throw new RangeError(`token id ${token} outside the vocabulary (0..${this.nTokens - 1})`);
    this.attrs ??= Int32Array.from({ length: this.nTokens }, (_, t) => this.llama.llama_vocab_get_attr(this.handle, t));
    return this.attrs[token];
  }

  isValidToken(token: number): boolean {
    return Number.isInteger(token) && token >= 0 && token < this.nTokens;
  }

  /** End-of-generation tokens (EOS, EOT and the like). */
  isEog(token: number): boolean {
    return this.isValidToken(token) && this.llama.llama_vocab_is_eog(this.handle, token);
  }

  /** Tokenizes UTF-8 text. addSpecial adds BOS where the model wants it; parseSpecial turns special-token text into special tokens. */
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array {
    const bytes = Buffer.from(text, "utf8");
    let out = new Int32Array(bytes.length + 8);
    let n = this.llama.llama_tokenize(this.handle, bytes.length ? ptr(bytes) : null, bytes.length, ptr(out), out.length, addSpecial, parseSpecial);
    if (n < 0) {
      out = new Int32Array(-n);
      n = this.llama.llama_tokenize(this.handle, bytes.length ? ptr(bytes) : null, bytes.length, ptr(out), out.length, addSpecial, parseSpecial);
    }
    if (n < 0) throw new Error(`llama_tokenize failed (${n})`);
    return out.subarray(0, n);
  }

  /** The raw bytes of one token (may be part of a UTF-8 character). Cached: pieces never change. */
  pieceBytes(token: number, special = false): Uint8Array {
    if (!this.isValidToken(token)) throw new RangeError(`token id ${token} outside the vocabulary (0..${this.nTokens - 1})`);
    const key = special ? -1 - token : token;
    const hit = this.pieceCache.get(key);
    if (hit) return hit;
    let n = this.llama.llama_token_to_piece(this.handle, token, ptr(this.pieceBuf), this.pieceBuf.length, 0, special);
    if (n < 0) {
      this.pieceBuf = new Uint8Array(-n * 2);
      n = this.llama.llama_token_to_piece(this.handle, token, ptr(this.pieceBuf), this.pieceBuf.length, 0, special);
    }
    const piece = this.pieceBuf.slice(0, Math.max(0, n));
    this.pieceCache.set(key, piece);
    return piece;
  }

  /** Text of a token sequence, invalid UTF-8 replaced (for display of whole sequences only). */
  detokenize(tokens: ArrayLike<number>, special = false): string {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < tokens.length; i++) parts.push(this.pieceBytes(tokens[i], special));
    return Buffer.concat(parts).toString("utf8");
  }
}
