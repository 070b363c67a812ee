"""How SAM builds the functions of infra/template.yaml: with the settings of Cargo.toml's dist
profile (the CDK side: infra/cdk/test/detector.test.ts, "function build").

SAM's build method rust-cargolambda cannot select a cargo profile. These tests show that with
SAM's own code (the options it hands to aws-lambda-builders for the template's Metadata, and the
`cargo lambda build` command those produce), then check what `make infra-sam-build` does instead:
it runs `sam build` with dist's settings as overrides of the release profile in the environment,
and these must be exactly the keys dist sets on top of release (Cargo.toml's [profile.dist]).
Nothing is compiled here; a real build of the same settings is `make infra-sam-build`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from aws_lambda_builders.architecture import ARM64
from aws_lambda_builders.binary_path import BinaryPath
from aws_lambda_builders.workflows.rust_cargo.actions import RustCargoLambdaBuildAction
from samcli.lib.build.app_builder import ApplicationBuilder
from samcli.lib.build.workflow_config import get_workflow_config

from cfn_eval import load_template

INFRA = Path(__file__).resolve().parents[1]
REPO = INFRA.parent
FUNCTIONS = ("Function", "LogArchiveFunction")

DISABLE_CARGO_LAMBDA_RELEASE_SETTINGS = "CARGO_LAMBDA_BUILD.DISABLE_OPTIMIZATIONS"


def template() -> dict:
    return load_template(INFRA / "template.yaml")


def dist_profile() -> tuple[dict, str]:
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    dist = cargo.get("profile", {}).get("dist")
    assert dist is not None, "Cargo.toml has no [profile.dist]"
    return dist, "[profile.dist] of Cargo.toml"


def env_value(value) -> str:
    """A Cargo.toml value as the CARGO_PROFILE_* environment variable spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def release_overrides(profile: dict) -> dict[str, str]:
    """The environment that makes the release profile the given profile: every key it sets on
    top of release, as CARGO_PROFILE_RELEASE_<KEY> (cargo: the environment beats Cargo.toml)."""
    assert profile.get("inherits") == "release", f"dist must inherit release, not {profile.get('inherits')}"
    # Per-package overrides cannot go in through the environment (cargo reads no
    # CARGO_PROFILE_*_PACKAGE_* variables): see test_what_sam_cannot_get_is_only_the_sdk_opt_level.
    return {
        f"CARGO_PROFILE_RELEASE_{k.upper().replace('-', '_')}": env_value(v)
        for k, v in profile.items()
        if k not in ("inherits", "package")
    }


def env_problems(env: dict[str, str], profile: dict) -> list[str]:
    want = release_overrides(profile)
    got = {k: v for k, v in env.items() if k.startswith("CARGO_PROFILE_")}
    problems = [f"{k}={got.get(k)!r}, dist needs {v!r}" for k, v in want.items() if got.get(k) != v]
    problems += [f"{k}={v!r} is not a key of dist" for k, v in got.items() if k not in want]
    if env.get(DISABLE_CARGO_LAMBDA_RELEASE_SETTINGS) != "true":
        problems.append(f"{DISABLE_CARGO_LAMBDA_RELEASE_SETTINGS} is not true: cargo lambda's own --config release settings beat the environment")
    return problems


def sam_build_command() -> tuple[str, list[str], dict[str, str], list[str]]:
    """What `make infra-sam-build` runs (make -n): the directory, the sam arguments, the
    environment it sets and the variables it unsets."""
    out = subprocess.run(
        ["make", "-n", "-s", "--no-print-directory", "infra-sam-build"],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    (line,) = [x for x in out.splitlines() if "/sam build" in x]
    cd, command = line.split("&&", 1)
    words = shlex.split(command)
    assert words[0] == "env", words
    env, unset, i = {}, [], 1
    while True:
        if words[i] == "-u":
            unset.append(words[i + 1])
            i += 2
        elif "=" in words[i]:
            key, value = words[i].split("=", 1)
            env[key] = value
            i += 1
        else:
            break
    return cd.strip().removeprefix("cd ").strip(), words[i:], env, unset


def test_both_functions_build_the_one_binary_with_cargo_lambda():
    resources = template()["Resources"]
    metadata = []
    for lid in FUNCTIONS:
        fn = resources[lid]
        props = fn["Properties"]
        assert (props["CodeUri"], props["Handler"], props["Runtime"], props["Architectures"]) == ("..", "bootstrap", "provided.al2023", ["arm64"]), lid
        metadata.append({k: v for k, v in fn["Metadata"].items() if k != "checkov"})
    assert metadata[0] == metadata[1], "the same build Metadata, so sam build builds the binary once"
    assert metadata[0] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "rootwatch"}}
    bins = [b["name"] for b in tomllib.loads((REPO / "Cargo.toml").read_text()).get("bin", [])]
    assert "rootwatch" in bins


