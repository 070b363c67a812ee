# Offline checks of the deployment templates (included by the root Makefile; `make infra`).
# Tools are pinned and installed here, once (stamp files): infra/.venv (aws-sam-cli, cfn-lint,
# moto, pytest), infra/.venv-checkov (checkov: its boto3 pin conflicts with aws-sam-cli's) and
# infra/cdk/node_modules (npm ci from the committed package-lock.json). Nothing calls AWS.

INFRA_DIR := $(CURDIR)/infra
INFRA_VENV := $(INFRA_DIR)/.venv
INFRA_CHECKOV_VENV := $(INFRA_DIR)/.venv-checkov
INFRA_CDK := $(INFRA_DIR)/cdk
INFRA_CDK_OUT := $(INFRA_CDK)/cdk.out
INFRA_PYTHON ?= python3
NPM ?= npm

# No account, no network: a region for the tools, no telemetry, no notices, no metadata lookups.
INFRA_ENV := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	SAM_CLI_TELEMETRY=0 CDK_DISABLE_CLI_TELEMETRY=true

INFRA_TEMPLATES := $(INFRA_DIR)/template.yaml $(INFRA_DIR)/forwarder.yaml
INFRA_CDK_TEMPLATES := $(INFRA_CDK_OUT)/Rootwatch.template.json $(INFRA_CDK_OUT)/RootwatchForwarder.template.json \
	$(INFRA_CDK_OUT)/RootwatchLogArchive.template.json

# Example log-archive settings, for the checks only: the synth below adds the RootwatchLogArchive
# stack with every option on, and the pattern test builds its S3 events for the same bucket and
# prefix (it reads them from ROOTWATCH_EXAMPLE_LOG_BUCKET/_PREFIX).
INFRA_EXAMPLE_LOG_BUCKET := example-org-trail-logs
INFRA_EXAMPLE_LOG_PREFIX := AWSLogs/
# An example suppression file (both stacks): its s3:GetObject grant is checked like the others.
INFRA_EXAMPLE_SUPPRESSIONS := s3://example-rootwatch-config/rootwatch/suppressions.toml
INFRA_EXAMPLE_LOG_ARCHIVE := -c suppressionsS3Uri=$(INFRA_EXAMPLE_SUPPRESSIONS) -c logArchiveBucket=$(INFRA_EXAMPLE_LOG_BUCKET) -c logArchivePrefix=$(INFRA_EXAMPLE_LOG_PREFIX) \
	-c logArchiveRegion=eu-west-1 -c logArchiveNotification=both \
	-c logArchiveKeyArn=arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab \
	-c cloudTrailTopicArn=arn:aws:sns:eu-west-1:444455556666:org-trail-notifications \
	-c batchOperationsBucket=example-rootwatch-batch

.PHONY: infra infra-tools infra-cfn-lint infra-sam-validate infra-checkov infra-cdk-synth infra-cdk-test infra-patterns \
	infra-sam-build

infra: infra-cfn-lint infra-sam-validate infra-checkov infra-cdk-test infra-patterns
	@echo "infra: all checks passed"

infra-tools: $(INFRA_VENV)/.stamp $(INFRA_CHECKOV_VENV)/.stamp $(INFRA_CDK)/node_modules/.stamp

