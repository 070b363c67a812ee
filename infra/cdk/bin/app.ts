// rootwatch CDK app: `npx cdk synth` / `npx cdk deploy Rootwatch` (README "Deploy").
// Settings come from context, e.g. -c alertEmail=sec@example.com -c organizationId=o-abc123def4.
// ROOTWATCH_SKIP_BUNDLING=1 synthesises without building the function (offline checks in
// `make infra`): the CLI refuses `aws:` context keys on its command line.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../lib/app';

const skipBundling = process.env.ROOTWATCH_SKIP_BUNDLING === '1';
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
buildApp(app);
// cdk-nag AwsSolutions at synth: any unacknowledged finding fails the synth. Acknowledgements
// (each with its reason) are written into the templates' Metadata as cdk_nag.rules_to_suppress.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
app.synth();
