/** The radix prefix cache: tree over token sequences per namespace, and holder bookkeeping. Pure. */
export { RadixTree, Lock } from "./radix-tree";
export { HolderAllocator } from "./holder-allocator";
export type { HolderAllocatorOptions } from "./holder-allocator";
export type { CacheStats, EvictedNode, HolderFor, InsertResult, MatchResult, NodeInfo, PathEntry } from "./types";
