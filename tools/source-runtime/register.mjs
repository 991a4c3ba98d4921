// `node --import @skiff/source-runtime/register app.ts`: the same source runtime, for processes
// started without a bin script.
import { registerSourceRuntime } from './index.mjs';

await registerSourceRuntime();
