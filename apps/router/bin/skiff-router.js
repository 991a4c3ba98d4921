#!/usr/bin/env node
import { runApp } from '@skiff/source-runtime';

await runApp(import.meta.url, 'main');
