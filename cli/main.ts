#!/usr/bin/env bun
/** The `inferflux` command line (also installed as `inferctl`). */
import { defineCommand, runMain } from "citty";
import { VERSION } from "../src/server/app";
import serve from "./commands/serve";
import chat from "./commands/chat";
import complete from "./commands/complete";
import models from "./commands/models";
import status from "./commands/status";
import admin from "./commands/admin";

const main = defineCommand({
  meta: { name: "inferflux", version: VERSION, description: "Enterprise-native LLM inference server (OpenAI-compatible)" },
  subCommands: { serve, chat, complete, completion: complete, models, status, admin },
});

runMain(main);
