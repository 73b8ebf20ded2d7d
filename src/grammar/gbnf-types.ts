/** Grammar elements as llama.cpp represents them (llama_gretype / llama_grammar_element). */
export const GT = {
  END: 0,
  ALT: 1,
  RULE_REF: 2,
  CHAR: 3,
  CHAR_NOT: 4,
  CHAR_RNG_UPPER: 5,
  CHAR_ALT: 6,
  CHAR_ANY: 7,
} as const;

export interface GrammarElement {
  type: number;
  value: number;
}

export interface SourcePos {
  line: number;
  column: number;
}

export interface ParsedGrammar {
  /** Rule name → id, in llama.cpp's order; synthesized rules are named `base_N`. */
  symbolIds: Map<string, number>;
  /** id → name. */
  names: string[];
  /** id → elements, each alternative separated by ALT, terminated by END. */
  rules: GrammarElement[][];
  /** id of the user rule each rule was written in (itself for user rules). */
  owner: number[];
  /** Where each user rule is defined. */
  definedAt: Map<number, SourcePos>;
}
