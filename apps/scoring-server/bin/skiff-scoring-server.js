#!/usr/bin/env node
import { runApp } from '@skiff/source-runtime';

const { main } = await runApp(import.meta.url, 'main');
process.exitCode = await main(process.env);
