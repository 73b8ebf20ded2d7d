export { atomicWriteFile, cleanStaleTemps } from "./atomic.ts";
export { DEFAULT_SCRYPT, type DecodedStore, decodeStore, STORE_MAGIC, STORE_VERSION, type ScryptParams } from "./format.ts";
export { type ChangeListener, type ChangeSource, createPolicyStore, PolicyStore, type PolicyStoreOptions, readPolicyFile } from "./policy-store.ts";
export { emptyState, type PolicyState, validateState } from "./state.ts";
