#!/usr/bin/env node
import { runApp } from '@skiff/source-runtime';

const { main, exitQuietlyOnClosedPipes } = await runApp(import.meta.url, 'main');
exitQuietlyOnClosedPipes();
const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => stop.abort());
process.exitCode = await main(process.argv.slice(2), { signal: stop.signal });
