"""Every setting the programs read, from `ENGAGE_*` variables or a YAML config file.

Precedence: explicit arguments, then environment, then the file named by
`ENGAGE_CONFIG_FILE`, then the defaults below. `load_settings` validates everything at
start and raises `SettingsError` naming each bad setting the way the operator wrote it.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "ENGAGE_"
CONFIG_FILE_ENV = "ENGAGE_CONFIG_FILE"
TEAM_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
"""Where this team keeps the public corpora, beside the clone; absent in a fresh clone."""
_TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
# Variables with the prefix that are read elsewhere, not settings.
_NOT_SETTINGS = frozenset({CONFIG_FILE_ENV, "ENGAGE_KAFKA_JARS"})


def team_data_dir() -> Path | None:
    """../shared/data when it is there, else None."""
    return TEAM_DATA_DIR if TEAM_DATA_DIR.is_dir() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", validate_default=True, frozen=True
    )

    env: Literal["development", "production"] = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "console", "json"] = Field(
        "auto", description="auto: JSON lines in production, readable console in development."
    )

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    kafka_client_id: str = "engage-stream"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None

    topics_file: Path = Field(
        PROJECT_ROOT / "infra" / "topics.yaml",
        description="The one source of topic names, partitions, retention and compaction.",
    )
    model_dir: Path = PROJECT_ROOT / "models"
    # The model registry: which folder (a name under model_dir, or a path) serves each
    # head. One multi-head folder serves intent, toxicity and sentence vectors from one
    # encoder pass; the shop's topics come from a character n-gram model, which scores
    # higher on them (models/topic-grams-ko/MODEL_CARD.md) at no encoder cost.
    model_intent: str = Field("multihead-ko", min_length=1, description="Serves the intent head.")
    model_toxicity: str = Field(
        "multihead-ko", min_length=1, description="Serves the toxicity head."
    )
    model_topic: str = Field(
        "topic-grams-ko", min_length=1, description="Serves the topic head (the shop's topics)."
    )
    model_embedding: str = Field(
        "multihead-ko", min_length=1, description="Sentence vectors for the knowledge bank."
    )
    knowledge_bank: str = Field(
        "knowledge-bank",
        min_length=1,
        description="Built knowledge bank (`engage-stream bank build`), under model_dir or a path.",
    )
    data_dir: Path | None = Field(
        default_factory=team_data_dir,
        description="The public corpora training reads (3i4k/, hatespeech/, chatbot/); "
        "default ../shared/data when it exists. Not checked at start: the worker never reads it.",
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    model_precision: Literal["auto", "fp32", "int8", "fp16"] = Field(
        "auto",
        description="auto: fp16 on CUDA, int8 on the CPU. fp32 gives batch-independent "
        "scores, for runs a replay must reproduce exactly.",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="The worker's event loop: uvloop (libuv, in C) runs Faust's per-record "
        "tasks and callbacks faster; asyncio is the standard library's.",
    )
    batch_max_size: int = Field(32, ge=1, le=4096)
    batch_max_wait_ms: float = Field(10.0, ge=0, le=10_000)
    score_cache_size: int = Field(
        20_000, ge=0, le=10_000_000, description="Texts whose model scores are kept; 0: none."
    )
    store_masked_text: bool = Field(
        False,
        description="Keep only masked customer text after scoring: engage.scored, the state, "
        "engage.enriched, transcripts and drafts hold no phone, e-mail, account or ID numbers.",
    )
    policy_file: Path = Field(
        PROJECT_ROOT / "infra" / "policies.yaml",
        description="Decision policy; the worker validates its content at start.",
    )
    web_port: int = Field(6066, ge=1, le=65535)
    web_bind: str = Field(
        "127.0.0.1",
        description="Address the worker's web server (/metrics, /health, /ready) listens on: "
        "this machine only by default; 0.0.0.0 in a container whose port is published.",
    )
    group_id: str = Field(
        "engage-stream",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Consumer group and Faust app id; prefixes the state changelog topics.",
    )
    session_timeout_s: float = Field(
        10.0, ge=2, le=300, description="How soon the group notices a dead worker."
    )
    idle_release_s: float = Field(
        30.0,
        ge=0,
        le=3_600,
        description="Seconds a stateful partition reads nothing, with the whole pipeline "
        "caught up, before a tick releases its held offers by the wall clock (0: never; "
        "they then wait for the partition's next event).",
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_is_host_port_list(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            raise ValueError("needs at least one host:port")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    @field_validator("topics_file", "kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _tls_files_need_tls(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        protocol = info.data.get("kafka_security_protocol")
        if value is not None and protocol is not None and protocol not in _TLS_PROTOCOLS:
            raise ValueError(
                f"a TLS file is set but ENGAGE_KAFKA_SECURITY_PROTOCOL is {protocol}, which "
                "does not use TLS: use SSL or SASL_SSL, or unset the file"
            )
        return value

    @field_validator("kafka_ssl_keyfile")
    @classmethod
    def _key_goes_with_its_certificate(
        cls, value: Path | None, info: ValidationInfo
    ) -> Path | None:
        certfile = info.data.get("kafka_ssl_certfile")
        if value is not None and certfile is None and "kafka_ssl_certfile" in info.data:
            raise ValueError("a client key needs its certificate: set ENGAGE_KAFKA_SSL_CERTFILE")
        if value is None and certfile is not None and not _holds_private_key(certfile):
            raise ValueError(
                f"required: ENGAGE_KAFKA_SSL_CERTFILE ({certfile}) holds no private key"
            )
        return value

    @field_validator("kafka_sasl_username", "kafka_sasl_password")
    @classmethod
    def _credentials_need_sasl(cls, value: object, info: ValidationInfo) -> object:
        protocol = info.data.get("kafka_security_protocol")
        if value is not None and protocol is not None and not protocol.startswith("SASL_"):
            raise ValueError(
                f"set but ENGAGE_KAFKA_SECURITY_PROTOCOL is {protocol}, which sends no "
                "credentials: use SASL_SSL (or SASL_PLAINTEXT), or unset it"
            )
        return value

    @field_validator("web_bind")
    @classmethod
    def _bind_is_an_address_or_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not _HOSTNAME.match(value):
                raise ValueError(
                    f"{value!r} is neither an IP address nor a host name "
                    "(127.0.0.1 for this machine only, 0.0.0.0 for every interface)"
                ) from None
        return value

    @model_validator(mode="after")
    def _security_is_complete(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL_"):
            if self.kafka_sasl_mechanism is None:
                raise ValueError(
                    f"ENGAGE_KAFKA_SASL_MECHANISM is required with {self.kafka_security_protocol}"
                )
            if not self.kafka_sasl_username or self.kafka_sasl_password is None:
                raise ValueError(
                    "ENGAGE_KAFKA_SASL_USERNAME and ENGAGE_KAFKA_SASL_PASSWORD are required "
                    f"with {self.kafka_security_protocol}"
                )
        elif self.kafka_sasl_mechanism is not None:
            raise ValueError(
                "ENGAGE_KAFKA_SASL_MECHANISM is set but ENGAGE_KAFKA_SECURITY_PROTOCOL is "
                f"{self.kafka_security_protocol}; use SASL_PLAINTEXT or SASL_SSL"
            )
        return self

    def model_bindings(self) -> dict[str, Path]:
        """Classification role -> model folder, as the registry settings name them."""
        roles = {
            "intent": self.model_intent,
            "toxicity": self.model_toxicity,
            "topic": self.model_topic,
        }
        return {role: self.model_path(value) for role, value in roles.items()}

    def model_path(self, value: str) -> Path:
        """A registry value: a folder name under `model_dir`, or a path."""
        if "/" in value or value.startswith("."):
            return Path(value)
        return self.model_dir / value

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and self.env == "production")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = os.environ.get(CONFIG_FILE_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


def _holds_private_key(path: Path) -> bool:
    """A PEM file with the key beside the certificate (what `ssl.load_cert_chain` accepts)."""
    try:
        return "PRIVATE KEY-----" in path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False


class SettingsError(Exception):
    """Invalid configuration; `problems` are lines such as 'ENGAGE_X: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _setting_name(field: str, overrides: dict[str, Any]) -> str:
    env_name = f"{ENV_PREFIX}{field.upper()}"
    if field in overrides:
        return f"{env_name} (given on the command line)"
    if env_name not in os.environ and os.environ.get(CONFIG_FILE_ENV):
        return f"{env_name} ({field} in {os.environ[CONFIG_FILE_ENV]})"
    return env_name


def _unknown_variables(environ: dict[str, str]) -> list[str]:
    known = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    problems = []
    for name in sorted(environ):
        if name.startswith(ENV_PREFIX) and name not in known | _NOT_SETTINGS:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"{name}: not a setting{hint}")
    return problems


def _check_config_file() -> list[str]:
    path = os.environ.get(CONFIG_FILE_ENV)
    if path is None:
        return []
    if not Path(path).is_file():
        return [f"{CONFIG_FILE_ENV}: file {path} does not exist"]
    return []


def load_settings(**overrides: Any) -> Settings:
    """Validated settings, or `SettingsError` listing every problem found."""
    problems = _unknown_variables(dict(os.environ)) + _check_config_file()
    if problems:
        raise SettingsError(problems)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = [str(part) for part in err["loc"]]
            message = err["msg"].removeprefix("Value error, ")
            if loc:
                problems.append(f"{_setting_name(loc[0], overrides)}: {message}")
            else:
                problems.append(message)
        raise SettingsError(problems) from None
    except Exception as exc:  # a YAML syntax error in the config file, for one
        raise SettingsError([f"{CONFIG_FILE_ENV}: cannot read it: {exc}"]) from None
