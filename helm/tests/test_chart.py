"""Render tests of the vizier Helm chart (helm/vizier), offline.

Helm itself comes from helm-python-sdk (Helm's Go SDK behind a C ABI, no helm binary, no
cluster); manifests are checked against the Kubernetes OpenAPI schemas shipped inside
kubernetes-validate (strict: unknown fields are errors). Run with helm/tests/run.sh.
"""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import helm_python as helm
import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

HERE = pathlib.Path(__file__).resolve().parent
CHART = HERE.parent / "vizier"
REPO = HERE.parent.parent
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
VIZIER_DEFAULTS = REPO / "config" / "default.toml"

KUBE_VERSION = "1.30.0"
RELEASE = "vizier"
NAMESPACE = "bi"
FULLNAME = "vizier"  # the release name contains the chart name

DB_PASSWORD = "s3cr3t-db-pw"
DB_URL = f"postgres://vizier:{DB_PASSWORD}@postgres.db.svc:5432/vizier"
ENC_KEY = base64.b64encode(bytes(range(32))).decode()
REDIS_URL = "redis://:r3dis-pw@redis.cache.svc:6379/0"
JWT_HMAC = "jwt-hmac-shared-secret-value-0123456789"  # >= 32 bytes (HS256)
JWT_PEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest\n-----END PUBLIC KEY-----\n"
ALL_SECRETS = [DB_URL, DB_PASSWORD, ENC_KEY, REDIS_URL, JWT_HMAC, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtest"]

ISSUER = "https://idp.example.com/"
AUDIENCE = "vizier"
JWKS_URI = "https://idp.example.com/.well-known/jwks.json"
# The JWT settings vizier requires with auth on (the chart default): audience, issuers and
# one key source.
AUTH_JWKS: dict[str, Any] = {"auth": {"jwt": {"issuers": [ISSUER], "audience": AUDIENCE, "jwksUri": JWKS_URI}}}

# The smallest working install: chart-managed Secret with the two required values, and JWT
# authentication against a key set.
MINIMAL: dict[str, Any] = {"secret": {"databaseUrl": DB_URL, "encryptionKey": ENC_KEY}, **AUTH_JWKS}
# Without the auth values (they are what rendering must then refuse).
NO_AUTH_VALUES: dict[str, Any] = {"secret": {"databaseUrl": DB_URL, "encryptionKey": ENC_KEY}}

# HS256 tokens verified with a shared secret from the chart-managed Secret.
HMAC: dict[str, Any] = {
    "secret": {"databaseUrl": DB_URL, "encryptionKey": ENC_KEY, "jwtHmacSecret": JWT_HMAC},
    "auth": {"jwt": {"issuers": [ISSUER], "audience": AUDIENCE, "algorithms": ["HS256"]}},
}

# Everything optional switched on, to validate the templates that are off by default.
EVERYTHING: dict[str, Any] = {
    "secret": {
        "databaseUrl": DB_URL,
        "encryptionKey": ENC_KEY,
        "redisUrl": REDIS_URL,
        "jwtPublicKey": JWT_PEM,
    },
    "redis": {"enabled": True},
    "auth": {
        "enabled": True,
        "autoProvision": True,
        "tenants": True,
        "defaultRole": "gamma",
        "roleMapping": {"bi-admins": "admin", "bi editors": "alpha"},
        "authorizationServers": [ISSUER],
        "publicUrl": "https://vizier.example.org",
        "jwt": {
            "issuers": [ISSUER, "https://idp2.example.com/"],
            "audience": AUDIENCE,
            "algorithms": ["ES256"],
            "leewaySecs": 60,
            "requiredScopes": ["vizier:read"],
            "maxTokenBytes": 16384,
            "cacheEntries": 0,
        },
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "vizier.example.org", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "vizier-tls", "hosts": ["vizier.example.org"]}],
    },
    "autoscaling": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
    "serviceAccount": {"annotations": {"iam.example.com/role": "vizier"}},
    "extraEnv": [{"name": "RUST_BACKTRACE", "value": "1"}],
    "extraVolumes": [{"name": "ca", "configMap": {"name": "corp-ca"}}],
    "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/corp", "readOnly": True}],
    "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
    "imagePullSecrets": [{"name": "regcred"}],
    "commonLabels": {"team": "bi"},
    "commonAnnotations": {"owner": "bi-platform"},
    "metrics": {
        "serviceMonitor": {
            "enabled": True,
            "relabelings": [{"action": "labeldrop", "regex": "pod_template_hash"}],
        },
        "prometheusRule": {
            "enabled": True,
            "additionalRules": [
                {"record": "vizier:requests:rate5m", "expr": "sum(rate(mcp_requests_total[5m]))"}
            ],
        },
        "dashboard": {"enabled": True},
    },
}

CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}


# --------------------------------------------------------------------------------------
# Helpers


