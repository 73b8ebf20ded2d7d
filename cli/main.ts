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

// A reader that goes away (`inferflux chat ... | head`) ends the output: stop quietly, as
// Unix tools do, instead of dying on EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
}

runMain(main);
