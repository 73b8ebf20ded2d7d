export { ConfigSchema, ENV_ALIASES, type Config } from "./schema";
export { loadConfig, defaultConfigFile, envNameOf, leafKeys, parseScalar } from "./load";
