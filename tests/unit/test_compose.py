"""The container files, checked structurally: docker-compose.yml, Dockerfile, docker/entrypoint.sh.

No Docker engine is needed (nor used): the files are parsed. What is checked is what the
operator relies on — the database healthy before the hub starts and the hub before its edge,
data on a named volume, a non-root image, only the edge published, the edge configured with
exactly the variables of its template and trusted by the hub at its fixed address, and no
secret written into any of the files (passwords and keys come only from files under
./secrets/, mounted as Docker secrets).
"""

from __future__ import annotations

import inspect
import ipaddress
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from sqlalchemy.engine import make_url

from skp.cli import cli
from skp.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SECRETS_DIR = "/run/secrets"
#: Names of environment variables that would hold a secret if they held a value.
SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|KEK", re.IGNORECASE)
#: A long run of base64/hex characters with letters and digits: key material or a password.
KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
TEMPLATES = ROOT / "deploy" / "nginx" / "templates"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[int, str, str]]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def parse_dockerfile(text: str) -> list[tuple[int, str, str]]:
    """``(stage, INSTRUCTION, arguments)`` per instruction; continuation lines joined."""
    instructions: list[tuple[int, str, str]] = []
    stage = -1
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append((stage, keyword.upper(), " ".join(args.split())))
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def final_stage(instructions: list[tuple[int, str, str]]) -> list[tuple[str, str]]:
    last = max(stage for stage, _, _ in instructions)
    return [(keyword, args) for stage, keyword, args in instructions if stage == last]