$(INFRA_VENV)/.stamp: $(INFRA_DIR)/requirements.txt
	rm -rf $(INFRA_VENV)
	$(INFRA_PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --disable-pip-version-check --no-input -q -r $<
	touch $@

$(INFRA_CHECKOV_VENV)/.stamp: $(INFRA_DIR)/requirements-checkov.txt
	rm -rf $(INFRA_CHECKOV_VENV)
	$(INFRA_PYTHON) -m venv $(INFRA_CHECKOV_VENV)
	$(INFRA_CHECKOV_VENV)/bin/pip install --disable-pip-version-check --no-input -q -r $<
	touch $@

$(INFRA_CDK)/node_modules/.stamp: $(INFRA_CDK)/package.json $(INFRA_CDK)/package-lock.json
	cd $(INFRA_CDK) && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

# CDK app: type check, then synth without building the function (bundling skipped), with the
# example log-archive settings. cdk-nag AwsSolutions runs during synth; an unacknowledged finding
# fails it.
infra-cdk-synth: $(INFRA_CDK)/node_modules/.stamp
	cd $(INFRA_CDK) && npx tsc --noEmit -p .
	rm -rf $(INFRA_CDK_OUT)
	cd $(INFRA_CDK) && $(INFRA_ENV) ROOTWATCH_SKIP_BUNDLING=1 npx cdk synth --quiet --no-notices --no-version-reporting \
		$(INFRA_EXAMPLE_LOG_ARCHIVE)

infra-cdk-test: $(INFRA_CDK)/node_modules/.stamp
	cd $(INFRA_CDK) && $(INFRA_ENV) node --import tsx --test test/*.test.ts

# cfn-lint's exit status is a bitmask (2 error, 4 warning, 8 info): any of them fails here.
# W3005 (DependsOn that a GetAtt already implies) is ignored on CDK output only: CDK writes the
# function's DependsOn on its role itself.
infra-cfn-lint: $(INFRA_VENV)/.stamp infra-cdk-synth
	$(INFRA_VENV)/bin/cfn-lint $(INFRA_TEMPLATES)
	$(INFRA_VENV)/bin/cfn-lint --ignore-checks W3005 -- $(INFRA_CDK_TEMPLATES)

infra-sam-validate: $(INFRA_VENV)/.stamp
	cd $(INFRA_DIR) && $(INFRA_ENV) $(INFRA_VENV)/bin/sam validate --lint --template-file template.yaml

# Every skip is justified inline in its template (Metadata.checkov.skip[].comment).
infra-checkov: $(INFRA_CHECKOV_VENV)/.stamp infra-cdk-synth
	$(INFRA_ENV) $(INFRA_CHECKOV_VENV)/bin/checkov --framework cloudformation --skip-download --compact --quiet \
		$(foreach t,$(INFRA_TEMPLATES) $(INFRA_CDK_TEMPLATES),-f $(t))

# The rule patterns of every template against every record in events/ (and synthetic ones), on
# moto's EventBridge; DETECTOR_RESOURCES against every resource of the stacks.
infra-patterns: $(INFRA_VENV)/.stamp infra-cdk-synth
	cd $(CURDIR) && $(INFRA_ENV) CDK_OUT=$(INFRA_CDK_OUT) ROOTWATCH_EXAMPLE_LOG_BUCKET=$(INFRA_EXAMPLE_LOG_BUCKET) \
		ROOTWATCH_EXAMPLE_LOG_PREFIX=$(INFRA_EXAMPLE_LOG_PREFIX) $(INFRA_VENV)/bin/python -m pytest -q -p no:cacheprovider infra/tests

# `sam build` of infra/template.yaml with the settings of Cargo.toml's dist profile (not part of
# `make infra`: it compiles the function). SAM always runs `cargo lambda build --release` and can
# pass no --profile (see the comment above Function in template.yaml), so dist's settings go in as
# overrides of the release profile: dist is release plus these four keys and a per-package opt-level
# for the AWS SDK, which has no environment form (the SDK stays at release's opt-level 1). CARGO_LAMBDA_BUILD.DISABLE_OPTIMIZATIONS keeps cargo lambda from passing its
# own release settings (thin LTO, panic=abort, target-cpu) as --config, which beats the
# environment. --no-cached: SAM's build cache does not know the environment. cargo lambda (and
# zig) come from .venv/ (make venv). infra/tests/test_build.py checks these against Cargo.toml.
INFRA_SAM_DIST_ENV := CARGO_LAMBDA_BUILD.DISABLE_OPTIMIZATIONS=true CARGO_PROFILE_RELEASE_LTO=fat \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=symbols CARGO_PROFILE_RELEASE_DEBUG=false

infra-sam-build: $(INFRA_VENV)/.stamp .venv/.stamp
	cd $(INFRA_DIR) && env -u SAM_BUILD_MODE $(INFRA_ENV) $(INFRA_SAM_DIST_ENV) PATH="$(CURDIR)/.venv/bin:$$PATH" \
		$(INFRA_VENV)/bin/sam build --no-cached
