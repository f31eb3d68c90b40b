#!/usr/bin/env -S npx tsx
// protoc-gen-openapi: the OpenAPI 3.1 (Connect-JSON) document for this repo's services.
// Run by `buf generate` (see buf.gen.yaml); the logic lives in ./plugin.ts so tests can call it.
import { runNodeJs } from "@bufbuild/protoplugin";
import { openapiPlugin } from "./plugin.js";

runNodeJs(openapiPlugin);
