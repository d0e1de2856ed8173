#!/usr/bin/env node
/** Entry point of `cdk synth` / `cdk deploy` (cdk.json: "app": "npx tsx cdk/bin/app.ts"). */
import '../../shared/polyfills';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../app';

buildApp(new App());