def merged(*layers: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge value layers (later wins), like repeated helm -f / --set."""
    out: dict[str, Any] = {}
    for layer in layers:
        _merge_into(out, copy.deepcopy(layer))
    return out


def _merge_into(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _merge_into(dst[key], value)
        else:
            dst[key] = value


def production_values() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION_VALUES.read_text())


class Rendered:
    """The manifests of one render, parsed."""

    def __init__(self, files: dict[str, str]):
        self.files = files
        self.notes = next((v for k, v in files.items() if k.endswith("NOTES.txt")), "")
        self.docs: list[dict[str, Any]] = []
        for path, text in sorted(files.items()):
            if path.endswith("NOTES.txt"):
                continue
            self.docs.extend(doc for doc in yaml.safe_load_all(text) if doc)

    def kinds(self) -> list[str]:
        return sorted(d["kind"] for d in self.docs)

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [d for d in self.all(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}: {self.kinds()}"
        return found[0]

    def has(self, kind: str, name: str | None = None) -> bool:
        return any(name is None or d["metadata"]["name"] == name for d in self.all(kind))

    # Shortcuts into the vizier Deployment.
    @property
    def deployment(self) -> dict[str, Any]:
        return self.get("Deployment", FULLNAME)

    @property
    def pod(self) -> dict[str, Any]:
        return self.deployment["spec"]["template"]

    @property
    def container(self) -> dict[str, Any]:
        containers = self.pod["spec"]["containers"]
        return next(c for c in containers if c["name"] == "vizier")

    def env(self, container: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        return {e["name"]: e for e in (container or self.container).get("env", [])}

    @property
    def job(self) -> dict[str, Any]:
        return self.get("Job", f"{FULLNAME}-migrate")

    @property
    def config_toml(self) -> dict[str, Any]:
        (configmap,) = [c for c in self.all("ConfigMap") if "vizier.toml" in c.get("data", {})]
        return tomllib.loads(configmap["data"]["vizier.toml"])


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(str(CHART)) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any]) -> Rendered:
    return Rendered(chart.render(values, name=RELEASE, namespace=NAMESPACE))


@pytest.fixture(scope="session")
def minimal(chart: helm.Chart) -> Rendered:
    return render(chart, MINIMAL)


@pytest.fixture(scope="session")
def production(chart: helm.Chart) -> Rendered:
    return render(chart, production_values())


@pytest.fixture(scope="session")
def everything(chart: helm.Chart) -> Rendered:
    return render(chart, EVERYTHING)


@pytest.fixture(scope="session")
def hmac(chart: helm.Chart) -> Rendered:
    return render(chart, HMAC)


@pytest.fixture(scope="session")
def auth_off(chart: helm.Chart) -> Rendered:
    """The explicit escape hatch: renders, but vizier will refuse the non-loopback bind."""
    return render(chart, merged(NO_AUTH_VALUES, {"auth": {"enabled": False, "devUser": "ops"}}))


def kubernetes_validate_cmd() -> list[str]:
    script = pathlib.Path(sys.executable).with_name("kubernetes-validate")
    if script.exists():
        return [str(script)]
    found = shutil.which("kubernetes-validate")
    return [found] if found else [sys.executable, "-m", "kubernetes_validate"]


# --------------------------------------------------------------------------------------
# Lint and values schema


@pytest.mark.parametrize(
    "values",
    [None, MINIMAL, "production", EVERYTHING, HMAC],
    ids=["chart-defaults", "minimal", "production", "everything", "hmac"],
)
def test_lint_strict(values: Any) -> None:
    if values == "production":
        values = production_values()
    report = helm.lint(str(CHART), values, strict=True, kube_version=f"v{KUBE_VERSION}")
    assert report["total_charts_linted"] == 1
    assert report["errors"] == [], report
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 = warning, 3 = error
    assert problems == [], problems


@pytest.mark.parametrize(
    "values",
    [{}, MINIMAL, "production", EVERYTHING, HMAC],
    ids=["defaults", "minimal", "production", "everything", "hmac"],
)
def test_values_match_schema(chart: helm.Chart, values: Any) -> None:
    if values == "production":
        values = production_values()
    chart.validate_schema(values)


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"config": {"server": {"bind": "0.0.0.0:9"}}}, "bind"),  # computed by the chart
        ({"config": {"server": {"max_body_byte": 1}}}, "max_body_byte"),  # typo vizier would refuse
        ({"config": {"logging": {"format": "xml"}}}, "format"),
        ({"config": {"pools": {"sql": {"workers": 0}}}}, "workers"),
        ({"autoscaling": {"minReplicas": "two"}}, "minReplicas"),
        ({"secret": {"encryptionKey": "not-base64-of-32-bytes"}}, "encryptionKey"),
        ({"secret": {"databaseUrl": "sqlite://data/vizier.db"}}, "databaseUrl"),
        ({"metrics": {"prometheusRule": {"errorRate": {"threshold": 5}}}}, "threshold"),
        ({"migration": {"hookDeletePolicy": "never"}}, "hookDeletePolicy"),
        ({"unknownTopLevel": True}, "unknownTopLevel"),
        ({"auth": {"jwt": {"issuer": ISSUER}}}, "issuer"),  # the old placeholder key
        ({"auth": {"jwt": {"jwksUrl": JWKS_URI}}}, "jwksUrl"),  # the old placeholder key
        ({"auth": {"jwt": {"algorithms": ["none"]}}}, "algorithms"),
        ({"auth": {"jwt": {"algorithms": ["ES512"]}}}, "algorithms"),  # not supported by vizier
        ({"auth": {"jwt": {"issuers": ISSUER}}}, "issuers"),  # a list
        ({"auth": {"jwt": {"jwksUri": "idp.example.com/jwks"}}}, "jwksUri"),
        ({"auth": {"jwt": {"leewaySecs": 301}}}, "leewaySecs"),
        ({"auth": {"jwt": {"requiredScopes": ["vizier:read vizier:sql"]}}}, "requiredScopes"),
        ({"auth": {"jwt": {"hsSecret": "x"}}}, "hsSecret"),  # secrets only under secret.*
        ({"auth": {"roleMapping": {"bi-admins": ""}}}, "roleMapping"),
        ({"secret": {"jwtPublicKey": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}}, "jwtPublicKey"),  # not PEM
    ],
)
def test_schema_rejects_bad_values(chart: helm.Chart, bad: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError) as exc:
        chart.validate_schema(merged(MINIMAL, bad))
    assert where in str(exc.value)


def test_bare_defaults_fail_with_what_to_set(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmError) as exc:
        chart.render({}, name=RELEASE, namespace=NAMESPACE)
    message = str(exc.value)
    assert "secret.databaseUrl" in message and "existingSecret" in message


def test_auth_is_on_by_default() -> None:
    assert yaml.safe_load((CHART / "values.yaml").read_text())["auth"]["enabled"] is True


@pytest.mark.parametrize(
    "bad, needles",
    [
        # Auth on (the default) without any JWT settings: the first missing one is named.
        ({}, ["auth.jwt.audience", "auth.enabled"]),
        ({"auth": {"jwt": {"issuers": [ISSUER], "jwksUri": JWKS_URI}}}, ["auth.jwt.audience", "aud"]),
        ({"auth": {"jwt": {"audience": AUDIENCE, "jwksUri": JWKS_URI}}}, ["auth.jwt.issuers", "iss"]),
        (
            {"auth": {"jwt": {"audience": AUDIENCE, "issuers": [ISSUER]}}},
            ["no JWT key source", "auth.jwt.jwksUri", "secret.jwtPublicKey", "secret.jwtHmacSecret", "existingSecret"],
        ),
        (
            {"auth": {"jwt": {"audience": "  ", "issuers": [ISSUER], "jwksUri": JWKS_URI}}},
            ["auth.jwt.audience"],
        ),
        (merged(AUTH_JWKS, {"secret": {"jwtPublicKey": JWT_PEM}}), ["exactly one JWT key source"]),
        (
            merged(AUTH_JWKS, {"auth": {"jwt": {"jwksUri": ""}}, "secret": {"jwtPublicKey": JWT_PEM, "jwtHmacSecret": JWT_HMAC}}),
            ["exactly one JWT key source"],
        ),
        (merged(AUTH_JWKS, {"auth": {"devUser": "admin"}}), ["auth.devUser", "auth.enabled"]),
        (merged(AUTH_JWKS, {"auth": {"jwt": {"algorithms": ["RS256", "HS256"]}}}), ["HS256", "auth.jwt.jwksUri"]),
        (merged(HMAC, {"auth": {"jwt": {"algorithms": ["RS256"]}}}), ["RS256", "HS256"]),
        (merged(HMAC, {"secret": {"jwtHmacSecret": "too-short"}}), ["secret.jwtHmacSecret", "at least 32"]),
        (merged(HMAC, {"auth": {"jwt": {"algorithms": ["HS512"]}}}), ["secret.jwtHmacSecret", "at least 64"]),
        (merged(AUTH_JWKS, {"auth": {"jwt": {"jwksUri": "http://keycloak.iam.svc/certs"}}}), ["jwksAllowHttp"]),
        (
            {"existingSecret": "s", "auth": {"jwt": {"audience": AUDIENCE, "issuers": [ISSUER], "algorithms": ["HS256", "RS256"]}}},
            ["mixes HMAC", "secretKeys.jwtHmacSecret", "secretKeys.jwtPublicKey"],
        ),
    ],
    ids=[
        "nothing",
        "no-audience",
        "no-issuers",
        "no-key-source",
        "blank-audience",
        "jwks-and-pem",
        "pem-and-hmac",
        "dev-user-with-auth",
        "hmac-alg-with-jwks",
        "rsa-alg-with-hmac",
        "short-hmac-secret",
        "short-hmac-secret-hs512",
        "plain-http-jwks",
        "existing-secret-mixed-algs",
    ],
)
def test_render_refuses_auth_without_what_vizier_requires(
    chart: helm.Chart, bad: dict[str, Any], needles: list[str]
) -> None:
    """vizier refuses to start with auth on and an incomplete [auth.jwt] (and refuses a
    non-loopback bind with auth off): rendering fails first, naming the values to set."""
    with pytest.raises(helm.HelmError) as exc:
        chart.render(merged(NO_AUTH_VALUES, bad), name=RELEASE, namespace=NAMESPACE)
    message = str(exc.value)
    for needle in needles:
        assert needle in message, (needle, message)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"secret": {"encryptionKey": base64.b64encode(b"x" * 16).decode()}}, "encryptionKey"),  # schema
        ({"secret": {"encryptionKey": ""}}, "secret.encryptionKey"),
        ({"redis": {"enabled": True}}, "secret.redisUrl"),
        ({"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}, "minReplicas"),
        ({"podDisruptionBudget": {"minAvailable": 1, "maxUnavailable": 1}}, "only one"),
    ],
)
def test_render_refuses_inconsistent_values(chart: helm.Chart, bad: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError) as exc:
        chart.render(merged(MINIMAL, bad), name=RELEASE, namespace=NAMESPACE)
    assert message in str(exc.value)


def _values_leaves(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _values_leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path


def test_every_value_is_documented() -> None:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    params = set(re.findall(r"^\s*## @param (\S+)", text, re.M))
    assert params, "no ## @param lines"
    for leaf in _values_leaves(values):
        parts = leaf.split(".")
        ancestors = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        documented = ancestors & params or any(p.startswith(leaf + "[") for p in params)
        assert documented, f"value {leaf} has no ## @param line"
    for param in params:  # and no line documents a value that is not there
        node: Any = values
        for part in re.sub(r"\[\d+\]", lambda m: "." + m.group(0)[1:-1], param).split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]


def test_readme_lists_every_parameter() -> None:
    """The README's Parameters tables (Bitnami readme-generator output) are up to date."""
    params = re.findall(r"^\s*## @param (\S+) (.*)$", (CHART / "values.yaml").read_text(), re.M)
    readme = (CHART / "README.md").read_text()
    stale = [
        name
        for name, description in params
        if not re.search(rf"\| `{re.escape(name)}` +\| {re.escape(description)} +\|", readme)
    ]
    assert not stale, f"regenerate the README Parameters section (see the README), stale: {stale}"


# --------------------------------------------------------------------------------------
# Kubernetes schema validation (kubernetes-validate --strict)


@pytest.mark.parametrize("which", ["minimal", "production", "everything"])
def test_manifests_validate_strict(
    which: str, request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    core = [d for d in rendered.docs if d["kind"] not in CRD_KINDS]
    path = tmp_path / f"{which}.yaml"
    path.write_text(yaml.safe_dump_all(core, sort_keys=False))
    proc = subprocess.run(
        [*kubernetes_validate_cmd(), "--strict", "-k", KUBE_VERSION, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not re.search(r"^(ERROR|WARN|FATAL)", out, re.M), out
    passed = re.findall(r"^INFO .* passed for resource (\S+)", out, re.M)
    assert len(passed) == len(core), out


def test_kubernetes_validate_catches_mistakes(minimal: Rendered, tmp_path: pathlib.Path) -> None:
    """Negative control: the strict validation really rejects an unknown field."""
    broken = copy.deepcopy(minimal.deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/health"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    proc = subprocess.run(
        [*kubernetes_validate_cmd(), "--strict", "-k", KUBE_VERSION, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "paht" in proc.stdout, proc.stdout + proc.stderr


# --------------------------------------------------------------------------------------
# What gets rendered


def test_minimal_kinds(minimal: Rendered) -> None:
    assert minimal.kinds() == sorted(
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "PodDisruptionBudget",
            "Secret",  # chart-managed
            "Secret",  # hook copy for the migration Job
            "Service",
            "ServiceAccount",
        ]
    )
    assert "vizier-migrate" in minimal.notes
    assert "Authentication is on" in minimal.notes and JWKS_URI in minimal.notes
    assert "not a loopback address" not in minimal.notes
    assert "vizier api-key create --user" in minimal.notes


def test_production_kinds(production: Rendered) -> None:
    assert production.kinds() == sorted(
        [
            "ConfigMap",  # vizier.toml
            "ConfigMap",  # Grafana dashboard
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "PodDisruptionBudget",
            "PrometheusRule",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ]
    )
    assert not production.has("Secret"), "existingSecret: the chart must not create a Secret"
    assert not production.has("Ingress")


def test_everything_kinds(everything: Rendered) -> None:
    assert everything.has("Ingress", FULLNAME)
    assert everything.has("ServiceMonitor") and everything.has("PrometheusRule")
    for doc in everything.docs:
        assert doc["metadata"]["labels"]["team"] == "bi", doc["kind"]
        assert doc["metadata"]["annotations"]["owner"] == "bi-platform", doc["kind"]


def test_all_objects_in_release_namespace_with_standard_labels(production: Rendered) -> None:
    for doc in production.docs:
        meta = doc["metadata"]
        assert meta["namespace"] == NAMESPACE, doc["kind"]
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "vizier"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "vizier-0.1.0"


# --------------------------------------------------------------------------------------
# Deployment


@pytest.mark.parametrize("which", ["minimal", "production"])
def test_probes(which: str, request: pytest.FixtureRequest) -> None:
    container = request.getfixturevalue(which).container
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["args"] == ["serve"]


def test_shutdown_fits_the_termination_grace(minimal: Rendered, everything: Rendered, chart: helm.Chart) -> None:
    """Endpoints go first (preStop pause), then vizier's whole shutdown grace, and Kubernetes
    waits for both with a margin before it kills the container."""
    pod = minimal.pod["spec"]
    assert pod["terminationGracePeriodSeconds"] == 45
    assert minimal.container["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    assert minimal.config_toml["server"]["shutdown_grace_ms"] == 30000
    assert 45 * 1000 >= 5 * 1000 + minimal.config_toml["server"]["shutdown_grace_ms"] + 5000
    # A lifecycle of one's own replaces the pause.
    assert everything.container["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    no_pause = render(chart, merged(MINIMAL, {"preStopSleepSeconds": 0, "terminationGracePeriodSeconds": 35}))
    assert "lifecycle" not in no_pause.container
    for bad in (
        {"terminationGracePeriodSeconds": 30},
        {"config": {"server": {"shutdown_grace_ms": 60000}}},
    ):
        with pytest.raises(helm.HelmError) as exc:
            chart.render(merged(MINIMAL, bad), name=RELEASE, namespace=NAMESPACE)
        assert "terminationGracePeriodSeconds" in str(exc.value)


@pytest.mark.parametrize("which", ["minimal", "production", "everything"])
def test_security_context(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    for pod, container in [
        (rendered.pod, rendered.container),
        (rendered.job["spec"]["template"], rendered.job["spec"]["template"]["spec"]["containers"][0]),
    ]:
        pod_sc = pod["spec"]["securityContext"]
        assert pod_sc["runAsNonRoot"] is True
        assert pod_sc["runAsUser"] == 10001
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        # A read-only root needs a writable /tmp.
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert pod["spec"]["automountServiceAccountToken"] is False


def test_config_is_mounted_and_passed(minimal: Rendered) -> None:
    env = minimal.env()
    assert env["VIZIER_CONFIG"]["value"] == "/etc/vizier/vizier.toml"
    mount = next(m for m in minimal.container["volumeMounts"] if m["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/etc/vizier", "readOnly": True}
    volume = next(v for v in minimal.pod["spec"]["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == FULLNAME
    assert minimal.pod["spec"]["serviceAccountName"] == FULLNAME


def test_resources(minimal: Rendered, production: Rendered) -> None:
    assert minimal.container["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi"}
    assert production.container["resources"] == {
        "requests": {"cpu": "1", "memory": "512Mi"},
        "limits": {"memory": "1Gi"},
    }


def test_image(minimal: Rendered, production: Rendered, chart: helm.Chart) -> None:
    assert minimal.container["image"] == "vizier:0.1.0"  # appVersion
    assert production.container["image"] == "registry.example.com/bi/vizier:0.1.0"
    digest = "sha256:" + "a" * 64
    pinned = render(chart, merged(MINIMAL, {"image": {"digest": digest}}))
    assert pinned.container["image"] == f"vizier@{digest}"
    assert pinned.job["spec"]["template"]["spec"]["containers"][0]["image"] == f"vizier@{digest}"


def checksum(rendered: Rendered, which: str = "config") -> str:
    return rendered.pod["metadata"]["annotations"][f"checksum/{which}"]


def test_checksum_annotation_follows_config(chart: helm.Chart, minimal: Rendered) -> None:
    base = checksum(minimal)
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    changed = [
        {"config": {"logging": {"level": "debug"}}},
        {"config": {"pools": {"sql": {"workers": 4}}}},
        {"config": {"server": {"allowed_hosts": ["vizier.corp.example"]}}},
        {"ingress": {"enabled": True}},  # adds its host to server.allowed_hosts
        {"auth": {"jwt": {"audience": "other"}}},
        {"auth": {"roleMapping": {"bi-admins": "admin"}}},
    ]
    for change in changed:
        assert checksum(render(chart, merged(MINIMAL, change))) != base, change
    # Values that do not touch the config keep the pods as they are.
    for same in [
        {"replicaCount": 7},
        {"resources": {"requests": {"cpu": "2"}}},
        {"podAnnotations": {"a": "b"}},
    ]:
        assert checksum(render(chart, merged(MINIMAL, same))) == base, same


def test_checksum_annotation_follows_chart_managed_secret(
    chart: helm.Chart, minimal: Rendered, production: Rendered
) -> None:
    rotated = render(chart, merged(MINIMAL, {"secret": {"databaseUrl": DB_URL + "?sslmode=require"}}))
    assert checksum(rotated, "secret") != checksum(minimal, "secret")
    assert checksum(rotated) == checksum(minimal)
    assert "checksum/secret" not in production.pod["metadata"]["annotations"]


def test_pod_anti_affinity_and_spread(production: Rendered) -> None:
    spec = production.pod["spec"]
    term = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert (
        term["podAffinityTerm"]["labelSelector"]["matchLabels"]
        == production.deployment["spec"]["selector"]["matchLabels"]
    )
    tsc = spec["topologySpreadConstraints"][0]
    assert tsc["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == RELEASE  # tpl-rendered


def test_service_selects_server_pods_only(minimal: Rendered) -> None:
    service = minimal.get("Service", FULLNAME)
    selector = service["spec"]["selector"]
    assert selector == minimal.deployment["spec"]["selector"]["matchLabels"]
    pod_labels = minimal.pod["metadata"]["labels"]
    assert all(pod_labels[k] == v for k, v in selector.items())
    job_labels = minimal.job["spec"]["template"]["metadata"]["labels"]
    assert not all(job_labels.get(k) == v for k, v in selector.items()), (
        "the migration pod must not join the Service"
    )
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]


# --------------------------------------------------------------------------------------
# HPA and PDB


def test_hpa(minimal: Rendered, production: Rendered) -> None:
    for rendered, min_replicas in [(minimal, 2), (production, 3)]:
        hpa = rendered.get("HorizontalPodAutoscaler", FULLNAME)
        assert hpa["apiVersion"] == "autoscaling/v2"
        spec = hpa["spec"]
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
        assert spec["minReplicas"] == min_replicas
        assert spec["maxReplicas"] == 10
        targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"]}
        assert targets == {
            "cpu": {"type": "Utilization", "averageUtilization": 70},
            "memory": {"type": "Utilization", "averageUtilization": 80},
        }
        # The HPA owns the replica count.
        assert "replicas" not in rendered.deployment["spec"]


def test_without_autoscaling_the_deployment_sets_replicas(chart: helm.Chart) -> None:
    rendered = render(chart, merged(MINIMAL, {"autoscaling": {"enabled": False}, "replicaCount": 3}))
    assert not rendered.has("HorizontalPodAutoscaler")
    assert rendered.deployment["spec"]["replicas"] == 3
    assert rendered.has("PodDisruptionBudget")


def test_pdb(minimal: Rendered, production: Rendered, chart: helm.Chart) -> None:
    for rendered, min_available in [(minimal, 1), (production, 2)]:
        pdb = rendered.get("PodDisruptionBudget", FULLNAME)
        assert pdb["apiVersion"] == "policy/v1"
        assert pdb["spec"]["minAvailable"] == min_available
        assert "maxUnavailable" not in pdb["spec"]
        assert (
            pdb["spec"]["selector"]["matchLabels"] == rendered.deployment["spec"]["selector"]["matchLabels"]
        )
    by_max = render(
        chart, merged(MINIMAL, {"podDisruptionBudget": {"minAvailable": "", "maxUnavailable": "25%"}})
    )
    assert by_max.get("PodDisruptionBudget")["spec"] == {
        "maxUnavailable": "25%",
        "selector": by_max.deployment["spec"]["selector"],
    }
    # A single pod with minAvailable 1 would block every node drain: no PDB then.
    single = render(chart, merged(MINIMAL, {"autoscaling": {"enabled": False}, "replicaCount": 1}))
    assert not single.has("PodDisruptionBudget")


# --------------------------------------------------------------------------------------
# Migration Job


@pytest.mark.parametrize("which", ["minimal", "production"])
def test_migration_job_is_a_pre_install_upgrade_hook(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    job = rendered.job
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert "helm.sh/hook-weight" in annotations
    spec = job["spec"]
    assert spec["backoffLimit"] == 2 and spec["activeDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert "serviceAccountName" not in pod  # the chart's ServiceAccount does not exist yet on pre-install
    (container,) = pod["containers"]
    assert container["args"] == ["migrate"]
    env = {e["name"]: e for e in container["env"]}
    assert env["VIZIER_SERVER__BIND"]["value"].startswith("127.0.0.1:")  # migrate needs no listener
    assert "VIZIER_CONFIG" not in env  # the ConfigMap does not exist yet on pre-install
    secret_name = env["VIZIER_METADATA__URL"]["valueFrom"]["secretKeyRef"]["name"]
    assert env["VIZIER_SECRETS__ENCRYPTION_KEY"]["valueFrom"]["secretKeyRef"]["name"] == secret_name
    if which == "production":
        assert secret_name == "vizier-secrets"
        assert not rendered.has("Secret")
    else:
        # Regular objects are created after pre-install hooks, so the Job reads a hook Secret
        # created just before it (lower weight) and deleted with it.
        hook_secret = rendered.get("Secret", secret_name)
        hook_annotations = hook_secret["metadata"]["annotations"]
        assert hook_annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(hook_annotations["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])
        assert "before-hook-creation" in hook_annotations["helm.sh/hook-delete-policy"]
        assert "hook-succeeded" in hook_annotations["helm.sh/hook-delete-policy"]
        data = {k: base64.b64decode(v).decode() for k, v in hook_secret["data"].items()}
        assert data == {"database-url": DB_URL, "encryption-key": ENC_KEY}


def test_migration_job_can_be_disabled(chart: helm.Chart) -> None:
    rendered = render(chart, merged(MINIMAL, {"migration": {"enabled": False}}))
    assert not rendered.has("Job")
    assert [s["metadata"]["name"] for s in rendered.all("Secret")] == [FULLNAME]
    assert "run `vizier migrate`" in rendered.notes


def test_migration_job_uses_existing_service_account(chart: helm.Chart) -> None:
    rendered = render(chart, merged(MINIMAL, {"serviceAccount": {"create": False, "name": "vizier-wi"}}))
    assert rendered.job["spec"]["template"]["spec"]["serviceAccountName"] == "vizier-wi"
    assert rendered.pod["spec"]["serviceAccountName"] == "vizier-wi"
    assert not rendered.has("ServiceAccount")


# --------------------------------------------------------------------------------------
# Secrets


def secret_ref(env: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return env[name]["valueFrom"]["secretKeyRef"]


def test_secret_refs_chart_managed(minimal: Rendered) -> None:
    env = minimal.env()
    assert secret_ref(env, "VIZIER_METADATA__URL") == {"name": FULLNAME, "key": "database-url"}
    assert secret_ref(env, "VIZIER_SECRETS__ENCRYPTION_KEY") == {"name": FULLNAME, "key": "encryption-key"}
    assert "VIZIER_RATE_LIMITS__REDIS_URL" not in env
    assert not [n for n in env if n.startswith("VIZIER_AUTH__")]
    secret = minimal.get("Secret", FULLNAME)
    assert "helm.sh/hook" not in secret["metadata"].get("annotations", {})
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"database-url": DB_URL, "encryption-key": ENC_KEY}


def test_secret_refs_existing_secret(production: Rendered) -> None:
    env = production.env()
    assert secret_ref(env, "VIZIER_METADATA__URL") == {"name": "vizier-secrets", "key": "database-url"}
    assert secret_ref(env, "VIZIER_SECRETS__ENCRYPTION_KEY") == {
        "name": "vizier-secrets",
        "key": "encryption-key",
    }


def test_custom_secret_key_names(chart: helm.Chart) -> None:
    rendered = render(
        chart,
        merged(
            AUTH_JWKS,
            {"existingSecret": "pg-app", "secretKeys": {"databaseUrl": "uri", "encryptionKey": "vizier-key"}},
        ),
    )
    env = rendered.env()
    assert secret_ref(env, "VIZIER_METADATA__URL") == {"name": "pg-app", "key": "uri"}
    assert secret_ref(env, "VIZIER_SECRETS__ENCRYPTION_KEY") == {"name": "pg-app", "key": "vizier-key"}
    job_env = {e["name"]: e for e in rendered.job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert secret_ref(job_env, "VIZIER_METADATA__URL") == {"name": "pg-app", "key": "uri"}


def test_redis_url_from_secret(everything: Rendered, chart: helm.Chart) -> None:
    assert secret_ref(everything.env(), "VIZIER_RATE_LIMITS__REDIS_URL") == {"name": FULLNAME, "key": "redis-url"}
    data = everything.get("Secret", FULLNAME)["data"]
    assert base64.b64decode(data["redis-url"]).decode() == REDIS_URL
    existing = render(chart, merged(AUTH_JWKS, {"existingSecret": "s", "redis": {"enabled": True}}))
    assert secret_ref(existing.env(), "VIZIER_RATE_LIMITS__REDIS_URL") == {"name": "s", "key": "redis-url"}


def test_jwt_public_key_from_secret(everything: Rendered) -> None:
    env = everything.env()
    assert secret_ref(env, "VIZIER_AUTH__JWT__PUBLIC_KEY_PEM") == {"name": FULLNAME, "key": "jwt-public-key"}
    assert "VIZIER_AUTH__JWT__HS_SECRET" not in env  # exactly one key source
    data = everything.get("Secret", FULLNAME)["data"]
    assert base64.b64decode(data["jwt-public-key"]).decode() == JWT_PEM
    assert "jwt-hmac-secret" not in data
    jwt = everything.config_toml["auth"]["jwt"]
    assert not {"hs_secret", "public_key_pem", "jwks_uri"} & set(jwt)


def test_jwt_hmac_secret_from_secret(hmac: Rendered) -> None:
    env = hmac.env()
    assert secret_ref(env, "VIZIER_AUTH__JWT__HS_SECRET") == {"name": FULLNAME, "key": "jwt-hmac-secret"}
    assert "VIZIER_AUTH__JWT__PUBLIC_KEY_PEM" not in env
    data = hmac.get("Secret", FULLNAME)["data"]
    assert base64.b64decode(data["jwt-hmac-secret"]).decode() == JWT_HMAC
    jwt = hmac.config_toml["auth"]["jwt"]
    assert jwt["algorithms"] == ["HS256"]
    assert not {"hs_secret", "public_key_pem", "jwks_uri"} & set(jwt)
    # The migration Job needs no token keys: its hook Secret holds only what `migrate` reads.
    hook = hmac.get("Secret", f"{FULLNAME}-migration")
    assert set(hook["data"]) == {"database-url", "encryption-key"}
    job_env = {e["name"] for e in hmac.job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert not [n for n in job_env if n.startswith("VIZIER_AUTH__")]


def test_jwks_needs_no_secret_key(minimal: Rendered, production: Rendered) -> None:
    for rendered in (minimal, production):
        assert not [n for n in rendered.env() if n.startswith("VIZIER_AUTH__")]
    assert set(minimal.get("Secret", FULLNAME)["data"]) == {"database-url", "encryption-key"}


@pytest.mark.parametrize(
    "algorithms, env_name, key",
    [
        (["RS256", "ES256"], "VIZIER_AUTH__JWT__PUBLIC_KEY_PEM", "jwt-public-key"),
        (["HS256"], "VIZIER_AUTH__JWT__HS_SECRET", "jwt-hmac-secret"),
    ],
)
def test_existing_secret_key_source_follows_algorithms(
    chart: helm.Chart, algorithms: list[str], env_name: str, key: str
) -> None:
    """The chart cannot see an existing Secret's keys: without jwksUri the algorithms pick
    the one key vizier reads, a required reference (a missing key stops the pod visibly)."""
    rendered = render(
        chart,
        {
            "existingSecret": "vizier-secrets",
            "auth": {"jwt": {"issuers": [ISSUER], "audience": AUDIENCE, "algorithms": algorithms}},
        },
    )
    auth_env = [n for n in rendered.env() if n.startswith("VIZIER_AUTH__")]
    assert auth_env == [env_name]
    assert secret_ref(rendered.env(), env_name) == {"name": "vizier-secrets", "key": key}
    assert "jwks_uri" not in rendered.config_toml["auth"]["jwt"]
    assert f"key {key}" in rendered.notes
    renamed = render(
        chart,
        {
            "existingSecret": "vizier-secrets",
            "secretKeys": {"jwtPublicKey": "idp.pem", "jwtHmacSecret": "idp.hmac"},
            "auth": {"jwt": {"issuers": [ISSUER], "audience": AUDIENCE, "algorithms": algorithms}},
        },
    )
    assert secret_ref(renamed.env(), env_name)["key"] == ("idp.hmac" if algorithms == ["HS256"] else "idp.pem")


def test_auth_off_escape_hatch(auth_off: Rendered) -> None:
    """auth.enabled=false renders (for a deliberate setup), but NOTES warns that vizier
    refuses the pods' non-loopback bind without authentication."""
    assert auth_off.config_toml["auth"] == {"enabled": False, "dev_user": "ops"}
    assert not [n for n in auth_off.env() if n.startswith("VIZIER_AUTH__")]
    assert "WARNING: authentication is off" in auth_off.notes
    assert "not a loopback address" in auth_off.notes
    assert "Authentication is on" not in auth_off.notes


@pytest.mark.parametrize("which", ["minimal", "production", "everything", "hmac"])
def test_no_plaintext_secret_outside_secrets(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    for doc in rendered.docs:
        if doc["kind"] == "Secret":
            continue
        text = json.dumps(doc)
        for secret in ALL_SECRETS:
            assert secret not in text, f"{secret!r} in {doc['kind']} {doc['metadata']['name']}"
    for configmap in rendered.all("ConfigMap"):
        for key, value in configmap.get("data", {}).items():
            assert not re.search(
                r"postgres(ql)?://|rediss?://|encryption_key|hs_secret|public_key_pem|BEGIN .*KEY", value
            ), (configmap["metadata"]["name"], key)
    toml = rendered.config_toml
    assert "url" not in toml.get("metadata", {})
    assert "encryption_key" not in toml.get("secrets", {})
    assert not {"hs_secret", "public_key_pem"} & set(toml["auth"].get("jwt", {}))
    # Every secret-carrying env var of the pod comes from a Secret, none inline.
    for name, entry in rendered.env().items():
        if name in SECRET_ENV:
            assert "value" not in entry and "secretKeyRef" in entry["valueFrom"], name


SECRET_ENV = {
    "VIZIER_METADATA__URL",
    "VIZIER_SECRETS__ENCRYPTION_KEY",
    "VIZIER_RATE_LIMITS__REDIS_URL",
    "VIZIER_AUTH__JWT__HS_SECRET",
    "VIZIER_AUTH__JWT__PUBLIC_KEY_PEM",
}


# --------------------------------------------------------------------------------------
# vizier.toml


def test_config_toml_minimal(minimal: Rendered) -> None:
    cfg = minimal.config_toml
    assert cfg["server"]["bind"] == "0.0.0.0:8080"
    assert cfg["server"]["allowed_hosts"] == [
        "localhost",
        "127.0.0.1",
        FULLNAME,
        f"{FULLNAME}.{NAMESPACE}",
        f"{FULLNAME}.{NAMESPACE}.svc",
        f"{FULLNAME}.{NAMESPACE}.svc.cluster.local",
    ]
    assert cfg["server"]["allowed_origins"] == []
    assert cfg["metadata"] == {"pool_size": 8, "connect_timeout_ms": 5000, "auto_migrate": False}
    assert cfg["pools"]["sql"] == {"workers": 8, "queue": 256, "timeout_ms": 310000}
    assert cfg["examples"]["enabled"] is False
    assert cfg["logging"] == {"level": "info", "format": "json"}
    assert cfg["metrics"] == {"enabled": True}
    assert cfg["tools"] == {"search": False, "enabled": [], "disabled": [], "read_only": False}
    assert "faults" not in cfg  # refused by vizier on a non-loopback bind


def test_tool_exposure_values_reach_the_config(chart: helm.Chart) -> None:
    rendered = render(
        chart,
        merged(
            MINIMAL,
            {"config": {"tools": {"search": True, "disabled": ["admin", "delete_chart"], "read_only": True}}},
        ),
    )
    assert rendered.config_toml["tools"] == {
        "search": True,
        "enabled": [],
        "disabled": ["admin", "delete_chart"],
        "read_only": True,
    }


def test_config_toml_production(production: Rendered) -> None:
    cfg = production.config_toml
    assert "vizier.bi.example.com" in cfg["server"]["allowed_hosts"]
    assert cfg["server"]["max_body_bytes"] == 2097152
    assert cfg["metadata"]["pool_size"] == 16
    assert cfg["auth"] == {
        "enabled": True,
        "auto_provision": True,
        "default_role": "gamma",
        "authorization_servers": ["https://idp.example.com/"],
        "public_url": "https://vizier.bi.example.com",
        "role_mapping": {"bi-admins": "admin", "bi-editors": "alpha"},
        "jwt": {
            "algorithms": ["RS256"],
            "issuers": ["https://idp.example.com/"],
            "audience": "vizier",
            "jwks_uri": JWKS_URI,
            "leeway_secs": 30,
            "jwks_refresh_secs": 300,
            "jwks_min_refetch_secs": 10,
            "jwks_timeout_secs": 5,
            "jwks_allow_http": False,
            "required_scopes": [],
            "max_token_bytes": 8192,
            "cache_entries": 10000,
        },
    }


def test_config_toml_auth_tables(minimal: Rendered, everything: Rendered) -> None:
    """[auth] and [auth.jwt] carry vizier's keys (no role_mapping table when none is given)."""
    assert minimal.config_toml["auth"] == {
        "enabled": True,
        "auto_provision": False,
        "default_role": "gamma",
        "authorization_servers": [],
        "jwt": {
            "algorithms": ["RS256", "ES256"],
            "issuers": [ISSUER],
            "audience": AUDIENCE,
            "jwks_uri": JWKS_URI,
            "leeway_secs": 30,
            "jwks_refresh_secs": 300,
            "jwks_min_refetch_secs": 10,
            "jwks_timeout_secs": 5,
            "jwks_allow_http": False,
            "required_scopes": [],
            "max_token_bytes": 8192,
            "cache_entries": 10000,
        },
    }
    text = next(c for c in minimal.all("ConfigMap") if "vizier.toml" in c["data"])["data"]["vizier.toml"]
    assert "\n[auth]\n" in text and "\n[auth.jwt]\n" in text and "role_mapping" not in text
    assert "dev_user" not in text  # vizier refuses dev_user with auth on
    auth = everything.config_toml["auth"]
    assert auth["auto_provision"] is True
    assert auth["tenants"] is True
    assert auth["role_mapping"] == {"bi-admins": "admin", "bi editors": "alpha"}  # quoted TOML key
    assert auth["public_url"] == "https://vizier.example.org"
    assert auth["jwt"]["issuers"] == [ISSUER, "https://idp2.example.com/"]
    assert auth["jwt"]["algorithms"] == ["ES256"]
    assert auth["jwt"]["leeway_secs"] == 60 and auth["jwt"]["cache_entries"] == 0
    assert auth["jwt"]["required_scopes"] == ["vizier:read"]
    assert auth["jwt"]["max_token_bytes"] == 16384


def test_allowed_hosts_include_ingress_hosts(everything: Rendered, chart: helm.Chart) -> None:
    assert "vizier.example.org" in everything.config_toml["server"]["allowed_hosts"]
    other = render(chart, merged(MINIMAL, {"clusterDomain": "corp.local", "fullnameOverride": "bi-mcp"}))
    hosts = other.config_toml["server"]["allowed_hosts"]
    assert "bi-mcp.bi.svc.corp.local" in hosts and "bi-mcp" in hosts


def test_config_null_leaves_vizier_default(chart: helm.Chart) -> None:
    cfg = render(chart, merged(MINIMAL, {"config": {"examples": {"enabled": None}}})).config_toml
    assert "enabled" not in cfg["examples"]


def test_ipv6_bind(chart: helm.Chart) -> None:
    cfg = render(chart, merged(MINIMAL, {"bindAddress": "::", "containerPorts": {"http": 9000}})).config_toml
    assert cfg["server"]["bind"] == "[::]:9000"


def _toml_leaves(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            yield from _toml_leaves(value, path)
        else:
            yield path, value


def vizier_keys() -> dict[str, Any]:
    """Every key of config/default.toml with an example value: the set ones, and the ones it
    only shows commented out (`# key = value` inside a table: no fixed default, e.g.
    auth.dev_user, auth.jwt.jwks_uri)."""
    text = VIZIER_DEFAULTS.read_text()
    keys = dict(_toml_leaves(tomllib.loads(text)))
    table = ""
    for line in text.splitlines():
        if m := re.match(r"^\[([A-Za-z0-9_.]+)\]\s*$", line):
            table = m.group(1)
        elif table and (m := re.match(r"^#\s*([a-z_][a-z0-9_]*)\s*=\s*(.+)$", line)):
            try:
                value = tomllib.loads(f"v = {m.group(2)}")["v"]
            except tomllib.TOMLDecodeError:
                continue
            keys.setdefault(f"{table}.{m.group(1)}", value)
    return keys


# Tables whose keys are free-form names (key -> value type).
VIZIER_MAP_TABLES = {"auth.role_mapping": str, "faults.delay_ms": int}


@pytest.mark.skipif(not VIZIER_DEFAULTS.exists(), reason="config/default.toml not found")
def test_vizier_keys_reads_commented_keys() -> None:
    keys = vizier_keys()
    for key, kind in [
        ("metadata.auto_migrate", bool),
        ("examples.enabled", bool),
        ("auth.dev_user", str),
        ("auth.public_url", str),
        ("auth.jwt.jwks_uri", str),
        ("auth.jwt.hs_secret", str),
        ("auth.jwt.public_key_pem", str),
        ("auth.jwt.audience", str),
        ("auth.jwt.leeway_secs", int),
    ]:
        assert type(keys.get(key)) is kind, key
    assert keys["auth.role_mapping"] == {}


@pytest.mark.skipif(not VIZIER_DEFAULTS.exists(), reason="config/default.toml not found")
@pytest.mark.parametrize("which", ["minimal", "production", "everything", "hmac", "auth_off"])
def test_config_keys_and_types_match_vizier(which: str, request: pytest.FixtureRequest) -> None:
    """vizier refuses unknown keys and wrong types at start: every rendered key must be one
    config/default.toml documents (set or commented out), with the same TOML type (an
    integer, never a float)."""
    defaults = vizier_keys()
    rendered = dict(_toml_leaves(request.getfixturevalue(which).config_toml))
    for key, value in rendered.items():
        table = key.rsplit(".", 1)[0]
        if table in VIZIER_MAP_TABLES:
            assert isinstance(defaults.get(table), dict), f"{table} is not a vizier table"
            assert type(value) is VIZIER_MAP_TABLES[table], f"{key}: {value!r}"
            continue
        assert key in defaults, f"{key} is not a vizier config key"
        assert type(value) is type(defaults[key]), f"{key}: {value!r} is not a {type(defaults[key]).__name__}"
        if isinstance(value, list):
            for item in value:
                assert all(type(item) is type(d) for d in defaults[key]), f"{key}: {item!r}"


@pytest.mark.skipif(not VIZIER_DEFAULTS.exists(), reason="config/default.toml not found")
def test_chart_defaults_follow_vizier_defaults(minimal: Rendered) -> None:
    """The chart's pool/limit defaults are vizier's; deliberate differences are listed here."""
    defaults = dict(_toml_leaves(tomllib.loads(VIZIER_DEFAULTS.read_text())))
    deliberate = {
        "server.bind",  # 0.0.0.0 in a pod
        "server.allowed_hosts",  # Service DNS names
        "server.allowed_origins",  # no browser origins by default on a server
        "logging.format",  # json for log collectors
        "examples.path",  # the read-only root: /tmp
        "auth.enabled",  # required for the non-loopback bind
        "auth.jwt.issuers",  # required with auth on: set by MINIMAL
        "auth.jwt.audience",  # required with auth on: set by MINIMAL
        "server.max_connections_per_client",  # off: behind an ingress every client shares its address
    }
    for key, value in _toml_leaves(minimal.config_toml):
        if key in defaults and key not in deliberate:
            assert value == defaults[key], f"{key}: chart {value!r} != vizier {defaults[key]!r}"


# --------------------------------------------------------------------------------------
# Prometheus Operator objects and the Grafana dashboard (CRDs: fields checked here)


def test_service_monitor(production: Rendered) -> None:
    sm = production.get("ServiceMonitor", FULLNAME)
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = sm["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    service_labels = production.get("Service", FULLNAME)["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= service_labels.items()
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "30s" and endpoint["scrapeTimeout"] == "10s"
    assert set(spec) == {"namespaceSelector", "selector", "endpoints"}
    assert set(endpoint) <= {
        "port",
        "path",
        "scheme",
        "interval",
        "scrapeTimeout",
        "honorLabels",
        "relabelings",
        "metricRelabelings",
    }


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for ch in re.sub(r'"[^"]*"', '""', expr):
        if ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return all(v == 0 for v in depth.values())


def test_prometheus_rule(production: Rendered, everything: Rendered) -> None:
    rule = production.get("PrometheusRule", FULLNAME)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (group,) = rule["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert set(alerts) == {
        "VizierHighErrorRate",
        "VizierHighLatencyP95",
        "VizierInstanceDown",
        "VizierAbsent",
        "VizierPoolRefusals",
    }
    sel = f'job="{FULLNAME}",namespace="{NAMESPACE}"'
    error = alerts["VizierHighErrorRate"]["expr"]
    assert f'mcp_requests_total{{{sel},status!="ok"}}' in error and f"mcp_requests_total{{{sel}}}" in error
    assert error.strip().endswith("> 0.02")
    latency = alerts["VizierHighLatencyP95"]["expr"]
    assert "histogram_quantile(0.95" in latency and f"mcp_request_duration_seconds_bucket{{{sel}}}" in latency
    assert "by (le, tool)" in latency and latency.strip().endswith("> 10")
    assert alerts["VizierInstanceDown"]["expr"].strip() == f"up{{{sel}}} == 0"
    assert alerts["VizierInstanceDown"]["labels"]["severity"] == "critical"
    for alert in alerts.values():
        assert _balanced(alert["expr"]), alert["expr"]
        assert re.fullmatch(r"\d+[smh]", alert["for"])
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        # Prometheus templates survive Helm: {{ $labels.x }} / {{ $value }} are left literal.
        for text in alert["annotations"].values():
            assert "{{" not in text or re.search(r"\{\{ \$(labels|value)", text), text
    assert "{{ $labels.tool }}" in alerts["VizierHighLatencyP95"]["annotations"]["summary"]
    extra = everything.get("PrometheusRule")["spec"]["groups"][0]["rules"]
    assert {"record": "vizier:requests:rate5m", "expr": "sum(rate(mcp_requests_total[5m]))"} in extra


def test_grafana_dashboard(production: Rendered) -> None:
    cm = production.get("ConfigMap", f"{FULLNAME}-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"]["grafana_folder"] == "vizier"
    dashboard = json.loads(cm["data"]["vizier.json"])
    assert dashboard["uid"] == "vizier-overview"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in panels}
    everything_queried = " ".join(exprs.values())
    for metric in [
        "mcp_requests_total",
        "mcp_request_duration_seconds_bucket",
        "vizier_pool_in_flight",
        "vizier_pool_refusals_total",
        "mcp_database_connections_active",
        "mcp_database_connections_idle",
        "mcp_memory_usage_bytes",
        "vizier_actor_restarts_total",
        "vizier_build_info",
    ]:
        assert metric in everything_queried, metric
    assert "sum by (tool)" in exprs["Request rate by tool"]
    assert 'status!="ok"' in exprs["Error rate by tool and status"]
    for q, name in [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")]:
        assert f"histogram_quantile({q}, sum by (le, tool)" in exprs[f"Latency {name} by tool"]
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert _balanced(target["expr"]), target["expr"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace", "job", "tool"}


def test_monitoring_objects_off_by_default(minimal: Rendered) -> None:
    assert not minimal.has("ServiceMonitor")
    assert not minimal.has("PrometheusRule")
    assert not minimal.has("ConfigMap", f"{FULLNAME}-dashboard")