def dockerfile_env(instructions: list[tuple[int, str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in final_stage(instructions):
        if keyword == "ENV":
            for pair in shlex.split(args):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from the mapping or the list form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return {name: value for name, _, value in (item.partition("=") for item in raw)}
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def secret_paths(service: dict[str, Any]) -> dict[str, str]:
    """The path inside the container of each secret a service mounts, by secret name."""
    paths = {}
    for entry in service.get("secrets", []):
        if isinstance(entry, str):
            paths[entry] = f"{SECRETS_DIR}/{entry}"
        else:
            target = entry.get("target", entry["source"])
            paths[entry["source"]] = (target if target.startswith("/")
                                      else f"{SECRETS_DIR}/{target}")
    return paths


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document, keys included."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in [*strings(key), *strings(value)]]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def settings_names() -> set[str]:
    """The SKP_* variables Settings.from_env reads."""
    names = set(re.findall(r"\"(SKP_[A-Z_]+)\"", inspect.getsource(Settings.from_env)))
    assert {"SKP_DATABASE_URL", "SKP_KEK_FILE", "SKP_TLS_CERT"} <= names  # the regex works
    return names


# --- docker-compose.yml ----------------------------------------------------------------------


def test_services_are_postgres_the_hub_and_its_edge(compose):
    assert set(compose["services"]) == {"postgres", "hub", "edge"}
    assert compose["services"]["postgres"]["image"].startswith("postgres:16")
    assert compose["services"]["hub"]["build"] in (".", {"context": "."})
    assert re.fullmatch(r"nginx:1\.\d+", compose["services"]["edge"]["image"])


def test_postgres_has_a_pg_isready_healthcheck(compose):
    check = compose["services"]["postgres"]["healthcheck"]
    test = check["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert "pg_isready" in command
    assert {"interval", "timeout", "retries"} <= set(check)


def test_the_hub_has_a_healthcheck_in_compose_or_in_the_image(compose, dockerfile):
    check = compose["services"]["hub"].get("healthcheck")
    if check is not None:
        assert not check.get("disable", False), "the hub's healthcheck must not be disabled"
        assert "health" in " ".join(check["test"])
        return
    healthchecks = [args for keyword, args in final_stage(dockerfile) if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert re.search(r"CMD \[\"skp\", \"health\"\]", healthchecks[0])
    for option in ("--interval=", "--timeout=", "--retries="):
        assert option in healthchecks[0]


@pytest.mark.parametrize(("service", "after"), [("hub", "postgres"), ("edge", "hub")])
def test_each_starts_only_when_what_it_needs_is_healthy(compose, service, after):
    depends = compose["services"][service]["depends_on"]
    assert isinstance(depends, dict), "the list form of depends_on waits for nothing"
    assert depends[after]["condition"] == "service_healthy"


def test_named_volumes_are_declared_and_used(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")):
                used.add(source)
    assert declared == used == {"pgdata"}
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_certificates_are_mounted_read_only_where_the_settings_point(compose):
    hub, edge = compose["services"]["hub"], compose["services"]["edge"]
    assert "./certs:/certs:ro" in hub["volumes"]
    assert "./certs:/certs:ro" in edge["volumes"]
    env = environment(hub)
    for name in ("SKP_TLS_CERT", "SKP_TLS_KEY", "SKP_TLS_CLIENT_CA"):
        assert env[name].startswith("/certs/"), name
    files = {name: value for name, value in environment(edge).items()
             if re.search(r"_(CERT|KEY|CA|CRL)$", name)}
    assert len(files) == 7
    assert all(value.startswith("/certs/") for value in files.values()), files
    # The edge checks clients against the hub's own bundle, and shows clients the same
    # server certificate as the hub.
    assert files["SKP_EDGE_CLIENT_CA"] == env["SKP_TLS_CLIENT_CA"]
    assert files["SKP_EDGE_CERT"] == env["SKP_TLS_CERT"]


def test_only_the_edge_publishes_ports(compose, dockerfile):
    assert compose["services"]["edge"]["ports"] == ["443:8443", "8443:8443"]
    assert environment(compose["services"]["edge"])["SKP_EDGE_PORT"] == "8443"
    assert "ports" not in compose["services"]["hub"]
    assert "ports" not in compose["services"]["postgres"]
    exposed = [args for keyword, args in final_stage(dockerfile) if keyword == "EXPOSE"]
    assert exposed == ["8443"]
    assert dockerfile_env(dockerfile)["SKP_BIND_PORT"] == "8443"
    assert environment(compose["services"]["edge"])["SKP_EDGE_HUB"] == "hub:8443"


def test_the_edge_runs_the_template_of_deploy_nginx(compose):
    edge = compose["services"]["edge"]
    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in edge["volumes"]
    templates = list(TEMPLATES.glob("*.template"))
    assert [t.name for t in templates] == ["skp.conf.template"]
    wanted = set(re.findall(r"\$\{(SKP_[A-Z_]+)\}", templates[0].read_text()))
    given = {name for name in environment(edge) if name.startswith("SKP_")}
    assert given == wanted
    assert environment(edge)["NGINX_ENVSUBST_FILTER"] == "^SKP_"


def test_the_edge_and_the_hub_take_the_same_largest_request(compose):
    limit = {environment(compose["services"][name])["SKP_MAX_REQUEST_BYTES"]
             for name in ("hub", "edge")}
    assert limit == {f"${{SKP_MAX_REQUEST_BYTES:-{Settings().max_request_bytes}}}"}


def test_the_hub_trusts_the_edge_at_its_fixed_address(compose):
    edge = compose["services"]["edge"]
    address = edge["networks"]["default"]["ipv4_address"]
    assert environment(compose["services"]["hub"])["SKP_TRUSTED_PROXIES"] == address
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(address) not in ipaddress.ip_network(pool["ip_range"]), (
        "Docker could hand the edge's address to another container")


def test_the_edges_buffers_spill_into_memory_not_onto_a_disk(compose):
    assert any(entry.split(":")[0] == "/var/cache/nginx"
               for entry in compose["services"]["edge"]["tmpfs"])


@pytest.mark.parametrize("service", ["hub", "edge"])
def test_restarts_unless_stopped(compose, service):
    assert compose["services"][service]["restart"] == "unless-stopped"


def test_every_skp_variable_of_the_hub_is_a_real_setting(compose, dockerfile):
    known = settings_names()
    used = {name for key, service in compose["services"].items() if key != "edge"
            for name in environment(service) if name.startswith("SKP_")}
    used |= {name for name in dockerfile_env(dockerfile) if name.startswith("SKP_")}
    assert used, "no SKP_* variable found: the parsing is broken"
    assert used <= known, f"not settings of skp/config.py: {sorted(used - known)}"


def test_the_hub_runs_in_production_on_postgresql(compose, dockerfile):
    env = {**dockerfile_env(dockerfile), **environment(compose["services"]["hub"])}
    assert env["SKP_ENVIRONMENT"] == "production"
    url = make_url(env["SKP_DATABASE_URL"])
    assert url.get_backend_name() == "postgresql"
    assert url.host == "postgres"


# --- no secrets inline -------------------------------------------------------------------------


def test_no_pem_or_key_material_anywhere_in_compose(compose):
    for value in strings(compose):
        assert "-----BEGIN" not in value
        for run in KEY_MATERIAL.findall(value):
            looks_random = re.search(r"[0-9]", run) and re.search(r"[A-Za-z]", run)
            assert not looks_random, f"{value!r} looks like key material or a password"


def test_database_urls_carry_no_password(compose):
    for service in compose["services"].values():
        for name, value in environment(service).items():
            if "://" in value and not value.startswith("${"):
                assert make_url(value).password is None, name


def test_secret_variables_point_to_mounted_secret_files(compose):
    for name, service in compose["services"].items():
        mounted = set(secret_paths(service).values())
        for variable, value in environment(service).items():
            if not SECRET_NAME.search(variable) or variable.startswith(("SKP_TLS_", "SKP_EDGE_")):
                continue  # SKP_TLS_KEY and SKP_EDGE_*KEY are certificates' key files, above
            assert variable.endswith("_FILE") or variable == "PGPASSFILE", (
                f"{name}: {variable} would hold a secret inline; use a *_FILE variable")
            if variable == "SKP_KEK_FILE":
                continue  # a file in a writable directory of its own, below
            assert value in mounted, f"{name}: {variable}={value} is not a mounted secret"


def test_passwords_and_keys_come_from_the_expected_secrets(compose):
    postgres = compose["services"]["postgres"]
    hub = compose["services"]["hub"]
    assert environment(postgres)["POSTGRES_PASSWORD_FILE"] == \
        secret_paths(postgres)["postgres_password"]
    assert "POSTGRES_PASSWORD" not in environment(postgres)
    assert environment(hub)["PGPASSFILE"] == secret_paths(hub)["pgpass"] == "/run/secrets/pgpass"


def test_the_kek_file_is_in_a_writable_directory_of_its_own_under_secrets(compose):
    # The hub writes the file (a new KEK each epoch, the ended ones destroyed) and moves a
    # temporary file into place, so it needs the directory, writable; a secret is one read-only
    # file pinned to its inode.
    hub = compose["services"]["hub"]
    assert environment(hub)["SKP_KEK_FILE"] == "/var/lib/skp/keys/kek.json"
    assert "./secrets/keys:/var/lib/skp/keys" in hub["volumes"]
    assert "kek" not in compose["secrets"]


def test_secrets_are_files_under_secrets_that_git_and_docker_ignore(compose):
    declared = compose["secrets"]
    used = {name for service in compose["services"].values() for name in secret_paths(service)}
    assert set(declared) == used
    for name, secret in declared.items():
        assert set(secret) == {"file"}, f"secret {name} must come from a file"
        assert secret["file"].startswith("./secrets/"), name
        assert secret["file"] != "./secrets/README.md"
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "secrets/*" in gitignore
    assert "!secrets/README.md" in gitignore
    assert (ROOT / "secrets" / "README.md").is_file()
    dockerignore = [line.strip() for line in
                    (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
                    if line.strip() and not line.startswith("#")]
    assert dockerignore[0] == "*", ".dockerignore should be an allowlist"
    allowed = {line[1:].rstrip("/") for line in dockerignore if line.startswith("!")}
    assert allowed <= {"pyproject.toml", "constraints.txt", "README.md", "skp",
                       "docker/entrypoint.sh"}


# --- Dockerfile and entrypoint -----------------------------------------------------------------


def test_the_image_is_built_in_two_stages_from_python_311_slim(dockerfile):
    froms = [args for _, keyword, args in dockerfile if keyword == "FROM"]
    assert froms[0] == "python:3.11-slim AS builder"
    assert froms[-1].split()[0] == "python:3.11-slim"
    final = final_stage(dockerfile)
    run = " ".join(args for keyword, args in final if keyword == "RUN")
    assert "from=builder" in run and "--no-index" in run
    assert not re.search(r"apt-get|build-essential|gcc", run), "no build tools in the image"


def test_the_image_is_of_the_python_the_hub_runs_on_and_is_tested_on(dockerfile):
    froms = [args for _, keyword, args in dockerfile if keyword == "FROM"]
    versions = {re.match(r"python:(\d+\.\d+)-slim", each)[1] for each in froms}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    supported = SpecifierSet(project["requires-python"])
    for each in versions:
        assert supported.contains(f"{each}.0"), f"python:{each} is outside {supported}"
    assert versions == {f"{sys.version_info.major}.{sys.version_info.minor}"}


def test_the_image_is_built_with_the_pinned_releases(dockerfile):
    builder = next(args for _, keyword, args in dockerfile if keyword == "RUN")
    assert "pip wheel --constraint constraints.txt" in builder
    copied = " ".join(args for _, keyword, args in dockerfile if keyword == "COPY")
    assert "constraints.txt" in copied


def test_the_image_runs_as_a_non_root_user(dockerfile):
    users = [args for keyword, args in final_stage(dockerfile) if keyword == "USER"]
    assert users, "the final stage needs a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user in ("10001", "skp")


def test_the_image_sets_the_production_defaults(dockerfile):
    env = dockerfile_env(dockerfile)
    assert env["SKP_ENVIRONMENT"] == "production"
    assert env["SKP_BIND_HOST"] == "0.0.0.0"  # noqa: S104  # in a container, by design
    assert env["PYTHONUNBUFFERED"] == "1"
    assert ("WORKDIR", "/app") in final_stage(dockerfile)


def test_the_default_command_migrates_then_serves(dockerfile):
    final = dict(final_stage(dockerfile))
    assert final["ENTRYPOINT"] == '["skp-entrypoint"]'
    assert final["CMD"] == '["serve"]'
    assert "docker/entrypoint.sh /usr/local/bin/skp-entrypoint" in final["COPY"]
    script = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n")
    assert "set -eu" in script
    assert script.index("skp migrate") < script.index('exec skp "$@"')


def test_the_commands_the_container_runs_exist():
    assert {"serve", "migrate", "health", "keys"} <= set(cli.commands)