def test_sam_cannot_pass_a_profile():
    """SAM hands aws-lambda-builders only the binary name (no cargo_lambda_flags), and the build
    action always adds --release unless SAM_BUILD_MODE=debug; cargo refuses --profile with it."""
    fn = template()["Resources"]["Function"]
    config = get_workflow_config("provided.al2023", str(REPO), str(INFRA), specified_workflow=fn["Metadata"]["BuildMethod"])
    assert (config.language, config.dependency_manager) == ("rust", "cargo")
    options = ApplicationBuilder._get_build_options(
        "Function", config.language, str(INFRA), "bootstrap", config.dependency_manager, fn["Metadata"], str(REPO), "/tmp/scratch"
    )
    assert options == {"artifact_executable_name": "rootwatch"}
    cargo = BinaryPath(resolver=None, validator=None, binary="cargo", binary_path="cargo")
    action = RustCargoLambdaBuildAction(
        str(REPO),
        {"cargo": cargo},
        None,  # SAM's mode without SAM_BUILD_MODE
        subprocess_cargo_lambda=None,
        runtime="provided.al2023",
        architecture=ARM64,
        handler=options["artifact_executable_name"],
        flags=options.get("cargo_lambda_flags"),
    )
    assert action.build_command() == ["cargo", "lambda", "build", "--release", "--arm64", "--bin", "rootwatch"]


def test_make_infra_sam_build_gives_sam_the_dist_settings():
    cd, args, env, unset = sam_build_command()
    assert Path(cd) == INFRA and args[0].endswith("/sam") and args[1:] == ["build", "--no-cached"], (cd, args)
    assert "SAM_BUILD_MODE" in unset, "SAM_BUILD_MODE=debug would drop --release"
    assert env["PATH"].startswith(f"{REPO}/.venv/bin:"), "cargo lambda and zig from make venv"
    profile, where = dist_profile()
    print(f"\nSAM build environment checked against {where}: {release_overrides(profile)}")
    assert env_problems(env, profile) == []


def test_the_build_check_can_fail():
    profile, _ = dist_profile()
    _, _, env, _ = sam_build_command()
    assert env_problems({**env, "CARGO_PROFILE_RELEASE_LTO": "thin"}, profile) == ["CARGO_PROFILE_RELEASE_LTO='thin', dist needs 'fat'"]
    without = {k: v for k, v in env.items() if k != DISABLE_CARGO_LAMBDA_RELEASE_SETTINGS}
    assert len(env_problems(without, profile)) == 1
    assert env_problems({**env, "CARGO_PROFILE_RELEASE_PANIC": "abort"}, profile) == ["CARGO_PROFILE_RELEASE_PANIC='abort' is not a key of dist"]
    assert env_problems(env, {**profile, "opt-level": 3}) == ["CARGO_PROFILE_RELEASE_OPT_LEVEL=None, dist needs '3'"]
    with pytest.raises(AssertionError, match="inherit release"):
        release_overrides({**profile, "inherits": "dev"})


def test_what_sam_cannot_get_is_only_the_sdk_opt_level():
    """Release compiles the AWS SDK at opt-level 1 (a faster first build); dist restores 3 per
    package, which the environment cannot express. So a SAM build is dist with the SDK at
    opt-level 1 (the template's comment says so), and nothing else differs."""
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    lowered = cargo["profile"]["release"].get("package", {})
    restored = cargo["profile"]["dist"].get("package", {})
    assert set(lowered) == set(restored), "dist restores exactly what release lowers"
    for name, settings in lowered.items():
        assert name.startswith("aws-"), f"{name}: only the AWS SDK is compiled less optimised"
        assert settings == {"opt-level": 1}, name
        assert restored[name] == {"opt-level": 3}, name
    comment = (INFRA / "template.yaml").read_text()
    assert "SDK at opt-level 1" in comment
